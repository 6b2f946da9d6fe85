"""The baseline next-edit predictor: repeat the user's last change at the next occurrence.

The user's edit (one change of characters) is widened to whole words on both sides and split
into word-level changes; the last of them, ``removed -> inserted``, is repeated at the next
occurrence of ``removed`` in the editable window after the edit (then, wrapping, before it),
as a whole word where it starts or ends with one. Pure insertions and whitespace-only changes
suggest nothing: there is no replaced text to find again.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from tests.bench.next_edit.hunks import WINDOW_AFTER, WINDOW_BEFORE, CharEdit

_WORD_CHAR = re.compile(r"\w")
_TOKENS = re.compile(r"\w+|\s+|[^\w\s]")


@dataclass(frozen=True)
class OffsetEdit:
    """Text ``[start, end)`` (code points of the edited document) replaced by ``text``."""

    start: int
    end: int
    text: str


def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    while start > 0 and _WORD_CHAR.match(text[start - 1]):
        start -= 1
    while end < len(text) and _WORD_CHAR.match(text[end]):
        end += 1
    return start, end


def last_change(old: str, edited: str, edit: CharEdit) -> tuple[str, str, int, int] | None:
    """The user's last word-level change as (removed, inserted) and the edited text's span
    ``[start, end)`` of the whole edit; None when nothing was replaced."""
    old_start, old_end = _widen(old, edit.start, edit.start + len(edit.removed))
    new_end = old_end - len(edit.removed) + len(edit.inserted)
    removed_words = _TOKENS.findall(old[old_start:old_end])
    inserted_words = _TOKENS.findall(edited[old_start:new_end])
    matcher = difflib.SequenceMatcher(None, removed_words, inserted_words, autojunk=False)
    changes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    if not changes:
        return None
    _, i1, i2, j1, j2 = changes[-1]
    removed, inserted = "".join(removed_words[i1:i2]), "".join(inserted_words[j1:j2])
    if not removed.strip():
        return None
    return removed, inserted, old_start, new_end


def _occurrences(text: str, needle: str, start: int, end: int) -> list[int]:
    before = r"(?<!\w)" if _WORD_CHAR.match(needle[0]) else ""
    after = r"(?!\w)" if _WORD_CHAR.match(needle[-1]) else ""
    pattern = re.compile(before + re.escape(needle) + after)
    return [m.start() for m in pattern.finditer(text, start, end)]


def line_offsets(text: str, first: int, last: int) -> tuple[int, int]:
    """Offsets of the start of line ``first`` and of the end of line ``last - 1``."""
    lines = text.split("\n")
    first, last = max(0, min(first, len(lines))), max(0, min(last, len(lines)))
    start = sum(len(line) + 1 for line in lines[:first])
    end = start + sum(len(line) + 1 for line in lines[first:last])
    return start, min(end, len(text))


def window_around(edited: str, edit: CharEdit) -> tuple[int, int]:
    """The editable window ``[start, end)``, in lines of ``edited``, around the lines the
    user's edit left (WINDOW_BEFORE lines above, WINDOW_AFTER below)."""
    first = edited.count("\n", 0, edit.start)
    last = first + edit.inserted.count("\n")
    return max(0, first - WINDOW_BEFORE), last + 1 + WINDOW_AFTER


def repeat_last_change(old: str, edited: str, edit: CharEdit) -> list[OffsetEdit]:
    """The baseline's suggestion for the edited text (empty: suggest nothing).

    ``old``/``edited``: the document before/after the user's edit ``edit`` (offsets of
    ``old``); it looks in the window ``window_around`` gives.
    """
    window = window_around(edited, edit)
    change = last_change(old, edited, edit)
    if change is None:
        return []
    removed, inserted, span_start, span_end = change
    window_start, window_end = line_offsets(edited, *window)
    after = _occurrences(edited, removed, max(span_end, window_start), window_end)
    before = [
        at for at in _occurrences(edited, removed, window_start, span_start)
        if at + len(removed) <= span_start
    ]
    for at in after + before:
        return [OffsetEdit(at, at + len(removed), inserted)]
    return []
