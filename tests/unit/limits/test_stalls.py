"""Telling a stream that stalls or drips from one that is merely long (no I/O, no clock:
every time is given)."""

from __future__ import annotations

import pytest

from loomline.completion.engines.stalls import STALL_SHARE, SilenceWatch

BEGAN = 100.0
DEADLINE = 110.0  # a 10 s request: a stall is one silence of 2.5 s or more


def _stream(first: float, events: list[float]) -> SilenceWatch:
    watch = SilenceWatch(BEGAN, first)
    for at in events:
        watch.heard(at)
    return watch


def test_the_share_is_a_quarter_of_the_request() -> None:
    assert STALL_SHARE == 0.25


@pytest.mark.parametrize(
    ("case", "first", "events", "stalled"),
    [
        # A token every 3 s after a quick first one: a drip.
        ("drip", 100.5, [103.5, 106.5, 109.5], True),
        # Silent since its first event.
        ("hung mid-answer", 100.5, [], True),
        # Silent only at the end, for 3 s.
        ("hung late", 100.5, [101.0 + 0.1 * i for i in range(60)], True),
        # Steady tokens to the deadline: slow, but no stall.
        ("long answer", 100.5, [100.5 + 0.2 * i for i in range(1, 48)], False),
        # A slow first token (the opener's business), then steady.
        ("slow start", 107.0, [107.0 + 0.2 * i for i in range(1, 15)], False),
    ],
)
def test_at_the_deadline(case: str, first: float, events: list[float], stalled: bool) -> None:
    watch = _stream(first, events)
    assert watch.stalled_at_deadline(DEADLINE, now=DEADLINE) is stalled, case


def test_a_close_before_the_deadline_or_without_one_is_no_stall() -> None:
    watch = _stream(100.5, [])
    assert watch.longest_silence(now=108.0) == pytest.approx(7.5)
    assert not watch.stalled_at_deadline(DEADLINE, now=108.0)  # the user typed on
    assert not watch.stalled_at_deadline(None, now=200.0)
    # The deadline's own close may come a moment early (timer granularity).
    assert watch.stalled_at_deadline(DEADLINE, now=DEADLINE - 0.01)
