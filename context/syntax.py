"""One tree-sitter tree per open document, brought up to date when read.

A change costs its ``Tree.edit`` coordinates only: re-parsing is left to the first reader
after it. tree-sitter re-parses a file of many top-level statements (a flat list of
assignments, say) in about the time of a full parse, however small the edit: 200 ms for
100,000 lines, which a keystroke must not pay (the request after the typing pause does, once,
for all the changes since; ``WorkspaceContext.bring_up_to_date`` does it in a worker thread).

py-tree-sitter holds the GIL while it parses a bytes object: a parse in a worker thread would
stall the event loop all the same. It reads the source through a Python callback here, a
chunk a call, and a call into Python is where the interpreter hands the GIL to a thread that
waits for it: the event loop gets a turn every few milliseconds of a big parse.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from tree_sitter import Parser, Point, Tree

from loomline.context.documents import (
    Document,
    DocumentChanged,
    DocumentClosed,
    DocumentEvent,
    DocumentOpened,
    Edit,
)
from loomline.context.languages import encode, new_parser

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 2_000_000
# A document with a longer line has no tree (like editors, which stop highlighting there):
# re-parsing a minified or data line costs 100 ms and more per keystroke, and its analysis
# gains nothing over the text rules.
MAX_LINE_CHARS = 20_000
_LONG_LINE = re.compile(f"[^\r\n]{{{MAX_LINE_CHARS + 1}}}")
# More edits than this since the last parse: parse afresh (no slower than that many
# ``Tree.edit`` calls, and the list of them stays small).
MAX_PENDING_EDITS = 5_000

# Bytes handed to tree-sitter a read (a parse of 1.5 MB makes some 400 calls into Python).
READ_CHUNK = 4096

# ``Tree.edit``'s arguments: start, old end and new end bytes, then their points.
_Coordinates = tuple[int, int, int, tuple[int, int], tuple[int, int], tuple[int, int]]


@dataclass(slots=True, eq=False)
class _Entry:
    parser: Parser  # (used under ``parsing`` only: a parser is not for two threads at once)
    # The last parse, or None (none yet, or to be made afresh).
    tree: Tree | None
    # The text the last event left: the document's own string, never a copy, so that a
    # reader on any thread parses the text that goes with ``pending``.
    text: str
    version: int
    # The edits since ``tree`` was parsed, in order.
    pending: list[_Coordinates] = field(default_factory=list)
    parsing: threading.Lock = field(default_factory=threading.Lock)


class SyntaxTrees:
    """Keeps a syntax tree for every open document whose language has a grammar, by URI.

    A listener of the document store (call it with the store's events); it holds trees and
    the edits not yet parsed, never a copy of a text: the document is the store's.

    Each change is noted in ``Tree.edit`` coordinates; the first reader after it re-parses
    once against the old tree with every edit applied (``tree``, ``tree_for``). A change
    never waits for a parse on another thread. Documents over ``max_bytes``, in languages
    without a grammar, or whose parse fails simply have no tree (callers fall back to text).
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: dict[str, _Entry] = {}
        self._long_lines: set[str] = set()  # URIs without a tree for a line too long
        self._lock = threading.Lock()  # guards the entries' fields (never held over a parse)

    # -- following the document store ------------------------------------------------------

    def __call__(self, event: DocumentEvent) -> None:
        if isinstance(event, DocumentOpened):
            self._open(event.document)
        elif isinstance(event, DocumentChanged):
            self._changed(event.document, event.edits)
        elif isinstance(event, DocumentClosed):
            self._drop(event.document.uri)
            self._long_lines.discard(event.document.uri)

    def _changed(self, document: Document, edits: tuple[Edit, ...]) -> None:
        with self._lock:
            entry = self._entries.get(document.uri)
        if entry is None:
            if document.utf8_size > self.max_bytes:
                # Still too big: no tree, and no look at its text (the long-line search in
                # ``_open`` scans all of it, 150 ms for 2.5 MB, at every keystroke).
                return
            if document.uri in self._long_lines and any(
                _makes_long_line(document, edit) for edit in edits
            ):
                return  # still too long (only the edited lines are looked at)
            self._open(document)
            return
        if any(_makes_long_line(document, edit) for edit in edits):
            self._drop(document.uri)
            self._long_lines.add(document.uri)
            return
        if document.utf8_size > self.max_bytes:
            self._drop(document.uri)
            return
        coordinates = [_coordinates(edit) for edit in edits]
        with self._lock:
            if self._entries.get(document.uri) is not entry:
                return  # (closed meanwhile)
            entry.pending.extend(coordinates)
            if len(entry.pending) > MAX_PENDING_EDITS:
                entry.tree, entry.pending = None, []
            entry.text, entry.version = document.text, document.version

    # -- queries ----------------------------------------------------------------------------

    def tree(self, uri: str) -> Tree | None:
        """The current tree of a document, or ``None`` (no grammar, too big, not open)."""
        with self._lock:
            entry = self._entries.get(uri)
        return self._current(uri, entry)[0] if entry is not None else None

    def version(self, uri: str) -> int | None:
        with self._lock:
            entry = self._entries.get(uri)
            return entry.version if entry is not None else None

    def tree_for(self, document: Document) -> Tree | None:
        """The tree of ``document`` if it matches the document's current version (parsed
        now if it changed since the last read: run it in a worker thread where that may be
        a big file's parse)."""
        with self._lock:
            entry = self._entries.get(document.uri)
            if entry is None or entry.version != document.version:
                return None
        tree, version = self._current(document.uri, entry, document.version)
        # (Changed on another thread during the parse: not the tree of its text.)
        return tree if version == document.version else None

    def is_current(self, uri: str) -> bool:
        """Whether reading the tree of ``uri`` costs no parse (none pending, or no tree)."""
        with self._lock:
            entry = self._entries.get(uri)
            return entry is None or (entry.tree is not None and not entry.pending)

    def __contains__(self, uri: str) -> bool:
        return self.tree(uri) is not None

    # -- internals --------------------------------------------------------------------------

    def _current(self, uri: str, entry: _Entry, wanted: int | None = None
                 ) -> tuple[Tree | None, int]:
        """``entry``'s tree with every change parsed (None if its parse failed) and the
        version it is of. One parse at a time per document: a second reader waits for the
        first one's tree. A reader that ``wanted`` a version the document has left by then
        gets None, and parses nothing (a request superseded while it waited)."""
        with self._lock:
            if entry.tree is not None and not entry.pending:
                return entry.tree, entry.version
        with entry.parsing:
            with self._lock:
                base, edits, text = entry.tree, list(entry.pending), entry.text
                parsed_version = entry.version
            if wanted is not None and wanted != parsed_version:
                return None, parsed_version
            if base is None or edits:
                new_tree = self._parse(uri, entry.parser, base, edits, text)
                with self._lock:
                    if self._entries.get(uri) is not entry:
                        return None, parsed_version  # closed, dropped or opened again
                    if new_tree is None:
                        self._entries.pop(uri, None)
                        return None, parsed_version
                    # Edits that came during the parse stay pending (made to this text).
                    entry.tree = new_tree
                    del entry.pending[: len(edits)]
            else:
                new_tree = base
        return new_tree, parsed_version

    @staticmethod
    def _parse(uri: str, parser: Parser, base: Tree | None, edits: list[_Coordinates],
               text: str) -> Tree | None:
        read = _reader(encode(text))
        if base is not None:
            tree = base.copy()  # readers on other threads keep an unedited tree
            try:
                for edit in edits:
                    tree.edit(*edit)
                return parser.parse(read, tree)
            except Exception:
                log.warning("incremental parse of %s failed; parsing afresh", uri,
                            exc_info=True)
        try:
            return parser.parse(read)
        except Exception:
            log.warning("parse of %s failed", uri, exc_info=True)
            return None

    def _open(self, document: Document) -> None:
        """Take ``document`` on (its first parse waits for the first reader)."""
        parser = new_parser(document.language_id)
        if parser is None:
            self._drop(document.uri)
            return
        # The size first: it costs nothing, the long-line search scans the whole text.
        if document.utf8_size > self.max_bytes:
            log.info("%s is %d bytes: not parsing it", document.uri, document.utf8_size)
            self._drop(document.uri)
            return
        if _LONG_LINE.search(document.text):
            self._drop(document.uri)
            self._long_lines.add(document.uri)
            return
        self._long_lines.discard(document.uri)
        with self._lock:
            self._entries[document.uri] = _Entry(parser, None, document.text, document.version)

    def _drop(self, uri: str) -> None:
        with self._lock:
            self._entries.pop(uri, None)


def _reader(source: bytes) -> Callable[[int, Point], bytes]:
    """``source`` for ``Parser.parse``, a chunk a call (each call lets other threads run)."""

    def read(offset: int, _point: Point) -> bytes:
        return source[offset : offset + READ_CHUNK]

    return read


def _coordinates(edit: Edit) -> _Coordinates:
    return (edit.start_byte, edit.old_end_byte, edit.new_end_byte, edit.start_point,
            edit.old_end_point, edit.new_end_point)


def _makes_long_line(document: Document, edit: Edit) -> bool:
    """Whether the text an edit wrote has a line over ``MAX_LINE_CHARS`` (looking at the
    lines it touched only)."""
    lines = document.lines
    first, last = lines.line_of(edit.start), lines.line_of(edit.new_end)
    return any(
        lines.line_end(line) - lines.line_start(line) > MAX_LINE_CHARS
        for line in range(first, last + 1)
    )
