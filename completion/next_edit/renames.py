"""The next edit without the model, for the commonest case: the user renamed a name on one
line, and its next use in the same scope still has the old name.

When the last edit's changes all turned one identifier into another, the next use of the old
name after it, in the renamed declaration's scope, is the next edit. Uses come from the syntax
tree where the language has a grammar (``identifier_uses``); otherwise a cheap text rule: the
next whole-word occurrence while the indentation stays inside the renamed line's block.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from loomline.completion.next_edit.identifier_uses import SourceTree, uses_after_rename
from loomline.completion.next_edit.postprocess import SuggestedEdit
from loomline.completion.next_edit.window import EditWindow
from loomline.context.edit_history import Hunk

_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")
_BLOCK_OPENERS = (":", "{", "(", "=>", "then", "do")


@dataclass(frozen=True, slots=True)
class HunkRename:
    """A hunk whose every change turned the identifier ``old`` into ``new``: where the first
    new name stands (``(line, start column, end column)``, the line in the document) and the
    position after the last one (``(line, column)``)."""

    old: str
    new: str
    first: tuple[int, int, int]
    after: tuple[int, int]


def rename_in_hunk(hunk: Hunk) -> HunkRename | None:
    """The rename ``hunk`` made, when all its changes replace one identifier by another (an
    accepted edit merged with the rename into one hunk included); else None."""
    if len(hunk.old_lines) != len(hunk.new_lines):
        return None
    pair: tuple[str, str] | None = None
    spots: list[tuple[int, int, int]] = []
    for offset, (old_line, new_line) in enumerate(zip(hunk.old_lines, hunk.new_lines,
                                                      strict=True)):
        if old_line == new_line:
            continue
        old_tokens = [m.group() for m in _IDENTIFIER.finditer(old_line)]
        new_matches = list(_IDENTIFIER.finditer(new_line))
        # The same identifiers in the same places, the lines agreeing around them.
        if len(old_tokens) != len(new_matches) or (
                _IDENTIFIER.sub("", old_line) != _IDENTIFIER.sub("", new_line)):
            return None
        for old, match in zip(old_tokens, new_matches, strict=True):
            if old == match.group():
                continue
            if pair not in (None, (old, match.group())):
                return None
            pair = old, match.group()
            spots.append((hunk.start_line + offset, match.start(), match.end()))
    if pair is None:
        return None
    last_line, _, last_end = spots[-1]
    return HunkRename(pair[0], pair[1], spots[0], (last_line, last_end))


def renamed_identifier(hunk: Hunk) -> tuple[str, str, int] | None:
    """``(old, new, column)`` when the hunk's changes all turned one identifier into another
    (and nothing else), with the column after the last new name; else None."""
    found = rename_in_hunk(hunk)
    return None if found is None else (found.old, found.new, found.after[1])


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
    text: str, hunk: Hunk | None, window: EditWindow | None = None,
    language_id: str | None = None,
) -> SuggestedEdit | None:
    """The edit renaming the next use of the name ``hunk`` renamed, in ``text`` (``\\n``
    line breaks), or None when the hunk was no rename or no use is left in its scope.

    With a grammar for ``language_id`` the uses are read from the syntax tree
    (``identifier_uses``); without one, from the text and its indentation."""
    rename = rename_in_hunk(hunk) if hunk is not None else None
    lines = text.split("\n")
    if hunk is None or rename is None or tuple(
            lines[hunk.start_line:hunk.start_line + len(hunk.new_lines)]) != hunk.new_lines:
        return None
    source = SourceTree.parse(text, language_id)
    if source is not None:
        renamed = source.identifier_at(*rename.first)
        if renamed is None:
            return None  # the change was inside a string or a comment: no rename
        uses = uses_after_rename(source, renamed, rename.old, rename.after)
        found_use = uses[0] if uses else None
    else:
        found_use = _next_use_in_text(lines, rename)
    if found_use is None:
        return None
    line, start, end = found_use
    return SuggestedEdit(start=(line, start), end=(line, end), text=rename.new,
                         window_lines=())


def _next_use_in_text(lines: list[str], rename: HunkRename) -> tuple[int, int, int] | None:
    """The next whole-word ``rename.old`` after the rename, in the first new name's scope as
    the indentation tells it."""
    pattern = re.compile(rf"(?<![\w$]){re.escape(rename.old)}(?![\w$])")
    after_line, after_column = rename.after
    for number in range(after_line, _scope_end(lines, rename.first[0])):
        found = pattern.search(lines[number], after_column if number == after_line else 0)
        if found is not None:
            return number, found.start(), found.end()
    return None
