"""Open documents, kept in sync with the editor through incremental changes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from loomline.context.positions import LineIndex, Position, byte_offset, point

# Extensions for clients that send no languageId we know (or "plaintext").
_LANGUAGE_BY_SUFFIX = {
    ".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript",
    ".cjs": "javascript", ".jsx": "javascriptreact", ".ts": "typescript", ".mts": "typescript",
    ".tsx": "typescriptreact", ".go": "go", ".rs": "rust", ".java": "java", ".c": "c",
    ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp",
    ".rb": "ruby", ".php": "php", ".lua": "lua", ".sh": "shellscript", ".kt": "kotlin",
    ".swift": "swift", ".cs": "csharp", ".scala": "scala",
}


def language_from_path(path: str) -> str:
    return _LANGUAGE_BY_SUFFIX.get(Path(path).suffix.lower(), "plaintext")


def uri_to_path(uri: str) -> str:
    """File-system path of a ``file:`` URI; other schemes give the URI's path part."""
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme in ("file", "") else unquote(parsed.path or uri)


def path_to_uri(path: str | Path) -> str:
    return Path(path).absolute().as_uri()


@dataclass(frozen=True, slots=True)
class Edit:
    """One applied change, in the coordinates tree-sitter's ``Tree.edit`` wants."""

    start_byte: int
    old_end_byte: int
    new_end_byte: int
    start_point: tuple[int, int]
    old_end_point: tuple[int, int]
    new_end_point: tuple[int, int]


@dataclass(slots=True)
class Document:
    uri: str
    language_id: str
    version: int
    text: str
    _index: LineIndex | None = field(default=None, repr=False)

    @property
    def path(self) -> str:
        return uri_to_path(self.uri)

    @property
    def lines(self) -> LineIndex:
        if self._index is None:
            self._index = LineIndex(self.text)
        return self._index

    def offset_at(self, position: Position) -> int:
        return self.lines.offset(position)

    def position_at(self, offset: int) -> Position:
        return self.lines.position(offset)

    def apply_change(self, start: Position, end: Position, new_text: str) -> Edit:
        """Replace the text between two positions (clamped into the document)."""
        old = self.text
        start_index = self.offset_at(start)
        end_index = max(start_index, self.offset_at(end))
        start_byte = byte_offset(old, start_index)
        old_end_byte = start_byte + byte_offset(old[start_index:end_index], end_index - start_index)
        start_point = point(old, start_index)
        old_end_point = point(old, end_index)
        self.text = old[:start_index] + new_text + old[end_index:]
        self._index = None
        new_end_index = start_index + len(new_text)
        return Edit(
            start_byte=start_byte,
            old_end_byte=old_end_byte,
            new_end_byte=start_byte + byte_offset(new_text, len(new_text)),
            start_point=start_point,
            old_end_point=old_end_point,
            new_end_point=point(self.text, new_end_index),
        )

    def replace_all(self, new_text: str) -> Edit:
        end = self.position_at(len(self.text))
        return self.apply_change(Position(0, 0), end, new_text)


class DocumentListener:
    """Hooks for things that follow documents (syntax trees, recent-edit history)."""

    def opened(self, document: Document) -> None: ...

    def changed(self, document: Document, edits: list[Edit]) -> None: ...

    def closed(self, document: Document) -> None: ...


class DocumentStore:
    """The documents the editor has open, by URI."""

    def __init__(self) -> None:
        self._documents: dict[str, Document] = {}
        self.listeners: list[DocumentListener] = []

    def __contains__(self, uri: str) -> bool:
        return uri in self._documents

    def __iter__(self) -> Iterator[Document]:
        return iter(list(self._documents.values()))

    def get(self, uri: str) -> Document | None:
        return self._documents.get(uri)

    def open(self, uri: str, language_id: str, version: int, text: str) -> Document:
        if not language_id or language_id == "plaintext":
            language_id = language_from_path(uri_to_path(uri))
        document = Document(uri=uri, language_id=language_id, version=version, text=text)
        self._documents[uri] = document
        self._notify(lambda listener: listener.opened(document))
        return document

    def change(
        self,
        uri: str,
        version: int,
        changes: list[tuple[Position, Position, str] | str],
    ) -> Document | None:
        """Apply changes in order; a plain string replaces the whole text."""
        document = self._documents.get(uri)
        if document is None:
            return None
        edits = [
            document.replace_all(change)
            if isinstance(change, str)
            else document.apply_change(*change)
            for change in changes
        ]
        document.version = version
        self._notify(lambda listener: listener.changed(document, edits))
        return document

    def close(self, uri: str) -> None:
        document = self._documents.pop(uri, None)
        if document is not None:
            self._notify(lambda listener: listener.closed(document))

    def _notify(self, call: Callable[[DocumentListener], None]) -> None:
        for listener in self.listeners:
            call(listener)
