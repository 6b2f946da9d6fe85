"""lsprotocol types <-> Loomline's plain values. The only place that knows both."""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types

from loomline.context.documents import Document
from loomline.context.positions import Position


def position(p: types.Position) -> Position:
    return Position(p.line, p.character)


def position_in(document: Document, p: types.Position) -> Position:
    """A request's position in ``document``: a character past its line's end is the line's
    end (as LSP says, and as didChange reads it), a line past the last the end of the text."""
    return document.lines.clamp(position(p))


def lsp_position(p: Position) -> types.Position:
    return types.Position(line=p.line, character=p.character)


def content_changes(
    changes: Sequence[types.TextDocumentContentChangeEvent],
) -> list[tuple[Position, Position, str] | str]:
    out: list[tuple[Position, Position, str] | str] = []
    for change in changes:
        if isinstance(change, types.TextDocumentContentChangePartial):
            out.append((position(change.range.start), position(change.range.end), change.text))
        else:
            out.append(change.text)
    return out


def first_line(text: str, limit: int = 60) -> str:
    line = text.strip().split("\n", 1)[0].strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


def snippet_escape(text: str) -> str:
    """Text that a snippet-aware client inserts literally."""
    return text.replace("\\", "\\\\").replace("$", "\\$").replace("}", "\\}")
