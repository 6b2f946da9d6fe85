"""Fitting a model's answer to the window it rewrites, where the answer does not cover the
whole window: an answer cut short (no end marker) or one that leaves out the window's first
lines. A line the answer never reached or never mentioned stays as it is: only the part of
the window the answer covers may change. Pure functions over ``\\n`` lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher

from loomline.completion.next_edit.window import EditWindow

# A cut answer's lines past its last unchanged line rewrite the window's lines they stand
# for only when this much alike (else they are lines the answer inserts there).
REWRITE_LIKENESS = 0.5


def _alike(a: str, b: str) -> bool:
    return SequenceMatcher(None, a, b, autojunk=False).ratio() >= REWRITE_LIKENESS


def covered_part(window: EditWindow, answer: Sequence[str]) -> tuple[str, ...]:
    """The whole window as an answer cut short (neither end marker nor window end written)
    leaves it: the answer's lines up to its last line that matches the window stand for
    the window up to there; its lines after that rewrite the next window lines one for one
    while alike, and are inserted after that; the window's lines the answer never reached
    follow unchanged. ``answer`` holds only whole lines."""
    lines = window.lines
    ops = SequenceMatcher(None, lines, answer, autojunk=False).get_opcodes()
    reached, written = 0, 0  # window lines / answer lines up to the last match
    for tag, _i1, i2, _j1, j2 in ops:
        if tag == "equal":
            reached, written = i2, j2
    tail = list(answer[written:])
    paired = 0
    while (paired < len(tail) and reached + paired < len(lines)
           and _alike(tail[paired], lines[reached + paired])):
        paired += 1
    return (*answer, *lines[reached + paired:])


def with_unmentioned_head(window: EditWindow, answer: Sequence[str]) -> tuple[str, ...]:
    """``answer`` with the window's first lines put back when it leaves them out and the
    cursor is not among them (nor right after them): a model that starts its rewrite
    lower has not deleted what it skipped. Lines it drops at the cursor are its edit."""
    ops = SequenceMatcher(None, window.lines, answer, autojunk=False).get_opcodes()
    if not ops:
        return tuple(answer)
    tag, i1, i2, j1, j2 = ops[0]
    skipped = (i2 - i1) - (j2 - j1) if tag == "replace" else i2 - i1 if tag == "delete" else 0
    if skipped <= 0:
        return tuple(answer)
    cursor_row = window.cursor_line - window.start_line
    if cursor_row <= skipped:  # the cursor is in (or right after) the skipped lines
        return tuple(answer)
    return (*window.lines[:skipped], *answer)
