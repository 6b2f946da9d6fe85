"""An answer that ends by writing the start of the rest of the line again.

With auto-closed brackets the rest of the line often goes on past the closers the editor
typed: ``function f(|) {}``. A model that writes the parameters and then the header's end
(``a, b) {``) repeats a prefix of that rest (``) {`` of ``) {}``); replacing only the typed
``)`` would leave ``function f(a, b) { {}``. The repeat is cut instead, so the answer is
inserted before the rest of the line and the line is written once: ``function f(a, b) {}``.
(A repeat of the whole rest of the line, or of the typed closers alone, is
``suffix_overlap``'s and ``closers``' to judge.)
"""

from __future__ import annotations

from collections.abc import Iterator

from loomline.completion.cleanup.answer import Answer
from loomline.completion.cleanup.closers import typed_closers
from loomline.completion.cursor import Cursor
from loomline.context.lexing import BracketStack, open_brackets, state_at_end, tokens


def cut_repeated_line_start(answer: Answer, cursor: Cursor) -> Answer:
    """``answer`` less the longest tail that repeats the start of the rest of the cursor's
    line past the typed closers (blanks ignored), when what is left inserts cleanly there:
    it closes nothing open before the cursor and leaves no bracket or string of its own open.
    """
    typed = _non_blank(typed_closers(cursor))
    if not typed or not answer.text.strip() or cursor.in_comment:
        return answer
    rest = _non_blank(cursor.line_suffix)
    for head in _heads_before_repeats(answer.text, rest, len(typed)):
        kept = head.rstrip(" \t")
        if kept.strip() and inserts_cleanly(kept, cursor):
            return answer.with_text(kept)
    return answer


def ends_the_line(text: str, cursor: Cursor) -> bool:
    """Whether ``text`` ends by writing the whole rest of the cursor's line again (blanks
    ignored), and what comes before that inserts cleanly at the cursor."""
    rest = _non_blank(cursor.line_suffix)
    if not rest:
        return False
    head = next(_heads_before_repeats(text, rest, len(rest) - 1), None)
    return head is not None and inserts_cleanly(head, cursor)


def _heads_before_repeats(text: str, rest: str, shortest: int) -> Iterator[str]:
    """``text`` before each tail of it that writes a start of ``rest`` longer than
    ``shortest`` characters (blanks ignored), the longest repeat first."""
    stripped = text.rstrip()
    written = _non_blank(stripped)
    where = [index for index, ch in enumerate(stripped) if not ch.isspace()]
    for size in range(min(len(rest), len(written)), shortest, -1):
        if written.endswith(rest[:size]):
            yield stripped[: where[len(written) - size]]


def inserts_cleanly(text: str, cursor: Cursor) -> bool:
    """Whether ``text`` inserted at the cursor leaves the text after it as it was: every
    bracket it closes it opened itself, none stays open, and a string or comment it starts
    also ends (or, in a string at the cursor, it stays in that string)."""
    head = cursor.line_prefix
    language_id = cursor.language_id
    if state_at_end(head + text, language_id) != state_at_end(head, language_id):
        return False
    depth = len(open_brackets(head, language_id))
    stack = BracketStack(open_brackets(head, language_id))
    for token in tokens(head + text, language_id):
        if token.start < len(head) or token.kind != "bracket":
            continue
        if not stack.push_or_pop(token.text) or len(stack.open) < depth:
            return False
    return len(stack.open) == depth


def _non_blank(text: str) -> str:
    return "".join(ch for ch in text if not ch.isspace())
