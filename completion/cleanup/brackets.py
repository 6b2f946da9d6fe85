"""Closing brackets that close nothing: the model has lost track of the nesting."""

from __future__ import annotations

import re

from loomline.completion.cursor import Cursor
from loomline.context.lexing import BracketStack, open_brackets, tokens

_PREFIX_WINDOW = 50_000


def balance_brackets(candidate: str, cursor: Cursor) -> str:
    """Cut ``candidate`` at the first closing bracket that matches nothing open.

    A closer that closes a different kind of bracket than the innermost open one (``(]``), or
    that closes nothing at all, marks the model losing track: everything from it on goes. When
    the text after the cursor starts with closers, the brackets they close count as closed
    already, so a candidate cannot close them a second time.
    """
    window = cursor.before[-_PREFIX_WINDOW:]
    if len(cursor.before) > _PREFIX_WINDOW:
        window = window[window.find("\n") + 1 :]
    stack = BracketStack(open_brackets(window, cursor.language_id))
    leading = re.match(r"[\s)\]}]*", cursor.after)
    for closer in re.sub(r"\s", "", leading.group() if leading else ""):
        stack.push_or_pop(closer)  # a closer the editor typed that matches nothing: ignored
    for token in tokens(candidate, cursor.language_id):
        if token.kind == "bracket" and not stack.push_or_pop(token.text):
            return candidate[: token.start].rstrip(" \t")
    return candidate
