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
import time
from collections import deque
from collections.abc import Callable, Sequence

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
# Gaps at least this long (or the floor, if lower) count towards trusting the pause
# lengths, however high the floor.
PAUSE_MIN_S = 0.5
# Generation lifetimes kept for the answer-time estimate, how long one stays relevant (the
# load on a shared engine changes), and how many are needed when none ran to its end.
LIFETIMES_KEPT = 32
LIFETIME_TTL_S = 60.0
MIN_LIFETIMES = 4


def answer_time_distribution(lifetimes: list[tuple[float, bool]]) -> list[tuple[float, float]]:
    """How long generations take to their end, as ``(seconds, probability)`` pairs, from
    ``(seconds, ended)`` observations.

    Most generations are stopped before their end (the user typed on): each says only "at
    least this long". Ignoring them keeps just the quick answers (too low under load);
    taking them as answer times counts a pause as an answer (too high on a quiet engine).
    Kaplan-Meier treats them as what they are, censored observations. The share that no
    observed end accounts for is put at the longest lifetime seen (a lower bound). Empty when
    nothing ended and there are fewer than MIN_LIFETIMES observations.
    """
    if not any(ended for _, ended in lifetimes) and len(lifetimes) < MIN_LIFETIMES:
        return []
    # At equal times an end comes before a stop (the usual convention).
    ordered = sorted(lifetimes, key=lambda item: (item[0], not item[1]))
    surviving = 1.0
    out: list[tuple[float, float]] = []
    for index, (seconds, ended) in enumerate(ordered):
        if ended:
            share = surviving / (len(ordered) - index)
            out.append((seconds, share))
            surviving -= share
    if surviving > 1e-9:
        out.append((ordered[-1][0], surviving))
    return out


def median_of(times: list[tuple[float, float]]) -> float | None:
    """The median of ``(seconds, probability)`` pairs in ascending order (None if empty)."""
    total = 0.0
    for seconds, share in times:
        total += share
        if total >= 0.5 - 1e-9:
            return seconds
    return times[-1][0] if times else None


class TypingRhythm:
    def __init__(
        self,
        min_s: float = 0.0,
        max_s: float | Callable[[], float] = 0.35,
        factor: float = 2.0,
    ) -> None:
        """``max_s``: the longest wait, or where to read it (a setting that may change)."""
        self.min_s = min_s
        self._max_s = max_s
        self.factor = factor
        self._last: dict[str, float] = {}
        self._gaps: dict[str, deque[float]] = {}
        # How long this user pauses is a habit, not a property of one file.
        self._all_gaps: deque[float] = deque(maxlen=GAPS_KEPT)

    @property
    def max_s(self) -> float:
        return self._max_s() if callable(self._max_s) else self._max_s

    def changed(self, uri: str, now: float) -> None:
        last = self._last.get(uri)
        self._last[uri] = now
        if last is None or not 0 < now - last < BREAK_S:
            return
        self._all_gaps.append(now - last)
        if now - last < PAUSE_S:
            self._gaps.setdefault(uri, deque(maxlen=24)).append(now - last)

    def last_change(self, uri: str) -> float | None:
        """When the document last changed (``changed``'s clock), or None."""
        return self._last.get(uri)

    def forget(self, uri: str) -> None:
        self._last.pop(uri, None)
        self._gaps.pop(uri, None)

    def quiet_needed(self, uri: str) -> float:
        """How long the document must be left alone before the model is asked."""
        gaps = self._gaps.get(uri)
        if gaps is None or len(gaps) < MIN_GAPS:
            return self.min_s
        return min(self.max_s, max(self.min_s, self.factor * statistics.median(gaps)))

    def worth_asking_after(
        self, floor_s: float, answer_times: Sequence[tuple[float, float]]
    ) -> float:
        """The quiet time (at least ``floor_s``) after which an answer would usually arrive
        before the user types again; ``answer_times``: how long answers take, as
        ``(seconds, probability)`` pairs (see ``answer_time_distribution``).

        From the user's pauses: the first quiet time t at which a pause that lasted t
        outlasts t + the answer time with a probability of at least SEEN_SHARE (over both
        the pauses and the answer times); or, where none does, the longest pause seen (a
        longer one means the user stopped).
        """
        if not answer_times:
            return floor_s
        # Trust the pauses by how many there are, not by how many outlast the floor (a
        # floor raised by the waste pacer would otherwise switch this rule off).
        if sum(g >= min(floor_s, PAUSE_MIN_S) for g in self._all_gaps) < MIN_PAUSES:
            return floor_s
        pauses = sorted(g for g in self._all_gaps if g >= floor_s)
        if not pauses:
            return floor_s  # no pause lasted this long: the user has stopped
        for quiet in [floor_s, *dict.fromkeys(pauses)]:
            lasted = len(pauses) - bisect.bisect_left(pauses, quiet)
            outlasted = sum(
                share * (len(pauses) - bisect.bisect_left(pauses, quiet + seconds))
                for seconds, share in answer_times
            )
            if outlasted >= SEEN_SHARE * lasted - 1e-9:
                return min(quiet, MAX_HOLD_S)
        return min(pauses[-1], MAX_HOLD_S)

    def delay(
        self,
        uri: str,
        now: float,
        extra_s: float = 0.0,
        answer_times: Sequence[tuple[float, float]] = (),
    ) -> float:
        """Seconds still to wait at ``now`` (0 when the pause is already long enough);
        ``extra_s`` lengthens the pause needed (see WastePacer); ``answer_times``, how long
        the engine takes to answer, holds the request until an answer would likely be seen."""
        last = self._last.get(uri)
        if last is None:
            return 0.0
        floor = self.quiet_needed(uri) + extra_s
        needed = max(floor, self.worth_asking_after(floor, answer_times))
        return max(0.0, needed - (now - last))


