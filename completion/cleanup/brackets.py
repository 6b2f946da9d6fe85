"""Closing brackets that close nothing: the model has lost track of the nesting."""

from __future__ import annotations

import re

from loomline.completion.cleanup.chains import reopened
from loomline.completion.cursor import Cursor
from loomline.context.lexing import CLOSERS, BracketStack, open_brackets, tokens

_PREFIX_WINDOW = 50_000


def balance_brackets(candidate: str, cursor: Cursor) -> str:
    """Cut ``candidate`` at the first closing bracket that matches nothing open.

    A closer that closes a different kind of bracket than the innermost open one (``(]``), or
    that closes nothing at all, marks the model losing track: everything from it on goes. When
    the text after the cursor starts with closers, the brackets they close count as closed
    already, so a candidate cannot close them a second time, unless it reopens them on the
    same line (``} else {``): then those closers close what it reopened.
    """
    window = cursor.before[-_PREFIX_WINDOW:]
    if len(cursor.before) > _PREFIX_WINDOW:
        window = window[window.find("\n") + 1 :]
    stack = BracketStack(open_brackets(window, cursor.language_id))
    leading = re.match(r"[\s)\]}]*", cursor.after)
    closed_after: list[str] = []  # what the closers after the cursor close, innermost first
    for closer in re.sub(r"\s", "", leading.group() if leading else ""):
        if stack and stack.open[-1] == CLOSERS[closer]:
            closed_after.append(stack.open.pop())
        # (a closer the editor typed that matches nothing: ignored)
    floor = len(stack.open)
    skip_to = 0  # the end of a clause chain's line, whose brackets are read already
    for token in tokens(candidate, cursor.language_id):
        if token.kind != "bracket" or token.start < skip_to or stack.push_or_pop(token.text):
            continue
        line_end = candidate.find("\n", token.start)
        line_end = len(candidate) if line_end < 0 else line_end
        clause = reopened(candidate[token.start : line_end], cursor.language_id)
        # A chain closes only what the closers after the cursor close, none of its own.
        if clause is None or len(stack.open) != floor:
            return candidate[: token.start].rstrip(" \t")
        closes, opens = clause
        if closed_after[:closes] != list(reversed(opens[:closes])):
            return candidate[: token.start].rstrip(" \t")
        stack.open.extend(opens[closes:])  # the clause's own; what it reopened they close
        skip_to = line_end
    return candidate
