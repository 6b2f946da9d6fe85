"""Judging one prediction against a case, and the figures over a run.

A prediction is a list of edits of the edited document (offsets, not overlapping). It is
*right* when the document it makes is one of the case's expected documents (so an exact match
of the whole editable window, and nothing changed outside it). It *undoes* the user's typing
when it touches the span the user typed and brings that neighbourhood closer to what it was
before the edit. Its *location* is right when its first changed line range meets the target's
lines (one line of tolerance for insertions). A wrong one is *partial* when it changes only the
target's lines and leaves the document closer to the first expected one (a shorter span from
the first to the last differing character).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from tests.bench.next_edit.baseline import OffsetEdit
from tests.bench.next_edit.case import Case
from tests.bench.next_edit.hunks import char_edit

NEAR_LINES = 10  # a window case whose target starts at most this many lines after the edit


@dataclass(frozen=True)
class Outcome:
    """What one predictor did on one case."""

    case_id: str
    kind: str
    shown: bool  # suggested a change (a no-op suggestion counts as nothing shown)
    right: bool
    location: bool  # first changed lines meet the target's
    undo: bool
    partial: bool  # not right, but a step towards the target inside its lines
    noop: bool  # answered with edits that change nothing
    latency_s: float | None
    error: str | None = None
    distance: int | None = None  # lines from the end of the user's edit to the target


def target_distance(case: Case) -> int | None:
    """Lines between the end of the user's edit and the target's first line (None: none)."""
    target = case.target_lines
    first = case.hunks[0]
    return None if target is None else target[0] - (first.start + len(first.new))


def apply_edits(text: str, edits: Sequence[OffsetEdit]) -> str:
    """``text`` with ``edits`` applied; ValueError when they overlap or leave the text."""
    out, at = [], 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if edit.start < at or edit.end < edit.start or edit.end > len(text):
            raise ValueError(f"edit {edit} overlaps another or lies outside the document")
        out += [text[at : edit.start], edit.text]
        at = edit.end
    return "".join([*out, text[at:]])


def _line_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, start) + 1
    newline = text.find("\n", end)
    return start, len(text) if newline < 0 else newline


def undoes(case: Case, predicted: str) -> bool:
    """Whether ``predicted`` (a whole document) reverts part of the user's edit."""
    user, old, edited = case.user_edit, case.text, case.edited
    change = char_edit(edited, predicted)
    user_end = user.start + len(user.inserted)
    change_end = change.start + len(change.removed)
    if change.start > user_end or change_end < user.start:
        return False
    start, end = _line_bounds(edited, min(user.start, change.start), max(user_end, change_end))
    edited_local = edited[start:end]
    predicted_local = predicted[start : end + len(change.inserted) - len(change.removed)]
    old_local = old[start : end - len(user.inserted) + len(user.removed)]
    closer = difflib.SequenceMatcher(None, predicted_local, old_local, autojunk=False).ratio()
    before = difflib.SequenceMatcher(None, edited_local, old_local, autojunk=False).ratio()
    return closer > before


def first_changed_lines(before: str, after: str) -> tuple[int, int]:
    """The first changed line range ``[start, end)`` of ``before`` on the way to ``after``."""
    matcher = difflib.SequenceMatcher(
        None, before.split("\n"), after.split("\n"), autojunk=False
    )
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag != "equal":
            return i1, i2
    return 0, 0


def _meets(a: tuple[int, int], b: tuple[int, int]) -> bool:
    a_end, b_end = max(a[1], a[0] + 1), max(b[1], b[0] + 1)
    return a[0] <= b_end and b[0] <= a_end  # touching counts: an insertion sits between lines


def judge(
    case: Case, edits: Sequence[OffsetEdit] | None, latency_s: float | None,
    error: str | None = None,
) -> Outcome:
    """The outcome of ``edits`` (None or empty: nothing suggested) on ``case``."""
    distance = target_distance(case)
    if error is not None or not edits:
        return Outcome(case.id, case.kind, False, False, False, False, False, False, latency_s,
                       error, distance)
    try:
        predicted = apply_edits(case.edited, edits)
    except ValueError as bad:
        return Outcome(case.id, case.kind, False, False, False, False, False, False, latency_s,
                       str(bad), distance)
    if predicted == case.edited:
        return Outcome(case.id, case.kind, False, False, False, False, False, True, latency_s,
                       None, distance)
    right = predicted in case.expected
    target = case.target_lines
    location = target is not None and _meets(first_changed_lines(case.edited, predicted), target)
    undo = not right and undoes(case, predicted)
    partial = not right and target is not None and _closer(case, predicted, target)
    return Outcome(case.id, case.kind, True, right, location, undo, partial, False, latency_s,
                   None, distance)


def _distance(a: str, b: str) -> int:
    change = char_edit(a, b)
    return len(change.removed) + len(change.inserted)


def _closer(case: Case, predicted: str, target: tuple[int, int]) -> bool:
    change = char_edit(case.edited, predicted)
    start_line = case.edited.count("\n", 0, change.start)
    end_line = start_line + change.removed.count("\n") + 1
    inside = start_line >= target[0] and end_line <= max(target[1], target[0] + 1)
    expected = case.expected[0]
    return inside and _distance(predicted, expected) < _distance(case.edited, expected)


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}% ({part}/{whole})" if whole else "   - (0/0)"


def _quantile(values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least ``q`` of ``values`` at or below it."""
    return sorted(values)[max(0, math.ceil(q * len(values)) - 1)]


def summary(outcomes: Sequence[Outcome]) -> dict[str, str]:
    """The figures of one predictor over a run, as printable cells (share and counts)."""
    by_kind = {k: [o for o in outcomes if o.kind == k] for k in ("window", "jump", "none")}
    shown = [o for o in outcomes if o.shown]
    silent = [o for o in outcomes if not o.shown and o.error is None]
    latencies = sorted(o.latency_s for o in outcomes if o.latency_s is not None)
    located = by_kind["window"] + by_kind["jump"]
    near = [o for o in by_kind["window"] if o.distance is not None and o.distance <= NEAR_LINES]
    return {
        "exact match, window cases": _share(sum(o.right for o in by_kind["window"]),
                                            len(by_kind["window"])),
        f"exact match, window, target <= {NEAR_LINES} lines on": _share(
            sum(o.right for o in near), len(near)),
        "exact match, jump cases": _share(sum(o.right for o in by_kind["jump"]),
                                          len(by_kind["jump"])),
        "partial (closer, in the target's lines)": _share(sum(o.partial for o in located),
                                                          len(located)),
        "location hit, window+jump": _share(sum(o.location for o in located), len(located)),
        "shown (suggested something)": _share(len(shown), len(outcomes)),
        "shown and wrong": _share(sum(not o.right for o in shown), len(shown)),
        "'nothing' where nothing was due": _share(sum(o.kind == "none" for o in silent),
                                                  len(silent)),
        "'nothing' on none cases": _share(sum(not o.shown for o in by_kind["none"]),
                                          len(by_kind["none"])),
        "undoes the user's typing": _share(sum(o.undo for o in shown), len(shown)),
        "no-op answers": str(sum(o.noop for o in outcomes)),
        "errors": str(sum(o.error is not None for o in outcomes)),
        "latency p50 / p90, ms": (
            f"{1000 * _quantile(latencies, 0.5):.0f} / {1000 * _quantile(latencies, 0.9):.0f}"
            if latencies else "-"
        ),
    }
