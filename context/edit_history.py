"""The user's recent edits, per document, coalesced into hunks (fed by the DocumentStore).

A hunk is a run of whole lines before and after a burst of changes in one place: typing a
word, renaming a parameter, pasting a line. Changes that touch the lines of the document's
latest hunk (or the line next to them) within ``coalesce_s`` of its last change grow that
hunk; any other change starts a new one. History is bounded in hunks per document, hunks in
all, lines per hunk and age. It holds text as it was typed: whoever sends it anywhere asks the
ContentPolicy first and redacts secrets (see ``completion.next_edit.history_piece``).

Line breaks are ``\\n`` throughout (the documents' ``lf_text``), so line numbers are the
document's.
"""

from __future__ import annotations

import difflib
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from loomline.context.documents import (
    DocumentChanged,
    DocumentClosed,
    DocumentEvent,
    DocumentOpened,
)

COALESCE_S = 3.0  # a pause longer than this after a change ends its hunk
MAX_AGE_S = 600.0  # hunks older than this are forgotten
MAX_HUNKS_PER_DOCUMENT = 16
MAX_HUNKS = 64
MAX_HUNK_LINES = 80  # lines before + after; a larger change (a paste, a reformat) is not kept
# ... and characters on either side: an edit in a huge line (minified code, data) is not kept,
# so that each keystroke there costs the edit, never a copy of the line.
MAX_HUNK_CHARS = 4_000

_HEADER = re.compile(r"^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@")


@dataclass(frozen=True, slots=True)
class Hunk:
    """Lines ``start_line`` .. of a document read ``old_lines`` before a burst of changes and
    ``new_lines`` after it (0-based line numbers, those of the document's current text for
    the newest hunk; older hunks are shifted by the lines later hunks above them added)."""

    uri: str
    start_line: int
    old_lines: tuple[str, ...]
    new_lines: tuple[str, ...]
    started: float  # clock time of its first change
    updated: float  # and of its last

    @property
    def old_text(self) -> str:
        return "\n".join(self.old_lines)

    @property
    def new_text(self) -> str:
        return "\n".join(self.new_lines)

    @property
    def end_line(self) -> int:
        """The line after its last line in the current text (exclusive)."""
        return self.start_line + len(self.new_lines)

    def unified_diff(self, path: str, context: int = 0) -> str:
        """The hunk as a unified diff of ``path`` (``--- a/path``, ``+++ b/path``, one ``@@``
        hunk with the document's line numbers), made by ``difflib``; "" when it changes
        nothing. ``context``: unchanged lines around each change difflib may show."""
        lines = difflib.unified_diff(
            list(self.old_lines), list(self.new_lines), f"a/{path}", f"b/{path}",
            n=context, lineterm="",
        )
        return "\n".join(_shift_header(line, self.start_line) for line in lines)


def _shift_header(line: str, offset: int) -> str:
    """A ``@@ -a,b +c,d @@`` header of a diff of a fragment moved to the fragment's place."""
    match = _HEADER.match(line)
    if match is None or not offset:
        return line
    old, old_count, new, new_count = match.groups()
    # difflib writes the line before an empty range (0 for the fragment's start).
    return (
        f"@@ -{int(old) + offset}{old_count or ''} +{int(new) + offset}{new_count or ''} @@"
        + line[match.end():]
    )


