"""Cursors for golden cases: the document is written with the cursor marked █."""

from __future__ import annotations

from loomline.completion.cursor import Cursor, cursor_at
from loomline.context.analysis import analyze_position
from loomline.context.languages import parse

CURSOR = "█"


def cursor_for(marked: str, language_id: str | None = None, multiline: bool | None = None,
               with_tree: bool = True) -> Cursor:
    """The cursor at █ in ``marked``, analysed with a syntax tree when the language has one
    (and ``with_tree``); ``multiline`` overrides the analysis' decision."""
    offset = marked.index(CURSOR)
    text = marked.replace(CURSOR, "")
    tree = parse(language_id, text) if with_tree else None
    analysis = analyze_position(language_id, tree, text, offset)
    mode = "auto" if multiline is None else "always" if multiline else "never"
    return cursor_at(text, offset, language_id, analysis, mode)
