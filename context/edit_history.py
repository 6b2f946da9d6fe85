"""The user's recent edits, per document, coalesced into hunks (fed by the DocumentStore).

A hunk is a run of whole lines before and after a burst of changes in one place: typing a
word, renaming a parameter, pasting a line. Changes that touch the lines of the document's
latest hunk (or the line next to them) within ``coalesce_s`` of its last change grow that
hunk; any other change starts a new one. History is bounded in hunks per document, hunks in
all, lines per hunk and age. It holds text as it was typed: whoever sends it anywhere asks the
ContentPolicy first and redacts secrets (see ``completion.next_edit.history_piece``).

Line breaks are ``\\n`` throughout (the documents' ``lf_text``), so line numbers are the
document's. The history holds hunks only, never a document's text: each change event brings
the lines the change touched (``DocumentChanged.lines``, worked out by the store).
"""

from __future__ import annotations

import difflib
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from loomline.context.documents import DocumentChanged, DocumentEvent

# Lines of more than MAX_HUNK_CHARS either side (an edit in minified code, data) are not kept,
# so that each keystroke there costs the edit, never a copy of the line.
from loomline.context.line_changes import MAX_HUNK_CHARS, LineChange, line_change

__all__ = ["MAX_HUNK_CHARS", "EditHistory", "Hunk", "LineChange", "line_change"]

COALESCE_S = 3.0  # a pause longer than this after a change ends its hunk
MAX_AGE_S = 600.0  # hunks older than this are forgotten
MAX_HUNKS_PER_DOCUMENT = 16
MAX_HUNKS = 64
MAX_HUNK_LINES = 80  # lines before + after; a larger change (a paste, a reformat) is not kept

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


def _merge(hunk: Hunk, change: LineChange, now: float) -> Hunk | None:
    """``hunk`` grown by ``change`` (made to the text where the hunk's new lines stand), or
    None when the change lies apart from it. The union's old lines are the hunk's new lines
    and the change's old lines (they touch or overlap): no document text is needed."""
    start, end = hunk.start_line, hunk.end_line
    change_end = change.start_line + len(change.old_lines)
    if change.start_line > end or change_end < start:
        return None
    union_start, union_end = min(start, change.start_line), max(end, change_end)
    # The text's lines union_start .. union_end before the change.
    lines = [
        hunk.new_lines[line - start] if start <= line < end
        else change.old_lines[line - change.start_line]
        for line in range(union_start, union_end)
    ]
    if sum(map(len, lines)) + len(lines) - 1 > MAX_HUNK_CHARS:
        return None  # the union would hold a huge line: the change starts a hunk of its own

    def span(first: int, last: int) -> tuple[str, ...]:
        return tuple(lines[first - union_start:last - union_start])

    old_lines = span(union_start, start) + hunk.old_lines + span(end, union_end)
    # The union's lines after the change: the lines around the change as they were, the
    # change's new lines in between.
    new_lines = (span(union_start, change.start_line) + change.new_lines
                 + span(change_end, union_end))
    return replace(hunk, start_line=union_start, old_lines=old_lines, new_lines=new_lines,
                   updated=now)


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
        self._hunks: dict[str, deque[Hunk]] = {}
        self._open_hunk: dict[str, bool] = {}  # whether the latest hunk may still grow

    def __call__(self, event: DocumentEvent) -> None:
        uri = event.document.uri
        if isinstance(event, DocumentChanged):
            # The store worked out the lines the change touched (it had the old text then).
            if event.lines is not None:
                self.record_change(uri, event.lines)
        else:
            # Opened: a fresh start. Closed: the hunks stay (recent edits of a closed file
            # still say what the user does), the latest no longer grows.
            self._open_hunk[uri] = False

    def record(
        self, uri: str, old: str, new: str, prefix_hint: int = 0, suffix_hint: int = 0
    ) -> None:
        """Note that the document at ``uri`` went from ``old`` to ``new`` now (hints: see
        ``line_change``)."""
        change = line_change(old, new, prefix_hint, suffix_hint)
        if change is not None:
            self.record_change(uri, change)

    def record_change(self, uri: str, change: LineChange) -> None:
        """Note that the lines ``change`` names changed now in the document at ``uri``."""
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
            merged = _merge(latest, change, now)
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
