"""The document's indentation: an answer is re-indented to the file's own style.

A model writes the indentation it learned most (four spaces, often) even in a tab or a 2-space
file: in Python that is a TabError or a wrong block. Each line's depth in the answer's own
unit becomes the same depth in the file's unit (``Cursor.indent_unit``); a tab is one level,
not four columns. The answer's unit is the first of the file's own, 4, 2 and 8 spaces under
which its lines step in plausibly from the cursor's depth: one level deeper at most, and only
after a line that opens a block. Lines inside parentheses, square brackets or strings the
answer opened keep their alignment beyond whole levels.
"""

from __future__ import annotations

from loomline.completion.cleanup.answer import Answer
from loomline.completion.cleanup.indent import (
    deepest_plausible_indent,
    leading_blanks,
    may_open_block,
)
from loomline.completion.cursor import Cursor
from loomline.context.lexing import OPENERS, Token, tokens

_SPACE_UNITS = (4, 2, 8)


def match_file_indent(answer: Answer, cursor: Cursor) -> Answer:
    """``answer`` with its indentation in the file's style (unchanged when it already is, or
    when its own unit cannot be told)."""
    if not cursor.position.indent_unit_known:
        return answer  # no line of the file is indented: the answer's style is as good
    lines = answer.text.split("\n")
    indents = [_tabs_then_spaces(leading_blanks(line)) for line in lines]
    if any(indent is None for line, indent in zip(lines, indents, strict=True) if line.strip()):
        return answer  # spaces before a tab: no style to convert from
    counted = [indent or (0, 0) for indent in indents]  # blank lines lose odd blanks
    file_tabs = cursor.indent_unit == "\t"
    if file_tabs and not any(spaces for _tabs, spaces in counted):
        return answer
    file_width = 4 if file_tabs else len(cursor.indent_unit)
    candidates = _SPACE_UNITS if file_tabs else (file_width, *_SPACE_UNITS)
    continuation = _continuation_lines(answer.text, cursor.language_id)
    found = _answer_unit(lines, counted, continuation, tuple(dict.fromkeys(candidates)), cursor)
    if found is None:
        return answer
    unit, first_depth = found
    if not file_tabs and unit == file_width and not any(tabs for tabs, _spaces in counted):
        return answer
    fixed = [_reindented(line, tabs, spaces, unit, cursor.indent_unit)
             for line, (tabs, spaces) in zip(lines, counted, strict=True)]
    if cursor.line_prefix.strip():
        fixed[0] = lines[0]  # the first line goes on after code: its blanks are not indentation
    elif first_depth is not None:
        fixed[0] = _at_depth(lines[0], first_depth, cursor)
    return answer.with_text("\n".join(fixed))


def _answer_unit(lines: list[str], counted: list[tuple[int, int]], continuation: set[int],
                 candidates: tuple[int, ...], cursor: Cursor) -> tuple[int, int | None] | None:
    """The answer's own unit (spaces a level) and the depth its first line's own blanks put
    it at (None: it has none, or they fit no level); None when no unit reads plausibly. A
    unit under which the first line fits the block wins over one under which it does not
    (the file's own, whose doubled first line ``fix_doubled_indent`` mends)."""
    lenient: int | None = None
    for unit in candidates:
        plausible, first = _plausible(lines, counted, continuation, unit, cursor)
        if plausible and (first is not None or not _has_own_blanks(counted, cursor)):
            return unit, first
        if plausible and lenient is None:
            lenient = unit
    return None if lenient is None else (lenient, None)


def _has_own_blanks(counted: list[tuple[int, int]], cursor: Cursor) -> bool:
    return not cursor.line_prefix.strip() and any(counted[0])


def _at_depth(line: str, depth: int, cursor: Cursor) -> str:
    """The answer's first line with the blanks that put it ``depth`` levels deep after the
    blanks the user typed (none when those already reach it)."""
    target = cursor.indent_unit * depth
    typed = cursor.line_prefix
    blanks = target[len(typed):] if target.startswith(typed) else ""
    return blanks + line.lstrip(" \t")


