"""Adaptive debounce: ask the model after a pause that is long for *this* user's typing.

A fixed client debounce (VS Code: 150 ms) fires between the keystrokes of anyone who types
slower than that, and every such request is cancelled by the next keystroke: tokens paid for
nothing, on a server that many users share. The server sees every change with its time, so it
learns each document's keystroke rhythm and waits until the quiet time is clearly longer than
a normal gap between keys.
"""

from __future__ import annotations

import statistics
from collections import deque

# Gaps longer than this are pauses (thinking, reading), not typing rhythm.
PAUSE_S = 1.0
# Gaps needed before the rhythm is trusted.
MIN_GAPS = 5


class TypingRhythm:
    def __init__(self, min_s: float = 0.0, max_s: float = 0.35, factor: float = 2.0) -> None:
        self.min_s = min_s
        self.max_s = max_s
        self.factor = factor
        self._last: dict[str, float] = {}
        self._gaps: dict[str, deque[float]] = {}

    def changed(self, uri: str, now: float) -> None:
        last = self._last.get(uri)
        self._last[uri] = now
        if last is not None and 0 < now - last < PAUSE_S:
            self._gaps.setdefault(uri, deque(maxlen=24)).append(now - last)

    def forget(self, uri: str) -> None:
        self._last.pop(uri, None)
        self._gaps.pop(uri, None)

    def quiet_needed(self, uri: str) -> float:
        """How long the document must be left alone before the model is asked."""
        gaps = self._gaps.get(uri)
        if gaps is None or len(gaps) < MIN_GAPS:
            return self.min_s
        return min(self.max_s, max(self.min_s, self.factor * statistics.median(gaps)))

    def delay(self, uri: str, now: float, extra_s: float = 0.0) -> float:
        """Seconds still to wait at ``now`` (0 when the pause is already long enough);
        ``extra_s`` lengthens the pause needed (see WastePacer)."""
        last = self._last.get(uri)
        if last is None:
            return 0.0
        return max(0.0, self.quiet_needed(uri) + extra_s - (now - last))


class WastePacer:
    """Waits longer before asking while generations go to waste, less once they are used.

    A generation nobody saw means the user's pause was shorter than the engine's answer: the
    engine is slow (a shared server under load) or this user's pauses are short. Neither is
    known in advance, so the outcome steers: each wasted generation adds ``step_s`` to the
    pause needed (up to ``max_s``), each used one halves it. On a quiet engine it stays near
    zero; on a saturated one it stops speculative requests during typing, which lightens the
    load, until answers come back in time again.
    """

    def __init__(self, step_s: float = 0.05, max_s: float = 1.0) -> None:
        self.step_s = step_s
        self.max_s = max_s
        self.extra_s = 0.0

    def wasted(self) -> None:
        self.extra_s = min(self.max_s, self.extra_s + self.step_s)

    def used(self) -> None:
        self.extra_s /= 2
        if self.extra_s < self.step_s / 4:
            self.extra_s = 0.0
