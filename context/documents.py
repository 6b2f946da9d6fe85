"""Open documents, kept in sync with the editor through incremental changes."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from loomline.context.languages import editor_language_id
from loomline.context.line_changes import ChangeJournal, LineChange, lf_line_change
from loomline.context.positions import (
    LineIndex,
    Position,
    byte_offset,
    lf_edited,
    lf_offset,
    to_lf,
    utf8_length,
)
from loomline.context.text_style import LineEnding, document_indent_unit, line_ending_of

log = logging.getLogger(__name__)


def uri_to_path(uri: str) -> str:
    """File-system path of a ``file:`` URI; other schemes give the URI's path part."""
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme in ("file", "") else unquote(parsed.path or uri)


def path_to_uri(path: str | Path) -> str:
    return Path(path).absolute().as_uri()


class Edit:
    """One applied change, in the coordinates tree-sitter's ``Tree.edit`` wants (and, in
    code points of the new text, where the inserted text starts and ends).

    The byte offsets are worked out when first read, from the text as this edit left it (the
    text before the edit's start is the old text's): a document without a syntax tree (one
    with a line too long for it) never encodes the head of its line at each keystroke."""

    __slots__ = ("_bytes", "_inserted", "_line_start", "_removed", "_row", "_text", "new_end",
                 "start")

    def __init__(self, text: str, start: int, new_end: int, row: int, line_start: int,
                 removed: str, inserted: str) -> None:
        self._text = text  # (no copy: the text this edit left, as the document holds it)
        self.start, self.new_end = start, new_end  # code points of the new text
        self._row, self._line_start = row, line_start  # tree-sitter's row of ``start``
        self._removed, self._inserted = _extent(removed), _extent(inserted)
        self._bytes: tuple[int, int] | None = None  # (start byte, byte column of the start)

    def _start_bytes(self) -> tuple[int, int]:
        if self._bytes is None:
            text, line_start = self._text, self._line_start
            column = utf8_length(text[line_start : self.start])
            self._bytes = byte_offset(text, line_start) + column, column
        return self._bytes

    @property
    def start_byte(self) -> int:
        return self._start_bytes()[0]

    @property
    def old_end_byte(self) -> int:
        return self.start_byte + self._removed[0]

    @property
    def new_end_byte(self) -> int:
        return self.start_byte + self._inserted[0]

    @property
    def start_point(self) -> tuple[int, int]:
        return self._row, self._start_bytes()[1]

    @property
    def old_end_point(self) -> tuple[int, int]:
        return self._end_point(self._removed)

    @property
    def new_end_point(self) -> tuple[int, int]:
        return self._end_point(self._inserted)

    def _end_point(self, extent: tuple[int, int, int]) -> tuple[int, int]:
        size, rows, tail = extent
        if not rows:  # on the start's row
            return self._row, self._start_bytes()[1] + size
        return self._row + rows, tail

    def __repr__(self) -> str:
        return (f"Edit(start={self.start}, new_end={self.new_end}, "
                f"start_point={self.start_point}, old_end_point={self.old_end_point}, "
                f"new_end_point={self.new_end_point})")


def _extent(text: str) -> tuple[int, int, int]:
    r"""UTF-8 bytes of ``text``, how many ``\n`` it holds (tree-sitter's rows) and the bytes
    after the last of them."""
    size, rows = utf8_length(text), text.count("\n")
    return size, rows, utf8_length(text[text.rfind("\n") + 1 :]) if rows else size