@dataclass(frozen=True, slots=True)
class LineChange:
    """The whole lines one change touched: ``old_lines`` at ``start_line`` became
    ``new_lines``. ``oversized``: the lines hold more than ``line_change``'s ``max_chars``,
    so their text is left out (both tuples empty) and only their counts are known."""

    start_line: int
    old_lines: tuple[str, ...]
    new_lines: tuple[str, ...]
    start_offset: int = 0  # where ``start_line`` starts in the old text
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
    max_chars: int = MAX_HUNK_CHARS,
) -> LineChange | None:
    """The smallest run of whole lines whose text differs between ``old`` and ``new`` (both
    with ``\\n`` line breaks), or None when they are equal. ``prefix_hint`` /
    ``suffix_hint``: lengths of a start and an end the two surely share (from the edits), so
    that only the text between is compared: the cost is the change's, not the document's.
    Lines of more than ``max_chars`` on either side come back ``oversized`` (not copied)."""
    if old == new:
        return None
    limit = min(len(old), len(new))
    prefix = _common_run(old, new, min(prefix_hint, limit), limit, from_end=False)
    suffix = _common_run(old, new, min(suffix_hint, limit - prefix), limit - prefix,
                         from_end=True)
    line_start = old.rfind("\n", 0, prefix) + 1
    old_end = _line_end(old, len(old) - suffix)
    new_end = _line_end(new, len(new) - suffix)
    start_line = old.count("\n", 0, line_start)
    if max(old_end, new_end) - line_start > max_chars:
        return LineChange(
            start_line, (), (), line_start, oversized=True,
            old_count=old.count("\n", line_start, old_end) + 1,
            new_count=new.count("\n", line_start, new_end) + 1,
        )
    return LineChange(
        start_line=start_line,
        old_lines=tuple(old[line_start:old_end].split("\n")),
        new_lines=tuple(new[line_start:new_end].split("\n")),
        start_offset=line_start,
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


def _merge(hunk: Hunk, change: LineChange, old_text: str, now: float) -> Hunk | None:
    """``hunk`` grown by ``change`` (made to the text ``old_text``, where the hunk's new lines
    stand), or None when the change lies apart from it."""
    start, end = hunk.start_line, hunk.end_line
    change_end = change.start_line + len(change.old_lines)
    if change.start_line > end or change_end < start:
        return None
    union_start, union_end = min(start, change.start_line), max(end, change_end)
    if not _within(old_text, change.start_offset, change.start_line - union_start,
                   union_end - change.start_line, MAX_HUNK_CHARS):
        return None  # the union would read a huge line: the change starts a hunk of its own
    # The old text's lines union_start .. union_end, read around the change (not the text).
    lines = _lines_around(old_text, change.start_offset, change.start_line - union_start,
                          union_end - change.start_line)

    def span(first: int, last: int) -> tuple[str, ...]:
        return tuple(lines[first - union_start:last - union_start])

    old_lines = span(union_start, start) + hunk.old_lines + span(end, union_end)
    # The union's lines after the change: the lines around the change as they were, the
    # change's new lines in between.
    new_lines = (span(union_start, change.start_line) + change.new_lines
                 + span(change_end, union_end))
    return replace(hunk, start_line=union_start, old_lines=old_lines, new_lines=new_lines,
                   updated=now)


def _within(text: str, offset: int, above: int, count: int, limit: int) -> bool:
    """Whether the lines ``_lines_around`` would read hold at most ``limit`` characters
    (found without reading further than ``limit`` past either end)."""
    start = offset
    for _ in range(above):
        if start == 0:
            break
        previous = text.rfind("\n", max(0, start - 1 - limit), start - 1)
        if previous < 0 and start - 1 - limit > 0:
            return False
        start = previous + 1
    end = offset
    for _ in range(count):
        found = text.find("\n", end, start + limit + 1)
        if found < 0:
            return len(text) - start <= limit
        end = found + 1
    return end - 1 - start <= limit


def _lines_around(text: str, offset: int, above: int, count: int) -> list[str]:
    """The ``above`` lines before the line starting at ``offset`` and ``count`` lines from
    it on (fewer at the text's ends)."""
    start = offset
    for _ in range(above):
        if start == 0:
            break
        start = text.rfind("\n", 0, start - 1) + 1
    end = offset
    for _ in range(count):
        found = text.find("\n", end)
        if found < 0:
            end = len(text) + 1
            break
        end = found + 1
    return text[start:end - 1].split("\n") if end > start else []


def _hints(event: DocumentChanged) -> tuple[int, int]:
    """How much of the start and the end of the text the event's edits surely left alone
    (in ``lf_text`` offsets, one character short to stay clear of a split CRLF)."""
    document, edits = event.document, event.edits
    if not edits:
        return 0, 0
    prefix = max(0, document.lf_offset(min(e.start for e in edits)) - 1)
    if len(edits) > 1:
        return prefix, 0  # the later edits may have moved what the first left alone
    suffix = len(document.lf_text) - document.lf_offset(edits[0].new_end) - 1
    return prefix, max(0, suffix)


class EditHistory:
    """Recent hunks per document URI, oldest first. Listens to a ``DocumentStore``.

    ``clock``: seconds, monotonic (tests pass their own).
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        coalesce_s: float = COALESCE_S,
        max_age_s: float = MAX_AGE_S,
        per_document: int = MAX_HUNKS_PER_DOCUMENT,
        total: int = MAX_HUNKS,
        max_lines: int = MAX_HUNK_LINES,
    ) -> None:
        self._clock = clock
        self.coalesce_s = coalesce_s
        self.max_age_s = max_age_s
        self.per_document = per_document
        self.total = total
        self.max_lines = max_lines
        self._texts: dict[str, str] = {}  # each open document's text as last seen
        self._hunks: dict[str, deque[Hunk]] = {}
        self._open_hunk: dict[str, bool] = {}  # whether the latest hunk may still grow

    def __call__(self, event: DocumentEvent) -> None:
        uri = event.document.uri
        if isinstance(event, DocumentOpened):
            self._texts[uri] = event.document.lf_text
            self._open_hunk[uri] = False
        elif isinstance(event, DocumentChanged):
            new = event.document.lf_text
            old = self._texts.get(uri)
            self._texts[uri] = new
            if old is not None:
                self.record(uri, old, new, *_hints(event))
        elif isinstance(event, DocumentClosed):
            # The hunks stay (recent edits of a closed file still say what the user does).
            self._texts.pop(uri, None)
            self._open_hunk[uri] = False

    def record(
        self, uri: str, old: str, new: str, prefix_hint: int = 0, suffix_hint: int = 0
    ) -> None:
        """Note that the document at ``uri`` went from ``old`` to ``new`` now (hints: see
        ``line_change``)."""
        change = line_change(old, new, prefix_hint, suffix_hint)
        if change is None:
            return
        now = self._clock()
        hunks = self._hunks.setdefault(uri, deque())
        if change.oversized:
            self._shift(hunks, change)
            self._open_hunk[uri] = False
            return
        latest = hunks[-1] if hunks else None
        merged = None
        if latest is not None and self._open_hunk.get(uri) and (
            now - latest.updated <= self.coalesce_s
        ):
            merged = _merge(latest, change, old, now)
        if merged is not None:
            hunks.pop()
            self._shift(hunks, change)
            self._keep(uri, hunks, merged)
            return
        self._shift(hunks, change)
        self._keep(uri, hunks, Hunk(uri, change.start_line, change.old_lines,
                                    change.new_lines, now, now))

    def _keep(self, uri: str, hunks: deque[Hunk], hunk: Hunk) -> None:
        if hunk.old_lines == hunk.new_lines:  # typed and taken back: nothing happened
            self._open_hunk[uri] = False
            return
        if len(hunk.old_lines) + len(hunk.new_lines) > self.max_lines:
            self._open_hunk[uri] = False
            return
        hunks.append(hunk)
        self._open_hunk[uri] = True
        while len(hunks) > self.per_document:
            hunks.popleft()
        self._trim_total()

    @staticmethod
    def _shift(hunks: deque[Hunk], change: LineChange) -> None:
        """Move the hunks below ``change`` by the lines it added or removed."""
        delta = change.new_line_count - change.old_line_count
        if not delta:
            return
        change_end = change.start_line + change.old_line_count
        for index, hunk in enumerate(hunks):
            if hunk.start_line >= change_end:
                hunks[index] = replace(hunk, start_line=hunk.start_line + delta)

    def _trim_total(self) -> None:
        while sum(len(h) for h in self._hunks.values()) > self.total:
            oldest_uri = min((uri for uri, h in self._hunks.items() if h),
                             key=lambda u: self._hunks[u][0].updated)
            self._hunks[oldest_uri].popleft()

    def hunks(self, uri: str | None = None) -> list[Hunk]:
        """Recent hunks (of ``uri``, or of every document), oldest first; old ones go."""
        self._forget_old()
        if uri is not None:
            return list(self._hunks.get(uri, ()))
        return sorted((h for hs in self._hunks.values() for h in hs), key=lambda h: h.updated)

    def latest(self, uri: str) -> Hunk | None:
        """The document's most recent hunk, if it is recent enough to keep."""
        found = self.hunks(uri)
        return found[-1] if found else None

    def forget(self, uri: str) -> None:
        self._hunks.pop(uri, None)
        self._open_hunk.pop(uri, None)

    def _forget_old(self) -> None:
        limit = self._clock() - self.max_age_s
        for uri, hunks in list(self._hunks.items()):
            while hunks and hunks[0].updated < limit:
                hunks.popleft()
            if not hunks:
                del self._hunks[uri]
