"""Cursors for golden cases: the document is written with the cursor marked █."""

from __future__ import annotations

from loomline.completion.cleanup import clean
from loomline.completion.cleanup.closers import closers_replaced
from loomline.completion.cursor import Cursor, cursor_at
from loomline.context.analysis import analyze_position
from loomline.context.languages import parse

CURSOR = "█"


def cursor_row(marked: str) -> int:
    """The line (zero-based) the █ of ``marked`` is on."""
    return marked[: marked.index(CURSOR)].count("\n")


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


def applied(marked: str, language_id: str, raw: str, multiline: bool | None = None
            ) -> tuple[str, str, Cursor]:
    """The answer for ``raw`` and the document once it is applied (over its range)."""
    cursor = cursor_for(marked, language_id, multiline)
    text = clean(raw, cursor)
    replaced = closers_replaced(text, cursor)
    return text, cursor.before + text + cursor.after[replaced:], cursor