@dataclass(slots=True, eq=False)
class Document:
    """One open document: the only copy of its text on the server.

    ``version`` is the editor's; ``line_ending`` and ``indent_unit`` are the document's habits,
    judged when it opens and kept current cheaply as it changes.
    """

    uri: str
    language_id: str
    version: int
    text: str
    _index: LineIndex | None = field(default=None, repr=False)
    _line_ending: LineEnding | None = field(default=None, repr=False)
    _indent: str | None = field(default=None, repr=False)
    _indent_known: bool = field(default=False, repr=False)
    _lf_text: str | None = field(default=None, repr=False)
    _utf8_size: int | None = field(default=None, repr=False)
    _lone_crs: int | None = field(default=None, repr=False)  # count of lone ``\r``
    _crs: int = field(default=0, repr=False)  # count of ``\r`` (kept at the edit's cost)
    # What its changes kept of its lines (see ``lines_kept_since``).
    journal: ChangeJournal = field(default_factory=ChangeJournal, repr=False)
    # Why the text is no longer the editor's (an edit could not be applied), or None. Until a
    # whole-text change arrives, range edits are not applied: they are relative to a text
    # the server does not have.
    out_of_sync: str | None = None

    def __post_init__(self) -> None:
        self._line_ending = line_ending_of(self.text)
        self._crs = self.text.count("\r")

    @property
    def path(self) -> str:
        return uri_to_path(self.uri)

    @property
    def lines(self) -> LineIndex:
        if self._index is None:
            self._index = LineIndex(self.text)
        return self._index

    @property
    def lf_text(self) -> str:
        r"""The text with every line break written ``\n`` (what prompts are made of: see
        ``positions.to_lf``); its lines are the document's, so positions hold in both."""
        if not self._crs:
            return self.text
        if self._lf_text is None:
            self._lf_text = to_lf(self.text)
        return self._lf_text

    def lf_offset(self, offset: int) -> int:
        """Where code-point ``offset`` of the text lies in ``lf_text``."""
        if not self._crs:
            return offset
        if self._only_crlf():
            return self.lines.lf_offset_of_crlf_text(offset)
        return lf_offset(self.text, offset)

    def _only_crlf(self) -> bool:
        r"""Whether every line break is ``\r\n``: as many ``\r`` as breaks, none alone."""
        return self._crs == self.lines.line_count - 1 and not self.has_lone_cr

    @property
    def has_cr(self) -> bool:
        r"""Whether the text holds a ``\r`` (if not, it is its own ``lf_text``)."""
        return self._crs > 0

    @property
    def has_lone_cr(self) -> bool:
        r"""Whether a line ends with a lone ``\r`` (tree-sitter, which rows at ``\n`` only,
        then sees other lines than the LSP)."""
        if self._lone_crs is None:
            self._lone_crs = _lone_crs(self.text)
        return self._lone_crs > 0

    @property
    def utf8_size(self) -> int:
        """The text's size in UTF-8 bytes (kept current by each change at the cost of the
        edit alone)."""
        if self._utf8_size is None:
            self._utf8_size = utf8_length(self.text)
        return self._utf8_size

    @property
    def line_ending(self) -> LineEnding:
        r"""The document's line ending (``\n`` until it has a line break)."""
        return self._line_ending or "\n"

    @property
    def indent_unit(self) -> str | None:
        r"""The document's indentation step (``"\t"``, or spaces), ``None`` while no line is
        indented. Judged again only after a change that touched whitespace."""
        if not self._indent_known:
            self._indent = document_indent_unit(self.text)
            self._indent_known = True
        return self._indent

    @property
    def changes(self) -> int:
        """How many changes the text has had (whatever the editor's version says)."""
        return self.journal.count

    def lines_kept_since(self, changes: int) -> tuple[int, int] | None:
        """How many lines at the start and at the end of the text are those it had at
        ``changes`` changes (more than it has: all), if its recent changes tell."""
        return self.journal.kept_since(changes)

    def offset_at(self, position: Position) -> int:
        return self.lines.offset(position)

    def position_at(self, offset: int) -> Position:
        return self.lines.position(offset)

    def apply_change(self, start: Position, end: Position, new_text: str) -> Edit:
        """Replace the text between two positions (clamped into the document). Costs the
        edit, the line of the edit and C-speed scans of the text (no Python loop over it)."""
        old = self.text
        lines = self.lines
        start_index = lines.offset(start)
        end_index = max(start_index, lines.offset(end))
        removed = old[start_index:end_index]
        # The row from the line index (no count of the breaks before the edit), unless a
        # lone CR makes tree-sitter's rows (at \n only) differ from the LSP's lines.
        if self.has_lone_cr:
            row = old.count("\n", 0, start_index)
            line_start = old.rfind("\n", 0, start_index) + 1
        else:
            row = lines.line_of(start_index)
            line_start = lines.line_start(row)
        self._forget_style(removed, new_text)
        touches_break = _touches_a_break(old, start_index, end_index, new_text)
        # The \n form follows an edit that no line break takes part in (a copy of it, no
        # scan of the text); any other is made afresh when next read.
        lf_start = None if touches_break or self._lf_text is None else self.lf_offset(start_index)
        self.text = text = old[:start_index] + new_text + old[end_index:]
        if touches_break:
            # A break came or went (or a CR and an LF met or parted at the edit's ends): judge
            # again, from the head of the text (C-speed counts; typing without breaks skips it).
            self._line_ending = line_ending_of(text, prefer=self._line_ending)
        self._index = lines.edited(start_index, end_index, new_text, text)
        self._lf_text = None if lf_start is None or self._lf_text is None else lf_edited(
            self._lf_text, lf_start, end_index - start_index, new_text)
        if self._lone_crs is not None and touches_break:
            # Only the characters next to the edit can gain or lose a lone CR: count there.
            before = _lone_crs(old[max(0, start_index - 1) : end_index + 1])
            after = _lone_crs(text[max(0, start_index - 1) : start_index + len(new_text) + 1])
            self._lone_crs += after - before
        if touches_break:
            self._crs += new_text.count("\r") - removed.count("\r")
        self.journal.edited()
        edit = Edit(text, start_index, start_index + len(new_text), row, line_start, removed,
                    new_text)
        if self._utf8_size is not None:
            self._utf8_size += edit._inserted[0] - edit._removed[0]
        return edit

    def replace_all(self, new_text: str) -> Edit:
        end = self.position_at(len(self.text))
        edit = self.apply_change(Position(0, 0), end, new_text)
        self._line_ending = line_ending_of(new_text)
        return edit

    def _forget_style(self, removed: str, inserted: str) -> None:
        """Keep the indentation fact current for the cost of looking at the edit alone."""
        if not (_only_words(removed) and _only_words(inserted)):
            self._indent_known = False


