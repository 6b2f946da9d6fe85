"""Where the answer ends: at the end of the cursor's line (single-line requests), or where the
block the cursor is in ends (multi-line requests).

``end_at_line_end`` and ``end_at_dedent`` run while the model writes (text rules, so the
stream can stop early); ``truncate_to_block`` runs on the finished answer with the language's
brackets, strings and comments in view.
"""

from __future__ import annotations

from loomline.completion.cleanup.answer import Answer
from loomline.completion.cleanup.chains import reopened
from loomline.completion.cleanup.closers import ends_past_the_closers
from loomline.completion.cleanup.indent import block_floor, indent_width
from loomline.completion.cleanup.repeats import TRIVIAL_LINE
from loomline.completion.cleanup.rest_of_line import ends_the_line
from loomline.completion.cursor import Cursor
from loomline.context.analysis import opens_block
from loomline.context.languages import family
from loomline.context.lexing import CLOSERS, BracketStack, tokens

MAX_LINES = 40


def end_at_line_end(answer: Answer, cursor: Cursor) -> Answer:
    """Single line: up to the end of the cursor's line (a leading newline means nothing).
    Before closers the editor typed, an answer whose first line does not end the cursor's
    line (``x => {`` at ``nums.map(|);``, ``a &&`` at ``if (|) {``) goes on to the line that
    does (``});``, ``b) {``), or back to its first line if it leaves the line's block first."""
    if cursor.multiline or "\n" not in answer.text:
        return answer
    lines = answer.text.split("\n")
    if not may_continue_past_line_end(cursor) or ends_the_line(lines[0], cursor):
        return answer.cut(lines[0])
    for index in range(1, len(lines)):
        if index == len(lines) - 1 and not answer.finished:
            return answer  # the line may still grow
        if _ends_the_cursor_line("\n".join(lines[: index + 1]), cursor):
            return answer.cut("\n".join(lines[: index + 1]))
        line = lines[index]
        left = line.strip() and indent_width(line) <= indent_width(cursor.line_prefix)
        if left or index >= MAX_LINES:
            break
    return answer.cut(lines[0])


def may_continue_past_line_end(cursor: Cursor) -> bool:
    """Whether a single-line answer may go on to later lines: the cursor sits before closers
    the editor typed, in code (a callback's body, the rest of a condition may follow), and
    the user did not set ``completion.multiline`` to "never"."""
    return (not cursor.multiline and cursor.mode != "never"
            and cursor.line_suffix.strip()[:1] in CLOSERS
            and not cursor.in_comment and not cursor.in_string)


def end_at_dedent(answer: Answer, cursor: Cursor) -> Answer:
    """Multi-line: cut at the first line that leaves the cursor's block (indented less), that
    repeats the next line of code after the cursor, or past ``MAX_LINES``."""
    if not cursor.multiline:
        return answer
    lines = answer.text.split("\n")
    complete = len(lines) - 1  # the last line may still grow
    limit = block_floor(cursor)
    if not cursor.line_prefix.strip():
        # The first line may complete the indentation the user was typing.
        limit = max(limit, indent_width(cursor.line_prefix + lines[0]))
    next_code_line = cursor.next_code_line()
    next_suffix_line = next_code_line.strip()
    # A line of closers only (`}`) repeats the suffix's only at the suffix line's depth: deeper,
    # it closes a block of the answer's own (the body goes on after it).
    closer_only = bool(TRIVIAL_LINE.match(next_code_line))
    for index in range(1, len(lines)):
        line = lines[index]
        if not line.strip():
            continue
        is_complete = index < complete or answer.finished
        dedented = indent_width(line) < limit
        repeats_suffix = bool(next_suffix_line) and line.strip() == next_suffix_line and (
            not closer_only or indent_width(line) <= indent_width(next_code_line)
        )
        if dedented and is_complete and _closes_the_cursor_line(lines[: index + 1], cursor):
            return answer.cut("\n".join(lines[: index + 1]))
        if dedented and _at_the_closer(line, cursor):
            if not is_complete:
                return answer  # `}` may yet become `});` or `} else {`: its line decides
            if reopened(line, cursor.language_id) is not None:
                continue  # `} else {`: the statement goes on; the closer closes its last clause
        if dedented or (repeats_suffix and is_complete) or index >= MAX_LINES:
            return answer.cut("\n".join(lines[:index]))
    return answer


