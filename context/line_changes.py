"""The whole lines a change touched, before and after, in ``\\n`` terms (``lf_text`` lines).

The DocumentStore works them out while it applies a change (it holds the old text then) and
hands them to its listeners on the change event, so that no listener keeps a copy of a
document to diff against. The cost is the change's (plus its lines), not the document's.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace

from loomline.context.positions import LineIndex, to_lf

MAX_HUNK_CHARS = 4_000  # lines longer than this (either side) are not copied: ``oversized``


@dataclass(frozen=True, slots=True)
class LineChange:
    """The whole lines one change touched: ``old_lines`` at ``start_line`` became
    ``new_lines``. ``oversized``: the lines hold more than ``line_change``'s ``max_chars``,
    so their text is left out (both tuples empty) and only their counts are known."""

    start_line: int
    old_lines: tuple[str, ...]
    new_lines: tuple[str, ...]
    oversized: bool = False
    old_count: int = -1  # lines before / after (-1: as many as the tuples hold)
    new_count: int = -1

    @property
    def old_line_count(self) -> int:
        return len(self.old_lines) if self.old_count < 0 else self.old_count

    @property
    def new_line_count(self) -> int:
        return len(self.new_lines) if self.new_count < 0 else self.new_count


def line_change(
    old: str, new: str, prefix_hint: int = 0, suffix_hint: int = 0,
    max_chars: int = MAX_HUNK_CHARS, indexes: tuple[LineIndex, LineIndex] | None = None,
) -> LineChange | None:
    """The smallest run of whole lines whose text differs between ``old`` and ``new`` (both
    with ``\\n`` line breaks), or None when they are equal. ``prefix_hint`` /
    ``suffix_hint``: lengths of a start and an end the two surely share (from the edits), so
    that only the text between is compared: the cost is the change's, not the document's.
    Lines of more than ``max_chars`` on either side come back ``oversized`` (not copied).
    ``indexes``: the line indexes of ``old`` and ``new``, if at hand: lines are then found
    there (no scan of a long line, nor a count of the lines before the change)."""
    if old == new:
        return None
    limit = min(len(old), len(new))
    prefix = _common_run(old, new, min(prefix_hint, limit), limit, from_end=False)
    suffix = _common_run(old, new, min(suffix_hint, limit - prefix), limit - prefix,
                         from_end=True)
    if indexes is not None:
        old_index, new_index = indexes
        start_line = old_index.line_of(prefix)
        old_last, new_last = old_index.line_of(len(old) - suffix), new_index.line_of(
            len(new) - suffix)
        line_start = old_index.line_start(start_line)
        old_end, new_end = old_index.line_end(old_last), new_index.line_end(new_last)
        old_count, new_count = old_last - start_line + 1, new_last - start_line + 1
    else:
        line_start = old.rfind("\n", 0, prefix) + 1
        old_end = _line_end(old, len(old) - suffix)
        new_end = _line_end(new, len(new) - suffix)
        start_line = old.count("\n", 0, line_start)
        old_count = new_count = -1
    if max(old_end, new_end) - line_start > max_chars:
        return LineChange(
            start_line, (), (), oversized=True,
            old_count=old.count("\n", line_start, old_end) + 1 if old_count < 0 else old_count,
            new_count=new.count("\n", line_start, new_end) + 1 if new_count < 0 else new_count,
        )
    return LineChange(
        start_line=start_line,
        old_lines=tuple(old[line_start:old_end].split("\n")),
        new_lines=tuple(new[line_start:new_end].split("\n")),
    )


def _line_end(text: str, offset: int) -> int:
    end = text.find("\n", offset)
    return len(text) if end < 0 else end


def _same(a: str, b: str, start: int, stop: int, from_end: bool) -> bool:
    """Whether ``a`` and ``b`` agree on characters ``start``..``stop`` counted from their
    start (or from their end)."""
    if from_end:
        return a[len(a) - stop : len(a) - start] == b[len(b) - stop : len(b) - start]
    return a[start:stop] == b[start:stop]


def _common_run(a: str, b: str, known: int, limit: int, *, from_end: bool) -> int:
    """Length of the common start (or end) of ``a`` and ``b``, at most ``limit``, given that
    the first ``known`` characters agree: galloping steps, then a binary search in the last
    step (slices as long as the distance walked, not as the text)."""
    low, step = known, 64
    while low < limit:
        high = min(limit, low + step)
        if not _same(a, b, low, high, from_end):
            break
        low, step = high, step * 2
    else:
        return limit
    high = min(limit, low + step)  # low agrees, high does not
    while high - low > 1:
        middle = (low + high) // 2
        if _same(a, b, low, middle, from_end):
            low = middle
        else:
            high = middle
    return low  # the character at ``low`` differs


def lf_line_change(
    old: str, new: str, head: int, tail: int, old_lines: LineIndex, *, has_cr: bool,
    new_lines: LineIndex | None = None,
) -> LineChange | None:
    """``line_change`` of the ``\\n`` forms of two versions of a document (the store's own
    text, any line breaks), or None when those are equal. ``head`` / ``tail``: lengths of a
    start and an end of ``old`` and ``new`` the edits left alone; ``old_lines`` /
    ``new_lines``: the indexes of ``old`` and ``new`` (the latter optional); ``has_cr``:
    whether either holds a ``\\r`` (if not, both are their ``\\n`` form).

    With a ``\\r`` about, only the lines around the change are converted: cuts right after a
    ``\\n`` inside the untouched start and end never split a CRLF, so the lines found there
    are those of the whole texts (numbered from the cut's line)."""
    if not has_cr:  # (the lines of the index are those at \\n)
        return line_change(old, new, max(0, head - 1), max(0, tail - 1),
                           indexes=None if new_lines is None else (old_lines, new_lines))
    if new_lines is not None and (
        inside := _inside_a_line(old, new, head, tail, old_lines, new_lines)
    ) is not None:
        return inside
    cut_start = old.rfind("\n", 0, head) + 1
    newline = old.find("\n", len(old) - tail) if tail else -1
    kept = len(old) - newline - 1 if newline >= 0 else 0  # the shared end outside the window
    change = _window_change(old, new, cut_start, kept)
    if change is _RUNS_ON:  # the common start ran into the shared end: take it all
        change = _window_change(old, new, cut_start, 0)
    if change is None or change is _RUNS_ON:
        return None
    first = old_lines.position(cut_start).line
    return _moved(change, first)


def _inside_a_line(
    old: str, new: str, head: int, tail: int, old_lines: LineIndex, new_lines: LineIndex,
    max_chars: int = MAX_HUNK_CHARS,
) -> LineChange | None:
    """The change of one line, when the texts differ inside it only (no line break in what
    differs, and no CRLF that the change parts or joins): what ``lf_line_change`` finds then,
    from the line indexes (no ``\\n`` form of a long line made), else None. (Every character
    that differs is then its own ``\\n`` form, and the lines of the indexes are those of the
    ``\\n`` forms, numbered alike.)"""
    limit = min(len(old), len(new))
    prefix = _common_run(old, new, min(max(0, head - 1), limit), limit, from_end=False)
    suffix = _common_run(old, new, min(max(0, tail - 1), limit - prefix), limit - prefix,
                         from_end=True)
    for text in (old, new):
        end = len(text) - suffix
        if (text.find("\n", prefix, end) >= 0 or text.find("\r", prefix, end) >= 0
                or (text[prefix - 1 : prefix] == "\r" and text[end : end + 1] == "\n")):
            return None
    if prefix == len(old) - suffix == len(new) - suffix:
        return None  # the same texts: let the whole comparison tell
    line = old_lines.line_of(prefix)
    if max(old_lines.line_end(line) - old_lines.line_start(line),
           new_lines.line_end(line) - new_lines.line_start(line)) > max_chars:
        return LineChange(line, (), (), oversized=True, old_count=1, new_count=1)
    return LineChange(line, (old_lines.line_text(line),), (new_lines.line_text(line),))


_RUNS_ON = LineChange(-1, (), ())


def _window_change(old: str, new: str, cut_start: int, kept: int) -> LineChange | None:
    old_window = to_lf(old[cut_start:len(old) - kept])
    new_window = to_lf(new[cut_start:len(new) - kept])
    if kept and (old_window.startswith(new_window) or new_window.startswith(old_window)):
        # The whole-text scan would go on comparing past the window (an insertion that
        # repeats what follows it): the window cannot tell where that scan stops.
        return _RUNS_ON
    return line_change(old_window, new_window)


def _moved(change: LineChange, lines: int) -> LineChange:
    return replace(change, start_line=change.start_line + lines)


# A reader that last saw a document more than this many changes ago compares texts instead.
JOURNAL_CHANGES = 64
_ALL = 1 << 62  # "every line": a change that left the lines as they were


class ChangeJournal:
    """What a document's recent changes kept of its lines (those of its ``lf_text``): a
    reader that kept something worked out from the text at change ``count`` (snippet
    windows) updates only the lines changed since (``kept_since``), with no comparison of
    the texts, whatever the length of their lines.

    Each edit the document applies counts a change of unknown extent; the store then
    describes the changes it applied together with the lines they touched (``described``).
    """

    __slots__ = ("_entries", "count")

    def __init__(self) -> None:
        self.count = 0
        # (count before, count after, (lines kept at the start, at the end) or None: unknown)
        self._entries: deque[tuple[int, int, tuple[int, int] | None]] = deque(
            maxlen=JOURNAL_CHANGES)

    def edited(self) -> None:
        """One more change, of unknown extent."""
        self.count += 1
        self._entries.append((self.count - 1, self.count, None))

    def described(self, since: int, change: LineChange | None, line_count: int) -> None:
        """The changes after count ``since`` changed ``change``'s lines (None: none), of a
        text that now has ``line_count`` lines."""
        while self._entries and self._entries[-1][0] >= since:
            self._entries.pop()
        if change is None:
            kept = (_ALL, _ALL)
        else:
            kept = (change.start_line, line_count - change.start_line - change.new_line_count)
        self._entries.append((since, self.count, kept))

    def kept_since(self, count: int) -> tuple[int, int] | None:
        """How many lines at the start and at the end of the text are those of the text at
        change ``count`` (more than the text has: all of them); None when not known."""
        head = tail = _ALL
        at = self.count
        # (A copy: the store may describe a change on another thread meanwhile; an entry
        # missing then makes the answer None.)
        for before, after, kept in reversed(tuple(self._entries)):
            if at == count:
                break
            if after != at or kept is None:
                return None
            head, tail = min(head, kept[0]), min(tail, kept[1])
            at = before
        return (head, tail) if at == count else None