def impossible_range(lines: LineIndex, start: Position, end: Position) -> str | None:
    """What makes ``start``-``end`` a range no edit of this text can have (completing "a
    range that ..."), or None. A character past a line's end means its end and the line after
    the last the end of the text, as clients use them; anything else is not guessed at: a
    line or character below zero, a line further past the end, an end before the start."""
    for name, position in (("start", start), ("end", end)):
        if position.line < 0 or position.character < 0:
            return f"has its {name} at line {position.line}, character {position.character}"
        if position.line > lines.line_count:
            return (f"has its {name} at line {position.line}, past the end of the "
                    f"{lines.line_count}-line text")
    if (end.line, end.character) < (start.line, start.character):
        return (f"ends ({end.line}:{end.character}) before its start "
                f"({start.line}:{start.character})")
    return None


def _touches_a_break(old: str, start: int, end: int, inserted: str) -> bool:
    """Whether replacing ``old[start:end]`` with ``inserted`` can change the line breaks:
    either holds one, or the edit sits right after a CR or right before an LF."""
    return ("\r" in inserted or "\n" in inserted or old[start - 1 : start] == "\r"
            or old[end : end + 1] == "\n" or old.count("\n", start, end) > 0
            or old.count("\r", start, end) > 0)


def _lone_crs(text: str) -> int:
    r"""How many ``\r`` in ``text`` are not followed by ``\n`` (a last ``\r`` counts)."""
    return text.count("\r") - text.count("\r\n")


def _only_words(text: str) -> bool:
    """Whether ``text`` holds no whitespace (so it cannot change how lines are indented)."""
    return not text or (text.isprintable() and " " not in text)


@dataclass(frozen=True, slots=True)
class DocumentOpened:
    document: Document


@dataclass(frozen=True, slots=True)
class DocumentChanged:
    """``edits``: the changes applied, in order, each relative to the text the one before
    it left. ``lines``: the whole lines they changed, before and after, in ``lf_text``
    terms (None when the ``lf_text`` is the same), worked out while the old text was at
    hand, so that listeners need keep no copy of it."""

    document: Document
    edits: tuple[Edit, ...]
    lines: LineChange | None = None


@dataclass(frozen=True, slots=True)
class DocumentClosed:
    document: Document


DocumentEvent = DocumentOpened | DocumentChanged | DocumentClosed
Listener = Callable[[DocumentEvent], None]



