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
    unit = next((width for width in dict.fromkeys(candidates)
                 if _plausible(lines, counted, continuation, width, cursor)), None)
    if unit is None or (not file_tabs and unit == file_width and not any(
            tabs for tabs, _spaces in counted)):
        return answer
    fixed = [_reindented(line, tabs, spaces, unit, cursor.indent_unit)
             for line, (tabs, spaces) in zip(lines, counted, strict=True)]
    if cursor.line_prefix.strip():
        fixed[0] = lines[0]  # the first line goes on after code: its blanks are not indentation
    return answer.with_text("\n".join(fixed))


def _tabs_then_spaces(blanks: str) -> tuple[int, int] | None:
    """(tabs, spaces) of leading blanks written as tabs then spaces; None otherwise."""
    tabs = len(blanks) - len(blanks.lstrip("\t"))
    rest = blanks[tabs:]
    return None if "\t" in rest else (tabs, len(rest))


def _depth(tabs: int, spaces: int, unit: int) -> int | None:
    return tabs + spaces // unit if spaces % unit == 0 else None


def _plausible(lines: list[str], counted: list[tuple[int, int]], continuation: set[int],
               unit: int, cursor: Cursor) -> bool:
    """Whether, read with ``unit`` spaces a level, each line of the answer (but the first)
    is at most one level deeper than the one before it, and deeper only after a block opens."""
    prefix = cursor.line_prefix
    prefix_tabs, prefix_spaces = _tabs_then_spaces(leading_blanks(prefix)) or (0, 0)
    file_width = 4 if cursor.indent_unit == "\t" else len(cursor.indent_unit)
    previous_depth = prefix_tabs + prefix_spaces // file_width
    if not prefix.strip() and any(counted[0]):
        own = _depth(*counted[0], unit)
        first = _first_line_depth(previous_depth, own,
                                  deepest_plausible_indent(cursor) // file_width)
        # Spaces read as other spaces: the first line must fit the block (a 4-space file
        # whose answer steps in by 2 has a mixed style of its own, not a 2-space one).
        if first is None and (cursor.indent_unit != "\t" and unit != file_width):
            return False
        previous_depth = first if first is not None else previous_depth + (own or 0)
    previous_line = prefix + lines[0]
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


def _first_line_depth(prefix_depth: int, own: int | None, deepest: int) -> int | None:
    """The first line's depth: its own blanks after the user's, or (the model wrote the
    line's whole indentation again) its own alone; None if neither fits the block."""
    if own is None:
        return None
    return next((depth for depth in (prefix_depth + own, own) if depth <= deepest), None)


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
