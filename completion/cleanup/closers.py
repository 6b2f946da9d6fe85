"""Closers the editor already typed: with auto-closed brackets and quotes the cursor usually
sits before ``)``, ``]``, ``}`` or a quote. An answer that closes them itself (``bar: str):``
at ``def foo(|)``) would leave them doubled; the answer then replaces them instead, through
the range of the item (as far as it closes them), so the line stays valid and what the answer
writes after them (``:``, ``;``, `` {``) is kept.
"""

from __future__ import annotations

import re

from loomline.completion.cursor import Cursor
from loomline.context.lexing import BracketStack, open_brackets, state_at_end, tokens

# Closing brackets at the start of the rest of the line, blanks between them.
_TYPED_CLOSERS = re.compile(r"(?:[ \t]*[)\]}])*")
_QUOTES = "\"'`"
_PREFIX_WINDOW = 50_000
# Past this many characters before the cursor on its line, the line is not lexed (several
# times per answer, on the event loop: 50 ms each on a 400,000-character line): its typed
# closers count as none, so the answer is inserted and replaces nothing.
MAX_LINE_PREFIX_CHARS = 10_000


def typed_closers(cursor: Cursor) -> str:
    """The closing brackets right after the cursor on its line (blanks between them
    included), after the quote that closes the string the cursor is in, if it is: ``")`` in
    ``print("|")``; "" when the line goes on otherwise, or when the line before the cursor
    is longer than ``MAX_LINE_PREFIX_CHARS``."""
    if len(cursor.line_prefix) > MAX_LINE_PREFIX_CHARS:
        return ""
    suffix = cursor.line_suffix
    if _in_string(cursor):
        if suffix[:1] not in _QUOTES:
            return ""  # brackets in a string close nothing
        match = _TYPED_CLOSERS.match(suffix, 1)
    else:
        match = _TYPED_CLOSERS.match(suffix)
    return suffix[: match.end()] if match else ""


def closers_replaced(answer: str, cursor: Cursor) -> int:
    """How many code points after the cursor ``answer`` replaces: of the typed closers
    (``typed_closers``), the quote of the string the cursor is in if the answer ends that
    string, and as many closing brackets as the answer closes brackets that were open at the
    cursor. 0 when it closes none of them, or when it closes something that was not open (the
    answer is broken in another way, for the other filters to judge).
    """
    return _closing(answer, cursor)[0]


def ends_past_the_closers(answer: str, cursor: Cursor) -> bool:
    """Whether ``answer`` replaces closers the editor typed (``closers_replaced``) and opens
    nothing after them that it leaves open: it ends past them (``});`` of a callback's block
    at ``nums.map(|)``, ``})`` at ``xs.iter().map(|).collect()``), the rest of the line kept."""
    replaced, reopened = _closing(answer, cursor)
    return replaced > 0 and not reopened


def still_replaced(answer: str, cursor: Cursor) -> str:
    """Of the closers ``cursor`` stands without (``Cursor.replaced``: those the answer it was
    made for replaces), the ones ``answer`` closes itself: all for that answer, fewer for one
    cut shorter, whose document keeps the rest."""
    if not cursor.replaced:
        return ""
    return cursor.replaced[: _closing(answer, cursor, cursor.replaced)[0]]


def _closing(answer: str, cursor: Cursor, typed: str | None = None) -> tuple[int, bool]:
    """``closers_replaced`` (of ``typed``, by default the closers after the cursor), and
    whether brackets are open at the end of ``answer`` that were not at the lowest depth it
    reached (it opened them after closing what it closes)."""
    typed = typed_closers(cursor) if typed is None else typed
    if not typed or not answer or cursor.in_comment:
        return 0, False
    head = cursor.line_prefix
    line = head + answer
    stack = BracketStack(_open_before_line(cursor))
    string_closed = False
    depth = lowest = -1
    for token in tokens(line, cursor.language_id):
        if token.start >= len(head) and depth < 0:
            depth = lowest = len(stack.open)
        if token.kind == "bracket":
            if not stack.push_or_pop(token.text) and token.start >= len(head):
                return 0, False
            lowest = min(lowest, len(stack.open)) if depth >= 0 else lowest
        elif token.kind == "string" and token.start < len(head) < token.start + len(token.text):
            string_closed = state_at_end(token.text, cursor.language_id) == "code"
    closed_brackets = depth - lowest if depth >= 0 else 0
    quote = 1 if typed[0] in _QUOTES else 0
    if quote and (not string_closed or state_at_end(line, cursor.language_id) == "string"):
        return 0, False  # the typed quote ends a string of the answer's: it and what follows stay
    return _through_closers(typed, quote, closed_brackets), len(stack.open) > lowest


def leave_closers_in_place(answer: str, cursor: Cursor) -> str:
    """An answer that ends with the very closers it would replace, less them: an insert
    before them rather than a replacement of them (what every client shows alike)."""
    replaced = re.sub(r"\s", "", cursor.after[: closers_replaced(answer, cursor)])
    stripped = answer.rstrip()
    if not replaced or not stripped.endswith(replaced):
        return answer
    shorter = stripped[: -len(replaced)].rstrip(" \t")
    # `.collect()` ends with a closer of its own: less it, the answer would replace the typed one.
    return shorter if closers_replaced(shorter, cursor) == 0 else answer


def _through_closers(typed: str, start: int, closers: int) -> int:
    """How far into ``typed`` (from ``start``) the first ``closers`` closing brackets go."""
    end = start
    for index in range(start, len(typed)):
        if closers <= 0:
            break
        if typed[index] not in " \t":
            closers -= 1
            end = index + 1
    return end


def _in_string(cursor: Cursor) -> bool:
    return cursor.in_string or state_at_end(cursor.line_prefix, cursor.language_id) == "string"


def _open_before_line(cursor: Cursor) -> list[str]:
    """The brackets still open where the cursor's line starts."""
    before = cursor.before[: len(cursor.before) - len(cursor.line_prefix)]
    window = before[-_PREFIX_WINDOW:]
    if len(before) > _PREFIX_WINDOW:
        window = window[window.find("\n") + 1 :]
    return open_brackets(window, cursor.language_id)
