"""Adaptive debounce: ask the model after a pause that is long for *this* user's typing.

A fixed client debounce (VS Code: 150 ms) fires between the keystrokes of anyone who types
slower than that, and every such request is cancelled by the next keystroke: tokens paid for
nothing, on a server that many users share. The server sees every change with its time, so it
learns each document's keystroke rhythm and waits until the quiet time is clearly longer than
a normal gap between keys.

It also remembers how long this user's pauses last. When the engine is slow (answers take
longer than most of those pauses), asking at the start of a pause only pays for answers
nobody will see; it waits instead until a pause has lasted long enough that it usually lasts
as long again as an answer takes — or until it is longer than any pause seen, when the user
has most likely stopped to wait for a suggestion.
"""

from __future__ import annotations

import bisect
import statistics
from collections import deque

# Gaps longer than this are pauses (thinking, reading), not typing rhythm.
PAUSE_S = 1.0
# Gaps needed before the rhythm is trusted.
MIN_GAPS = 5
# Longer gaps are breaks (the user went away), not pauses that say when answers are seen.
BREAK_S = 30.0
# Gaps remembered for the pause lengths (the user's, over all documents), and pauses needed
# to trust them.
GAPS_KEPT = 256
MIN_PAUSES = 5
# Ask once at least this share of the pauses that lasted so far would outlast the answer.
SEEN_SHARE = 0.5
# However slow the engine, never hold a request back longer than this for a pause.
MAX_HOLD_S = 5.0


class TypingRhythm:
    def __init__(self, min_s: float = 0.0, max_s: float = 0.35, factor: float = 2.0) -> None:
        self.min_s = min_s
        self.max_s = max_s
        self.factor = factor
        self._last: dict[str, float] = {}
        self._gaps: dict[str, deque[float]] = {}
        # How long this user pauses is a habit, not a property of one file.
        self._all_gaps: deque[float] = deque(maxlen=GAPS_KEPT)

    def changed(self, uri: str, now: float) -> None:
        last = self._last.get(uri)
        self._last[uri] = now
        if last is None or not 0 < now - last < BREAK_S:
            return
        self._all_gaps.append(now - last)
        if now - last < PAUSE_S:
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

    def worth_asking_after(self, floor_s: float, answer_s: float | None) -> float:
        """The quiet time (at least ``floor_s``) after which an answer that takes
        ``answer_s`` would usually arrive before the user types again.

        From the user's pauses: the first quiet time t at which at least SEEN_SHARE of
        the pauses that lasted t also lasted t + answer_s; or, where none does, the longest
        pause seen (a longer one means the user stopped).
        """
        if not answer_s:
            return floor_s
        pauses = sorted(g for g in self._all_gaps if g >= floor_s)
        if len(pauses) < MIN_PAUSES:
            return floor_s
        for quiet in [floor_s, *dict.fromkeys(pauses)]:
            lasted = len(pauses) - bisect.bisect_left(pauses, quiet)
            outlasted = len(pauses) - bisect.bisect_left(pauses, quiet + answer_s)
            if outlasted >= SEEN_SHARE * lasted:
                return min(quiet, MAX_HOLD_S)
        return min(pauses[-1], MAX_HOLD_S)

    def delay(
        self, uri: str, now: float, extra_s: float = 0.0, answer_s: float | None = None
    ) -> float:
        """Seconds still to wait at ``now`` (0 when the pause is already long enough);
        ``extra_s`` lengthens the pause needed (see WastePacer); ``answer_s``, how long the
        engine takes to answer, holds the request until an answer would likely be seen."""
        last = self._last.get(uri)
        if last is None:
            return 0.0
        floor = self.quiet_needed(uri) + extra_s
        needed = max(floor, self.worth_asking_after(floor, answer_s))
        return max(0.0, needed - (now - last))


class WastePacer:
    """Waits longer before asking while generations go to waste, less once they are used.

    A generation nobody saw means the user's pause was shorter than the engine's answer: the
    engine is slow (a shared server under load) or this user's pauses are short. Neither is
    known in advance, so the outcome steers: each wasted generation adds a step to the pause
    needed, each used one halves it. On a quiet engine it stays near zero; on a saturated one
    it stops speculative requests during typing, which lightens the load, until answers come
    back in time again.

    The step and the cap grow with how long the engine takes to answer (``answered``): when
    answers take 3 s, no pause shorter than that could have shown one, so waiting up to that
    long costs the user little and spares the shared engine the requests it cannot serve in
    time; on a fast engine they stay at ``step_s`` and ``max_s``.
    """

    # The longest the pause needed may grow, however slow the engine (explicit requests
    # never wait).
    LIMIT_S = 5.0
    # Share of the answer time one wasted generation adds to the wait.
    STEP_SHARE = 0.05
    # Weight of the newest answer time in the running estimate.
    WEIGHT = 0.3

    def __init__(self, step_s: float = 0.05, max_s: float = 1.0, enabled: bool = True) -> None:
        self.min_step_s = step_s
        self.min_cap_s = max_s
        self.enabled = enabled
        self.extra_s = 0.0
        self.answer_s: float | None = None  # running estimate of the engine's answer time

    @property
    def step_s(self) -> float:
        return max(self.min_step_s, self.STEP_SHARE * (self.answer_s or 0.0))

    @property
    def max_s(self) -> float:
        return min(self.LIMIT_S, max(self.min_cap_s, self.answer_s or 0.0))

    def answered(self, seconds: float) -> None:
        """A generation ran to its end in ``seconds`` (from the request to the last token)."""
        if self.answer_s is None:
            self.answer_s = seconds
        else:
            self.answer_s += self.WEIGHT * (seconds - self.answer_s)

    def unfinished(self, seconds: float) -> None:
        """A generation was stopped ``seconds`` after it started, before its end: answers
        take at least that long. (Under load most are stopped, and the answers that do
        arrive are the quick ones: the estimate would stay too low.)"""
        if self.answer_s is not None and seconds > self.answer_s:
            self.answered(seconds)

    def wasted(self) -> None:
        if self.enabled:
            self.extra_s = min(self.max_s, self.extra_s + self.step_s)

    def used(self) -> None:
        self.extra_s /= 2
        if self.extra_s < self.min_step_s / 4:
            self.extra_s = 0.0
