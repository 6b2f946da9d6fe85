"""Two replicas, one of which starts answering and then drips (a token every few tenths of
the deadline) or falls silent: it is treated like one that refuses. Every document gets an
answer, the dripping replica is taken out after two stalls (circuit breaker) and its documents
go to the other one, it is probed, and it rejoins once it has recovered."""

from __future__ import annotations

import pytest

from loomline.completion.engines import replicas as replicas_module
from loomline.completion.engines.base import EngineState
from loomline.completion.service import Completion, Skip
from tests.unit.openai_engine.fake_server import stream_words
from tests.unit.openai_engine.fault_rig import (
    DEADLINE_MS,
    FAULTS,
    SLACK_S,
    Fault,
    huge_answer,
    open_rig,
    rate_limited,
    silent_after_an_empty_event,
)
from tests.waiting import eventually

WELL = "return a + b"


async def test_a_dripping_replica_is_taken_out_probed_and_rejoins_once_recovered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Its first probe after being taken out comes after 1 s instead of 5 s.
    monkeypatch.setattr(replicas_module, "TIMED_OUT_PROBE_DELAY_S", 1.0)
    async with open_rig(FAULTS["drip after a line"], 2) as rig:
        assert rig.faulty is not None and rig.healthy is not None
        dripping = rig.faulty_replica
        owned = [rig.uri_owned_by_faulty(n) for n in range(4)]
        others = [f"file:///work/o{i}.py" for i in range(40)]
        others = [u for u in others if u not in owned][:3]
        # The dripping replica's first two documents get the whole lines that came in time.
        for uri in owned[:2]:
            result, took = await rig.complete(uri)
            assert isinstance(result, Completion) and result.text == "a = 1", result
            assert took < DEADLINE_MS / 1000 + SLACK_S
        assert not dripping.healthy and "mid-answer" in dripping.last_error
        assert rig.engine.state is EngineState.READY  # the other one serves
        # From now on its documents go straight to the other replica.
        asked = len(rig.faulty.completions)
        for uri in [owned[2], *others]:
            result, took = await rig.complete(uri)
            assert isinstance(result, Completion) and result.text == WELL, (uri, result)
            assert took < DEADLINE_MS / 1000 / 2
        assert len(rig.faulty.completions) == asked
        # It recovers; a probe lets it back in, and its documents come back to it.
        rig.faulty.script = stream_words
        await eventually(lambda: dripping.healthy, what="the recovered replica rejoining")
        result, _took = await rig.complete(owned[3])
        assert isinstance(result, Completion) and result.text == WELL
        assert len(rig.faulty.completions) == asked + 1
        assert dripping.timeouts == 0  # a whole answer clears its strikes


@pytest.mark.parametrize("fault", ["silent after an empty event", "empty events only"])
async def test_a_replica_that_says_nothing_after_its_first_event_hands_the_request_over(
    fault: str,
) -> None:
    """Nothing of its answer was passed on yet, so the other replica answers instead, within
    the deadline; the silent one counts a timeout."""
    async with open_rig(FAULTS[fault], 2) as rig:
        assert rig.faulty is not None and rig.healthy is not None
        result, took = await rig.complete(rig.uri_owned_by_faulty())
        assert isinstance(result, Completion) and result.text == WELL, result
        assert took < DEADLINE_MS / 1000 + SLACK_S
        assert len(rig.faulty.completions) == 1 and len(rig.healthy.completions) == 1
        assert rig.faulty_replica.timeouts == 1


@pytest.mark.parametrize(
    ("second", "reason"),
    [(rate_limited, "HTTP 429"), (huge_answer, "ignored max_tokens")],
    ids=["429 Retry-After", "length cap"],
)
async def test_a_hand_over_keeps_retry_after_and_the_length_cap(second: object,
                                                               reason: str) -> None:
    """The replica that takes a request over is held to the same rules: one that asks for a
    pause is asked nothing more until then; one that ignores max_tokens is cut off."""
    fault = Fault(silent_after_an_empty_event)
    async with open_rig(fault, 2, second=second) as rig:  # type: ignore[arg-type]
        assert rig.healthy is not None
        uri = rig.uri_owned_by_faulty()
        for _ in range(3):
            result, took = await rig.complete(uri)
            assert took < DEADLINE_MS / 1000 + SLACK_S
            assert isinstance(result, Skip), result
        assert reason in result.reason or "within" in result.reason
        if second is rate_limited:
            assert len(rig.healthy.completions) == 1  # asked once, then left alone for 30 s
        else:
            assert rig.healthy.completions  # it was asked, and its flood was cut off
