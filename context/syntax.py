"""One tree-sitter tree per open document, edited in place as the editor sends changes."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass

from tree_sitter import Parser, Tree

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


@dataclass(slots=True)
class _Entry:
    parser: Parser
    tree: Tree
    version: int


class SyntaxTrees:
    """Keeps a syntax tree for every open document whose language has a grammar, by URI.

    A listener of the document store (call it with the store's events); it holds trees only,
    never text: the document is the store's.

    Each change is applied with ``Tree.edit`` and the document re-parsed against the old tree,
    so a keystroke costs a fraction of a full parse. Documents over ``max_bytes``, in languages
    without a grammar, or whose parse fails simply have no tree (callers fall back to text).
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: dict[str, _Entry] = {}
        self._long_lines: set[str] = set()  # URIs without a tree for a line too long
        self._lock = threading.Lock()

    # -- following the document store ------------------------------------------------------

    def __call__(self, event: DocumentEvent) -> None:
        if isinstance(event, DocumentOpened):
            self._full_parse(event.document)
        elif isinstance(event, DocumentChanged):
            self._changed(event.document, event.edits)
        elif isinstance(event, DocumentClosed):
            self._drop(event.document.uri)
            self._long_lines.discard(event.document.uri)

    def _changed(self, document: Document, edits: tuple[Edit, ...]) -> None:
        with self._lock:
            entry = self._entries.get(document.uri)
        if entry is None:
            if document.uri in self._long_lines and any(
                _makes_long_line(document, edit) for edit in edits
            ):
                return  # still too long (only the edited lines are looked at)
            self._full_parse(document)
            return
        if any(_makes_long_line(document, edit) for edit in edits):
            self._drop(document.uri)
            self._long_lines.add(document.uri)
            return
        source = encode(document.text)
        if len(source) > self.max_bytes:
            self._drop(document.uri)
            return
        tree = entry.tree.copy()  # readers on other threads keep an unedited tree
        try:
            for edit in edits:
                tree.edit(
                    start_byte=edit.start_byte,
                    old_end_byte=edit.old_end_byte,
                    new_end_byte=edit.new_end_byte,
                    start_point=edit.start_point,
                    old_end_point=edit.old_end_point,
                    new_end_point=edit.new_end_point,
                )
            new_tree = entry.parser.parse(source, tree)
        except Exception:
            log.warning("incremental parse of %s failed; parsing afresh", document.uri,
                        exc_info=True)
            self._full_parse(document)
            return
        with self._lock:
            self._entries[document.uri] = _Entry(entry.parser, new_tree, document.version)

    # -- queries ----------------------------------------------------------------------------

    def tree(self, uri: str) -> Tree | None:
        """The current tree of a document, or ``None`` (no grammar, too big, not open)."""
        with self._lock:
            entry = self._entries.get(uri)
        return entry.tree if entry is not None else None

    def version(self, uri: str) -> int | None:
        with self._lock:
            entry = self._entries.get(uri)
        return entry.version if entry is not None else None

    def tree_for(self, document: Document) -> Tree | None:
        """The tree of ``document`` if it matches the document's current version."""
        with self._lock:
            entry = self._entries.get(document.uri)
        if entry is None or entry.version != document.version:
            return None
        return entry.tree

    def __contains__(self, uri: str) -> bool:
        return self.tree(uri) is not None

    # -- internals --------------------------------------------------------------------------

    def _full_parse(self, document: Document) -> None:
        parser = new_parser(document.language_id)
        if parser is None:
            self._drop(document.uri)
            return
        if _LONG_LINE.search(document.text):
            self._drop(document.uri)
            self._long_lines.add(document.uri)
            return
        self._long_lines.discard(document.uri)
        source = encode(document.text)
        if len(source) > self.max_bytes:
            log.info("%s is %d bytes: not parsing it", document.uri, len(source))
            self._drop(document.uri)
            return
        try:
            tree = parser.parse(source)
        except Exception:
            log.warning("parse of %s failed", document.uri, exc_info=True)
            self._drop(document.uri)
            return
        with self._lock:
            self._entries[document.uri] = _Entry(parser, tree, document.version)

    def _drop(self, uri: str) -> None:
        with self._lock:
            self._entries.pop(uri, None)


def _makes_long_line(document: Document, edit: Edit) -> bool:
    """Whether the text an edit wrote has a line over ``MAX_LINE_CHARS`` (looking at the
    lines it touched only)."""
    lines = document.lines
    first, last = lines.line_of(edit.start), lines.line_of(edit.new_end)
    return any(
        lines.line_end(line) - lines.line_start(line) > MAX_LINE_CHARS
        for line in range(first, last + 1)
    )
