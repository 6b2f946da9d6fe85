"""The next edit without the model, for the commonest case: the user renamed a name on one
line, and its next use in the same scope still has the old name.

A cheap heuristic over identifiers (a regular expression, the scope read from the
indentation): when the last edit turned exactly one identifier of one line into another, the
next whole-word use of the old name below it, while the indentation stays inside the line's
block, is the next edit.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from loomline.completion.next_edit.postprocess import SuggestedEdit
from loomline.completion.next_edit.window import EditWindow
from loomline.context.edit_history import Hunk

_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")
_BLOCK_OPENERS = (":", "{", "(", "=>", "then", "do")


def renamed_identifier(hunk: Hunk) -> tuple[str, str, int] | None:
    """``(old, new, column)`` when the hunk changed exactly one identifier of one line into
    another (and nothing else), with the column after the new name; else None."""
    if len(hunk.old_lines) != 1 or len(hunk.new_lines) != 1:
        return None
    old_line, new_line = hunk.old_lines[0], hunk.new_lines[0]
    old_tokens = [m.group() for m in _IDENTIFIER.finditer(old_line)]
    new_matches = list(_IDENTIFIER.finditer(new_line))
    new_tokens = [m.group() for m in new_matches]
    # The same identifiers in the same places but one.
    if len(old_tokens) != len(new_tokens):
        return None
    differ = [i for i, (a, b) in enumerate(zip(old_tokens, new_tokens, strict=True)) if a != b]
    if len(differ) != 1:
        return None
    (index,) = differ
    # Only identifiers changed: the lines agree around them.
    if _IDENTIFIER.sub("", old_line) != _IDENTIFIER.sub("", new_line):
        return None
    return old_tokens[index], new_tokens[index], new_matches[index].end()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _scope_end(lines: list[str], line: int) -> int:
    """The line after the block ``line`` opens (a header such as ``def f(x):``: the lines
    indented deeper, and a closing bracket at its own indentation) or belongs to (the lines
    indented at least as deep), read from indentation."""
    head = lines[line]
    indent = _indent(head)
    opens = head.rstrip().endswith(_BLOCK_OPENERS)
    for number in range(line + 1, len(lines)):
        text = lines[number]
        if not text.strip() or _indent(text) > indent:
            continue
        if _indent(text) < indent:
            return number
        if opens:  # back at the header's level: the block ended (with its closer, if any)
            return number + 1 if text.lstrip().startswith((")", "}", "]")) else number
    return len(lines)


def last_change_in(
    text: str, hunk: Hunk, read: Callable[[Hunk], tuple[str, str, int] | None]
) -> tuple[list[str], tuple[str, str, int]] | None:
    """The lines of ``text`` (``\\n`` line breaks) and what ``read`` makes of ``hunk``
    (``(old, new, column)``: see ``renamed_identifier``), when it makes something of it and
    the hunk's line still reads as the hunk left it; else None."""
    change = read(hunk)
    if change is None:
        return None
    lines = text.split("\n")
    if hunk.start_line >= len(lines) or lines[hunk.start_line] != hunk.new_lines[0]:
        return None
    return lines, change


def next_use_of_rename(
    text: str, hunk: Hunk | None, window: EditWindow | None = None
) -> SuggestedEdit | None:
    """The edit renaming the next use of the name ``hunk`` renamed, in ``text`` (``\\n``
    line breaks), or None when the hunk was no rename or no use is left in its scope."""
    found_change = last_change_in(text, hunk, renamed_identifier) if hunk is not None else None
    if hunk is None or found_change is None:
        return None
    lines, (old, new, column) = found_change
    pattern = re.compile(rf"(?<![\w$]){re.escape(old)}(?![\w$])")
    # The rest of the renamed line first, then the lines of its scope below.
    for number in range(hunk.start_line, _scope_end(lines, hunk.start_line)):
        found = pattern.search(lines[number], column if number == hunk.start_line else 0)
        if found is not None:
            return SuggestedEdit(
                start=(number, found.start()),
                end=(number, found.end()),
                text=new,
                window_lines=(),
            )
    return None