# Closed documents that stay readable (``last_known``): recently edited files feed the
# context for a while after their tab closes.
KEEP_CLOSED = 20


class DocumentStore:
    """The documents the editor has open, by URI: the one owner of their text.

    Listeners (``subscribe``) hear of every open, change and close, in order, right after the
    store has applied it; one that raises is logged and the others still hear.
    """

    def __init__(self, keep_closed: int = KEEP_CLOSED) -> None:
        self._documents: dict[str, Document] = {}
        self._closed: OrderedDict[str, Document] = OrderedDict()
        self._keep_closed = keep_closed
        self.listeners: list[Listener] = []
        # The documents' recent edits, coalesced into hunks: kept by the owner of the text,
        # fed by its own change events (a local import: that module reads this one's events).
        from loomline.context.edit_history import EditHistory

        self.history = EditHistory()
        self.subscribe(self.history)

    def __contains__(self, uri: str) -> bool:
        return uri in self._documents

    def __iter__(self) -> Iterator[Document]:
        return iter(list(self._documents.values()))

    def get(self, uri: str) -> Document | None:
        """The open document at ``uri``, or ``None``."""
        return self._documents.get(uri)

    def last_known(self, uri: str) -> Document | None:
        """The open document at ``uri``, else its last text if it closed lately, else None."""
        return self._documents.get(uri) or self._closed.get(uri)

    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self.listeners:
            self.listeners.remove(listener)

    def open(self, uri: str, language_id: str, version: int, text: str) -> Document:
        if not language_id or language_id == "plaintext":
            language_id = editor_language_id(uri_to_path(uri))
        document = Document(uri=uri, language_id=language_id, version=version, text=text)
        self._closed.pop(uri, None)
        self._documents[uri] = document
        self._notify(DocumentOpened(document))
        return document

    def change(
        self,
        uri: str,
        version: int,
        changes: Sequence[tuple[Position, Position, str] | str],
    ) -> Document | None:
        """Apply changes in order; a plain string replaces the whole text. ``None`` for a
        document that is not open."""
        document = self._documents.get(uri)
        if document is None:
            return None
        old_text, old_lines, had_cr = document.text, document.lines, document.has_cr
        since = document.changes
        edits: list[Edit] = []
        tail = len(old_text)  # how much of the end no edit has touched
        for change in changes:
            if isinstance(change, str):
                edit = document.replace_all(change)
                document.out_of_sync = None  # the editor's whole text: in sync again
            elif document.out_of_sync is not None:
                continue  # made to a text the server does not have: applying it is a guess
            elif (lost := impossible_range(document.lines, change[0], change[1])) is not None:
                self._lost(document, f"a range that {lost}")
                continue
            else:
                edit = document.apply_change(*change)
            edits.append(edit)
            tail = min(tail, len(document.text) - edit.new_end)
        document.version = version
        head = min((edit.start for edit in edits), default=len(old_text))
        lines = lf_line_change(old_text, document.text, head, tail, old_lines,
                               has_cr=had_cr or document.has_cr,
                               new_lines=document.lines) if edits else None
        if edits:
            document.journal.described(since, lines, document.lines.line_count)
        self._notify(DocumentChanged(document, tuple(edits), lines))
        return document

    def lose(self, uri: str, reason: str) -> None:
        """An edit to the open document at ``uri`` arrived that cannot be applied at all (its
        params could not be read): the document is out of sync for ``reason`` (see
        ``Document.out_of_sync``). Nothing for a document that is not open."""
        document = self._documents.get(uri)
        if document is not None:
            self._lost(document, reason)
            self._notify(DocumentChanged(document, ()))

    @staticmethod
    def _lost(document: Document, reason: str) -> None:
        # Told once, by whoever follows ``out_of_sync`` (the server tells the user).
        log.debug("lost an edit to %s: %s", document.uri, reason)
        document.out_of_sync = document.out_of_sync or reason

    def close(self, uri: str) -> None:
        document = self._documents.pop(uri, None)
        if document is None:
            return
        self._closed[uri] = document
        while len(self._closed) > self._keep_closed:
            self._closed.popitem(last=False)
        self._notify(DocumentClosed(document))

    def _notify(self, event: DocumentEvent) -> None:
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:
                log.exception("a document listener failed on %s", type(event).__name__)