class WastePacer:
    """Waits longer before asking while generations go to waste, less once they are used.

    A generation nobody saw means the user's pause was shorter than the engine's answer: the
    engine is slow (a shared server under load) or this user's pauses are short. Neither is
    known in advance, so the outcome steers: each wasted generation adds a step to the pause
    needed, each used one halves it. On a quiet engine it stays near zero; on a saturated one
    it stops speculative requests during typing, which lightens the load, until answers come
    back in time again.

    The step and the cap grow with how long the engine takes to answer (``answer_s``, from
    the lifetimes of recent generations, see ``answer_time_distribution``): when
    answers take 3 s, no pause shorter than that could have shown one, so waiting up to that
    long costs the user little and spares the shared engine the requests it cannot serve in
    time; on a fast engine they stay at ``step_s`` and ``max_s``.
    """

    # The longest the pause needed may grow, however slow the engine (explicit requests
    # never wait).
    LIMIT_S = 5.0
    # Share of the answer time one wasted generation adds to the wait.
    STEP_SHARE = 0.05

    def __init__(self, step_s: float = 0.05, max_s: float = 1.0, enabled: bool = True) -> None:
        self.min_step_s = step_s
        self.min_cap_s = max_s
        self.enabled = enabled
        self.extra_s = 0.0
        # How long the engine takes to answer a single-line (False) and a multi-line (True)
        # request: (seconds, probability) pairs, empty while unknown. Kept apart because a
        # block takes several times as long as the rest of a line.
        self.answer_times: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        # (when it was seen, seconds, whether the generation ran to its end), per kind
        self._lifetimes: dict[bool, deque[tuple[float, float, bool]]] = {
            False: deque(maxlen=LIFETIMES_KEPT),
            True: deque(maxlen=LIFETIMES_KEPT),
        }

    @property
    def answer_s(self) -> float | None:
        """The engine's median answer time (for the rest of a line, where known)."""
        return median_of(self.answer_times[False] or self.answer_times[True])

    @property
    def step_s(self) -> float:
        return max(self.min_step_s, self.STEP_SHARE * (self.answer_s or 0.0))

    @property
    def max_s(self) -> float:
        return min(self.LIMIT_S, max(self.min_cap_s, self.answer_s or 0.0))

    def answered(self, seconds: float, multiline: bool = False, now: float | None = None) -> None:
        """A generation ran to its end in ``seconds`` (from the request to the last token)."""
        self._observe(seconds, True, multiline, now)

    def unfinished(
        self, seconds: float, multiline: bool = False, now: float | None = None
    ) -> None:
        """A generation was stopped ``seconds`` after it started, before its end: its answer
        would have taken at least that long."""
        self._observe(seconds, False, multiline, now)

    def _observe(self, seconds: float, ended: bool, multiline: bool, now: float | None) -> None:
        now = time.monotonic() if now is None else now
        lifetimes = self._lifetimes[multiline]
        lifetimes.append((now, seconds, ended))
        while now - lifetimes[0][0] > LIFETIME_TTL_S:
            lifetimes.popleft()
        self.answer_times[multiline] = answer_time_distribution(
            [(s, e) for _, s, e in lifetimes]
        )

    def wasted(self) -> None:
        if self.enabled:
            self.extra_s = min(self.max_s, self.extra_s + self.step_s)

    def used(self) -> None:
        self.extra_s /= 2
        if self.extra_s < self.min_step_s / 4:
            self.extra_s = 0.0
