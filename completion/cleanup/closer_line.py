r"""A block answered at an auto-closed bracket ends with the closer on a line of its own.

At ``function f() {|}`` the block answer ``\n  return 1;`` inserted before the ``}`` the
editor typed would leave ``return 1;}``: the closer glued onto the last body line (after a
line comment, commented out, so the parse check then dropped the body). When the bracket that
closer closes ends its line (the block style), the answer ends with a line break and that
line's indentation instead, so the closer lands where a person puts it. (The answer's own
closer line stood for the typed one and was cut as its repeat; this puts the break back.)
A bracket that does not end its line (``add(a,|)``) keeps its closer on the last line.
"""

from __future__ import annotations

from dataclasses import replace

from loomline.completion.cleanup.closers import MAX_LINE_PREFIX_CHARS
from loomline.completion.cleanup.indent import leading_blanks
from loomline.completion.cursor import Cursor
from loomline.context.lexing import CLOSERS, OPENERS, tokens

# How far before the cursor the bracket the typed closer closes is looked for: a block's
# opening line further up than this is not a block being answered at its closer.
_OPENER_WINDOW = 4_000


def end_before_the_closer(answer: str, cursor: Cursor) -> str:
    """``answer`` ending with ``closing_line_break``'s break when it needs one, else as is."""
    line_break = closing_line_break(answer, cursor)
    return answer.rstrip() + line_break if line_break else answer


def with_the_closing_line_break(answer: str, cursor: Cursor) -> Cursor:
    """``cursor`` with ``answer``'s closing line break put after it: the text after the
    answer as it will be once inserted, for the filters that judge the answer against it."""
    line_break = closing_line_break(answer, cursor)
    if not line_break:
        return cursor
    position = replace(cursor.position, line_suffix="")
    return cursor.with_after(line_break, position=position)


def closing_line_break(answer: str, cursor: Cursor) -> str:
    r"""``"\n"`` and the indentation of the line that opened the bracket the closer after the
    cursor closes, when ``answer`` writes lines of a block before that closer and the bracket
    ends its line; "" otherwise (a single line, no closer after the cursor, a bracket with
    code after it on its line, an answer that leaves brackets of its own open)."""
    body = answer.rstrip()
    closer = cursor.line_suffix.lstrip(" \t")[:1]
    if ("\n" not in body or closer not in CLOSERS or cursor.in_comment or cursor.in_string
            or len(cursor.line_prefix) > MAX_LINE_PREFIX_CHARS):
        return ""
    window = cursor.before[-_OPENER_WINDOW:]
    if len(cursor.before) > _OPENER_WINDOW:
        window = window[window.find("\n") + 1 :]
    text = window + body
    opener = _innermost_open_bracket(text, cursor.language_id)
    if opener is None or OPENERS[text[opener]] != closer:
        return ""
    line_end = text.find("\n", opener)
    if line_end < 0 or not _blank_or_comment(text[opener + 1 : line_end], cursor.language_id):
        return ""
    line_start = text.rfind("\n", 0, opener) + 1
    return "\n" + leading_blanks(text[line_start:opener])


def _innermost_open_bracket(text: str, language_id: str | None) -> int | None:
    """Where the innermost bracket still open at the end of ``text`` is; None when none is
    (it opened before ``text``) or when a closer closes a different kind (lost nesting)."""
    opened: list[int] = []
    for token in tokens(text, language_id):
        if token.kind != "bracket":
            continue
        if token.text in OPENERS:
            opened.append(token.start)
        elif opened:
            if CLOSERS[token.text] != text[opened[-1]]:
                return None
            opened.pop()
    return opened[-1] if opened else None


def _blank_or_comment(rest_of_line: str, language_id: str | None) -> bool:
    if not rest_of_line.strip():
        return True
    first = next(tokens(rest_of_line, language_id), None)
    return (first is not None and first.kind == "comment"
            and not rest_of_line[: first.start].strip())