def _closes_the_cursor_line(lines: list[str], cursor: Cursor) -> bool:
    """Whether the last of ``lines`` (at the cursor line's indentation) closes the answer's
    block and then the closers the editor typed (``});`` for ``nums.map(|);`` or
    ``nums.map(|)``): the answer's own end, which then replaces what the editor typed, not a
    line past it."""
    last = lines[-1]
    return (last.strip()[:1] in CLOSERS and cursor.line_suffix.strip()[:1] in CLOSERS
            and indent_width(last) == indent_width(cursor.line_prefix)
            and _ends_the_cursor_line("\n".join(lines), cursor))


def _at_the_closer(line: str, cursor: Cursor) -> bool:
    """Whether ``line`` starts with a closer where the document has the closer of the block
    the cursor is in: at the cursor line's indentation when the editor typed it after the
    cursor (``if x {|}``, ``nums.map(|)``), else at that of the next line when it starts
    with one (``}`` below the cursor)."""
    typed = cursor.line_suffix.strip()
    closer_line = cursor.line_prefix if typed else cursor.next_code_line()
    return (line.lstrip()[:1] in CLOSERS and (typed or closer_line.strip())[:1] in CLOSERS
            and indent_width(line) == indent_width(closer_line))


def _ends_the_cursor_line(text: str, cursor: Cursor) -> bool:
    """Whether ``text`` ends the cursor's line: it writes the rest of the line again, or it
    closes the closers the editor typed and leaves nothing of its own open after them (the
    rest of the line, ``;`` or ``.collect()``, written or not)."""
    return ends_the_line(text, cursor) or ends_past_the_closers(text, cursor)


def truncate_to_block(candidate: str, cursor: Cursor) -> str:
    """Cut ``candidate`` where the block or statement the cursor is in ends.

    A closing bracket that closes a bracket opened before the cursor ends the block (kept only
    when the suffix does not already close it); in Python a line indented less than the block
    ends it; a line at the cursor line's level after a statement ends the statement.
    """
    if "\n" not in candidate:
        return candidate
    language_id = cursor.language_id
    fam = family(language_id)
    line_prefix = cursor.line_prefix
    lines = candidate.split("\n")
    first = line_prefix + lines[0]
    if not line_prefix.strip():
        threshold = indent_width(first) if first.strip() else indent_width(line_prefix)
        statement_mode = False
    else:
        threshold = indent_width(line_prefix) + 1
        statement_mode = not opens_block(first.rstrip(), fam)
    indentation_rules = fam == "python" or (fam is None and _looks_indented(cursor.before))

    opened = BracketStack()  # brackets the candidate opened itself
    # A clause chain (`} else {`) closes the cursor's block and reopens it: the candidate goes
    # on. Once the candidate closes the reopened block too, a closer escapes for good.
    chained = reclosed = False
    offset = 0  # start of the current line in candidate
    for number, line in enumerate(lines):
        line_end = offset + len(line)
        if number > 0 and line.strip() and not opened and indentation_rules:
            starts_with_closer = line.lstrip()[:1] in CLOSERS
            if indent_width(line) < threshold and not starts_with_closer:
                return candidate[:offset].rstrip()
        for token in tokens(line, language_id):
            if token.kind != "bracket":
                continue
            if opened.push_or_pop(token.text, strict=False):
                reclosed = reclosed or (chained and not opened)
                continue
            clause = None if reclosed else reopened(line[token.start :], language_id)
            if clause is None:
                return _cut_at_escaping_closer(candidate, offset, offset + token.start, cursor)
            opened.open.extend(clause[1])
            chained = True
            break  # the rest of the line is the head of the next clause
        if (
            statement_mode
            and not opened
            and fam not in ("python", None)
            and line.rstrip().endswith((";", "}"))
        ):
            return candidate[:line_end].rstrip()
        offset = line_end + 1
    return candidate


def _cut_at_escaping_closer(candidate: str, line_start: int, index: int, cursor: Cursor) -> str:
    closer = candidate[index]
    if cursor.after.lstrip()[:1] == closer:  # the editor already closed it
        before = candidate[:index]
        return before.rstrip() if not candidate[line_start:index].strip() else before
    rest = candidate[index:].split("\n", 1)[0]
    tail = len(rest) - len(rest.lstrip(")]};,"))
    return candidate[: index + max(tail, 1)].rstrip()


def _looks_indented(prefix: str) -> bool:
    tail = prefix[-4000:]
    return tail.count("{") + tail.count("}") == 0 and (":\n" in tail or tail.endswith(":"))

