"""Telling a replica that stalls or drips mid-answer from one that is merely slow.

A streamed answer that is still running at its request's deadline, after a silence of
``STALL_SHARE`` of the request's time or longer (between two events, or since the last one),
was hung or dripping (a token every few seconds): its replica counts a timeout, as if it had
never started answering (``TIMEOUTS_BEFORE_DOWN`` in a row take it out: the circuit breaker).
One that streams steadily and simply has a lot to say does not.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

# Share of the request's time that one silence must last, at the deadline, to be a stall.
STALL_SHARE = 0.25
# A close this close to the request's deadline is the deadline's.
DEADLINE_MARGIN_S = 0.05


@dataclass(slots=True)
class SilenceWatch:
    """The silences of one streamed answer (``time.monotonic()`` seconds).

    ``began``: when the request started; ``last``: when its latest event came (at first,
    when the answer's first event came)."""

    began: float
    last: float
    longest: float = 0.0

    def heard(self, now: float | None = None) -> None:
        """An event came."""
        now = time.monotonic() if now is None else now
        self.longest = max(self.longest, now - self.last)
        self.last = now

    def longest_silence(self, now: float | None = None) -> float:
        """The longest wait between two events so far, the one still going included."""
        now = time.monotonic() if now is None else now
        return max(self.longest, now - self.last)

    def stalled_at_deadline(self, deadline: float | None, now: float | None = None) -> bool:
        """Whether a stream closed ``now`` was ended by its ``deadline`` after a silence of
        ``STALL_SHARE`` of the request's time or longer. False without a deadline."""
        now = time.monotonic() if now is None else now
        if deadline is None or now < deadline - DEADLINE_MARGIN_S:
            return False
        return self.longest_silence(now) >= (deadline - self.began) * STALL_SHARE
