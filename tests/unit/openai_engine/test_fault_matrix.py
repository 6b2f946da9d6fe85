"""The fault matrix: every way an OpenAI-compatible engine misbehaves, through the whole
completion service, with one replica and with a healthy second one.

Each case must end by the deadline (never hang), never raise, and answer with a usable prefix
or an empty answer with a clear reason; where a second replica is there and nothing of an
answer was shown yet, it takes the request over.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from loomline.completion.service import Completion, Skip
from tests.unit.openai_engine.fault_rig import (
    DEADLINE_MS,
    FAULTS,
    SLACK_S,
    Rig,
    open_rig,
)


@pytest.fixture
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    fault, replicas = request.param
    async with open_rig(fault, replicas) as opened:
        yield opened


def _cases(replicas: int) -> list[object]:
    return [pytest.param((fault, replicas), id=name) for name, fault in FAULTS.items()]


def _no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    """An expected failure is a warning at most: an error record means something crashed."""
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


@pytest.mark.parametrize("rig", _cases(1), indirect=True)
async def test_alone_it_ends_by_the_deadline_with_a_prefix_or_a_reason(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    fault = rig.fault
    result, took = await rig.complete("file:///work/alone.py")
    assert took < DEADLINE_MS / 1000 + SLACK_S
    if fault.alone_text is not None:
        assert isinstance(result, Completion), result
        assert result.text == fault.alone_text
    else:
        assert isinstance(result, Skip), result
        assert fault.alone_reason is not None and fault.alone_reason in result.reason
    # The service keeps answering afterwards, just as quickly.
    _again, took = await rig.complete("file:///work/other.py")
    assert took < DEADLINE_MS / 1000 + SLACK_S
    _no_errors_logged(caplog)


@pytest.mark.parametrize("rig", _cases(2), indirect=True)
async def test_with_two_replicas_the_healthy_one_takes_over(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    fault = rig.fault
    result, took = await rig.complete(rig.uri_owned_by_faulty())
    assert took < DEADLINE_MS / 1000 + SLACK_S
    if fault.fails_over:
        assert isinstance(result, Completion), result
        assert result.text == "return a + b"
    else:
        assert isinstance(result, Completion | Skip)
        assert rig.healthy is not None and not rig.healthy.completions  # never asked twice
    _no_errors_logged(caplog)


@pytest.mark.parametrize("rig", [pytest.param((FAULTS["hang after headers"], 2), id="hung")],
                         indirect=True)
async def test_a_hung_replica_loses_its_documents_after_two_timeouts(rig: Rig) -> None:
    """The issue's case: one replica accepts and never answers. Every document still gets its
    answer from the other within the deadline; after two timeouts the hung one is out, and
    its documents go straight to the other (no wait at all)."""
    assert rig.faulty is not None and rig.healthy is not None
    owned = [rig.uri_owned_by_faulty(n) for n in range(3)]
    for uri in owned[:2]:
        result, took = await rig.complete(uri)
        assert isinstance(result, Completion) and result.text == "return a + b"
        assert took < DEADLINE_MS / 1000 + SLACK_S
    (hung,) = [r for r in rig.engine.replicas.replicas if r.base_url == rig.faulty_url]
    assert not hung.healthy and "did not answer" in hung.last_error
    asked = len(rig.faulty.completions)
    result, took = await rig.complete(owned[2])
    assert isinstance(result, Completion) and took < DEADLINE_MS / 1000 / 2
    assert len(rig.faulty.completions) == asked


@pytest.mark.parametrize("rig", [pytest.param((FAULTS["429 Retry-After"], n), id=f"{n}")
                                 for n in (1, 2)], indirect=True)
async def test_retry_after_keeps_the_replica_unasked_until_then(rig: Rig) -> None:
    assert rig.faulty is not None
    uri = rig.uri_owned_by_faulty() if rig.healthy else "file:///work/alone.py"
    reasons = []
    for _ in range(3):
        result, took = await rig.complete(uri)
        assert took < DEADLINE_MS / 1000
        if rig.healthy is None:
            assert isinstance(result, Skip)
            reasons.append(result.reason)
        else:
            assert isinstance(result, Completion) and result.text == "return a + b"
    assert len(rig.faulty.completions) == 1  # asked once, then left alone for 30 s
    # Alone, the same reason every time (a throttled message shows it once).
    assert len(set(reasons)) <= 1 and all("HTTP 429" in r for r in reasons)


@pytest.mark.parametrize("rig", [pytest.param((FAULTS["hang mid-stream"], 2), id="stalls")],
                         indirect=True)
async def test_a_replica_that_stalls_mid_answer_is_taken_out_like_a_hung_one(rig: Rig) -> None:
    """Silence mid-answer until the deadline counts as a timeout (the deadline comes long
    before the read timeout): each answer keeps its whole lines, and after two the replica
    is out and its documents go to the other."""
    assert rig.faulty is not None
    owned = [rig.uri_owned_by_faulty(n) for n in range(3)]
    for uri in owned[:2]:
        result, _took = await rig.complete(uri)
        assert isinstance(result, Completion) and result.text == "a = 1"
    (stalled,) = [r for r in rig.engine.replicas.replicas if r.base_url == rig.faulty_url]
    assert not stalled.healthy and "mid-answer" in stalled.last_error
    result, took = await rig.complete(owned[2])
    assert isinstance(result, Completion) and result.text == "return a + b"
    assert took < DEADLINE_MS / 1000 / 2
