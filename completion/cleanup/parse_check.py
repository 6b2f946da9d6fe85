"""Answers that break the file: lines are dropped from the end until they no longer do."""

from __future__ import annotations

from loomline.completion.cleanup.closers import still_replaced
from loomline.completion.cursor import Cursor
from loomline.context.parse_errors import adds_parse_errors

# compile() of a file this size takes tens of ms, and an answer may need several: past it
# the check (on the event loop) costs more than it saves.
MAX_COMPILE_CHARS = 300_000


def drop_lines_that_break_the_parse(candidate: str, cursor: Cursor) -> str:
    """``candidate`` less its last lines until it adds no parse errors (tree-sitter)."""
    lines = candidate.split("\n")
    while lines and adds_parse_errors(cursor.language_id, cursor.before, _applied(lines, cursor),
                                      cursor.after, replaced=cursor.replaced):
        lines.pop()
    return "\n".join(lines)


def _applied(lines: list[str], cursor: Cursor) -> str:
    """``lines`` as they land before ``cursor.after``: with the closers the cursor stands
    without that they no longer close once cut (the document keeps those)."""
    text = "\n".join(lines)
    return text + cursor.replaced[len(still_replaced(text, cursor)) :]


def drop_lines_python_rejects(candidate: str, cursor: Cursor) -> str:
    """tree-sitter forgives indentation and block-structure errors that Python does not
    ("unexpected indent", a TabError, a `try` without `except`): in a Python file that
    compiles, drop last lines until it still does. A file whose block at the cursor is still
    empty (the normal state while typing) counts as compiling when a ``pass`` there makes
    it so."""
    if cursor.language_id != "python" or not candidate:
        return candidate
    # (The document as the user has it: with the closers the candidate replaces.)
    if (not _compiles(cursor.before + cursor.replaced + cursor.after)
            and not _compiles_with_a_body(cursor)):
        return candidate
    lines = candidate.split("\n")
    while lines and not _compiles(cursor.before + _applied(lines, cursor) + cursor.after):
        lines.pop()
    return "\n".join(lines)


def _compiles_with_a_body(cursor: Cursor) -> bool:
    """Whether the file compiles with ``pass`` at the cursor, on a line of its own."""
    if cursor.line_prefix.strip() or cursor.line_suffix.strip() or cursor.replaced.strip():
        return False
    return _compiles(cursor.before + "pass" + cursor.after)


def _compiles(source: str) -> bool:
    """Whether Python accepts ``source`` (syntax only; nothing is executed)."""
    if len(source) > MAX_COMPILE_CHARS:
        return False  # too big to check on the keystroke path: treat as unknown
    try:
        compile(source, "<completion>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # (A deeply nested expression exhausts the compiler's recursion: unknown, not an error.)
        return False
    return True