def _tabs_then_spaces(blanks: str) -> tuple[int, int] | None:
    """(tabs, spaces) of leading blanks written as tabs then spaces; None otherwise."""
    tabs = len(blanks) - len(blanks.lstrip("\t"))
    rest = blanks[tabs:]
    return None if "\t" in rest else (tabs, len(rest))


def _depth(tabs: int, spaces: int, unit: int) -> int | None:
    return tabs + spaces // unit if spaces % unit == 0 else None


def _plausible(lines: list[str], counted: list[tuple[int, int]], continuation: set[int],
               unit: int, cursor: Cursor) -> tuple[bool, int | None]:
    """Whether, read with ``unit`` spaces a level, each line of the answer (but the first)
    is at most one level deeper than the one before it, and deeper only after a block opens;
    and the first line's depth when its own blanks (after a blank prefix) fit the block."""
    prefix = cursor.line_prefix
    prefix_tabs, prefix_spaces = _tabs_then_spaces(leading_blanks(prefix)) or (0, 0)
    file_width = 4 if cursor.indent_unit == "\t" else len(cursor.indent_unit)
    prefix_depth = prefix_tabs + prefix_spaces // file_width
    if not _has_own_blanks(counted, cursor):
        return _rest_plausible(lines, counted, continuation, unit, prefix_depth, cursor), None
    own = _depth(*counted[0], unit)
    total = _depth(prefix_tabs, prefix_spaces + counted[0][1], unit) if not counted[0][0] else None
    deepest = deepest_plausible_indent(cursor) // file_width
    # The first line's depth: its own blanks after the user's; or (it went on with the
    # user's blanks in its own unit) both counted in its unit; or (the model wrote the line's
    # whole indentation again) its own alone.
    options = (prefix_depth + own if own is not None else None, total, own)
    for first in dict.fromkeys(depth for depth in options
                               if depth is not None and depth <= deepest):
        if _rest_plausible(lines, counted, continuation, unit, first, cursor):
            return True, first
    # Spaces read as other spaces: the first line must fit the block (a 4-space file whose
    # answer steps in by 2 has a mixed style of its own, not a 2-space one).
    if cursor.indent_unit != "\t" and unit != file_width:
        return False, None
    return _rest_plausible(lines, counted, continuation, unit, prefix_depth + (own or 0),
                           cursor), None


def _rest_plausible(lines: list[str], counted: list[tuple[int, int]], continuation: set[int],
                    unit: int, first_depth: int, cursor: Cursor) -> bool:
    """Whether the lines after the first step in plausibly from ``first_depth``."""
    previous_depth, previous_line = first_depth, cursor.line_prefix + lines[0]
    for index in range(1, len(lines)):
        line = lines[index]
        if not line.strip() or index in continuation:
            continue
        depth = _depth(*counted[index], unit)
        if depth is None or depth > previous_depth + 1:
            return False
        if depth == previous_depth + 1 and not may_open_block(previous_line):
            return False
        previous_depth, previous_line = depth, line
    return True


def _reindented(line: str, tabs: int, spaces: int, unit: int, file_unit: str) -> str:
    depth = tabs + spaces // unit
    return file_unit * depth + " " * (spaces % unit) + line.lstrip(" \t")


def _continuation_lines(text: str, language_id: str | None) -> set[int]:
    """Indexes of the lines of ``text`` that start inside a parenthesis, a square bracket or a
    string it opened (a brace opens a block: its lines are indented by levels)."""
    found = list(tokens(text, language_id))
    inside: set[int] = set()
    offset = 0
    for index, line in enumerate(text.split("\n")):
        if index and _open_at(found, offset):
            inside.add(index)
        offset += len(line) + 1
    return inside


def _open_at(found: list[Token], offset: int) -> bool:
    depth = 0
    for token in found:
        if token.start >= offset:
            break
        if token.kind == "bracket" and token.text not in "{}":
            depth = depth + 1 if token.text in OPENERS else max(depth - 1, 0)
        elif token.start + len(token.text) > offset:
            return True  # a string or comment runs over the line start
    return depth > 0
