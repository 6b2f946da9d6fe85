"""Hunks of a file's change between two releases, and the next-edit case they make.

Texts are split on "\\n" only (the set keeps files whose text has no "\\r"). A hunk is one
contiguous change found by difflib over lines: old lines ``[start, start + len(old))`` of the
old text replaced by ``new``. A case replays the first kept hunk as the user's edit; the next
kept hunk is the target. Trivial hunks (whitespace, quote style or trailing-comma reformatting,
version or copyright-year bumps) are never kept, and stay unapplied in every text of the case.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

#: The editable window around the user's edit, in lines of the edited text: this many lines
#: above its first line and below its last one.
WINDOW_BEFORE = 10
WINDOW_AFTER = 20


@dataclass(frozen=True)
class Limits:
    """What counts as a small change of a file (bounds on the old/new line counts)."""

    max_hunk_lines: int = 8  # per side of one hunk
    max_hunks: int = 8  # all hunks of the file, trivial ones included
    max_changed_lines: int = 40  # old + new lines over the file's kept hunks


@dataclass(frozen=True)
class Hunk:
    """Old lines ``[start, start + len(old))`` replaced by ``new`` (lines without breaks)."""

    start: int
    old: tuple[str, ...]
    new: tuple[str, ...]

    @property
    def end(self) -> int:
        return self.start + len(self.old)

    def to_json(self) -> dict[str, object]:
        return {"start": self.start, "old": list(self.old), "new": list(self.new)}

    @staticmethod
    def from_json(data: dict[str, object]) -> Hunk:
        old, new, start = data["old"], data["new"], data["start"]
        assert isinstance(old, list) and isinstance(new, list) and isinstance(start, int)
        return Hunk(start, tuple(old), tuple(new))


@dataclass(frozen=True)
class CharEdit:
    """``removed`` at offset ``start`` replaced by ``inserted`` (code points)."""

    start: int
    removed: str
    inserted: str


def diff_hunks(old_text: str, new_text: str) -> list[Hunk]:
    """Every contiguous line change from ``old_text`` to ``new_text``, in file order."""
    old, new = old_text.split("\n"), new_text.split("\n")
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return [
        Hunk(i1, tuple(old[i1:i2]), tuple(new[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def apply_hunks(text: str, hunks: list[Hunk]) -> str:
    """``text`` with ``hunks`` (old-text lines, not overlapping) applied."""
    lines = text.split("\n")
    for hunk in sorted(hunks, key=lambda h: h.start, reverse=True):
        lines[hunk.start : hunk.end] = hunk.new
    return "\n".join(lines)


_SPACE = re.compile(r"\s+")
_COMMA_BEFORE_CLOSER = re.compile(r",(?=[)\]}])")
_DIGITS = re.compile(r"\d+")
_BUMP_WORDS = re.compile(r"version|copyright|\(c\)", re.IGNORECASE)


def _fingerprint(lines: tuple[str, ...]) -> str:
    """The code of ``lines`` without what a formatter changes: spaces, line breaks, quote
    style, trailing commas."""
    text = _SPACE.sub("", "".join(lines)).replace("'", '"')
    return _COMMA_BEFORE_CLOSER.sub("", text).rstrip(",")


def is_trivial(hunk: Hunk) -> bool:
    """A reformat (whitespace, quotes, trailing commas) or a version / copyright-year bump."""
    old, new = _fingerprint(hunk.old), _fingerprint(hunk.new)
    if old == new:
        return True
    same_but_digits = _DIGITS.sub("0", old) == _DIGITS.sub("0", new)
    return same_but_digits and bool(_BUMP_WORDS.search(old + new))


def char_edit(before: str, after: str) -> CharEdit:
    """The one change from ``before`` to ``after``: their common prefix and suffix trimmed."""
    limit = min(len(before), len(after))
    prefix = 0
    while prefix < limit and before[prefix] == after[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < limit - prefix
        and before[len(before) - 1 - suffix] == after[len(after) - 1 - suffix]
    ):
        suffix += 1
    return CharEdit(prefix, before[prefix : len(before) - suffix],
                    after[prefix : len(after) - suffix])


def window_lines(first: Hunk) -> tuple[int, int]:
    """The editable window ``[start, end)`` in lines of the edited text (after ``first``)."""
    return max(0, first.start - WINDOW_BEFORE), first.start + len(first.new) + WINDOW_AFTER


def edited_lines(first: Hunk, later: Hunk) -> tuple[int, int]:
    """Where ``later`` (an old-text hunk after ``first``) lies in the edited text."""
    start = later.start + len(first.new) - len(first.old)
    return start, start + len(later.old)


def in_window(first: Hunk, later: Hunk) -> bool:
    start, end = window_lines(first)
    later_start, later_end = edited_lines(first, later)
    return later_start >= start and later_end <= end


def kind_of(kept: list[Hunk], trivial: int) -> str | None:
    """``window`` (the next hunk lies in the editable window), ``jump`` (it lies elsewhere),
    ``none`` (the user's edit was the file's only change), or None (not a case)."""
    if len(kept) >= 2:
        return "window" if in_window(kept[0], kept[1]) else "jump"
    if len(kept) == 1 and trivial == 0:
        return "none"
    return None


def select(old_text: str, new_text: str, limits: Limits) -> tuple[str, list[Hunk]] | None:
    """The case a file's change makes, as (kind, kept hunks), or None when it makes none:
    too many or too big hunks, a mostly reformatted file, or no change worth replaying."""
    hunks = diff_hunks(old_text, new_text)
    if not hunks or len(hunks) > limits.max_hunks:
        return None
    kept = [h for h in hunks if not is_trivial(h)]
    trivial = len(hunks) - len(kept)
    if trivial > len(kept):  # a release that reformatted the file: its edits are noise
        return None
    if any(max(len(h.old), len(h.new)) > limits.max_hunk_lines for h in kept):
        return None
    if sum(len(h.old) + len(h.new) for h in kept) > limits.max_changed_lines:
        return None
    if kept and not "".join(kept[0].old + kept[0].new).strip():
        return None  # the user's edit would be only blank lines
    kind = kind_of(kept, trivial)
    return None if kind is None else (kind, kept)
