"""Indentation: its width, and the doubled indent the small models write after a blank prefix."""

from __future__ import annotations

from loomline.completion.cleanup.answer import Answer
from loomline.completion.cursor import Cursor

TAB_STOP = 4


def indent_width(line: str) -> int:
    """Columns of ``line``'s leading blanks; a tab goes on to the next multiple of 4."""
    width = 0
    for ch in line:
        if ch == " ":
            width += 1
        elif ch == "\t":
            width += TAB_STOP - width % TAB_STOP
        else:
            break
    return width


def leading_blanks(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def may_open_block(line: str) -> bool:
    """Whether ``line`` ends the way block headers do in some language (`:`, `{`, `(`, `[`,
    `=>`), so the next line may be one level deeper."""
    stripped = line.rstrip()
    return bool(stripped) and (stripped[-1] in ":{([" or stripped.endswith("=>"))


def block_floor(cursor: Cursor) -> int:
    """Lines indented less than this (in columns) have left the block the cursor is in."""
    current = indent_width(cursor.line_prefix)
    if cursor.line_prefix.strip() and may_open_block(cursor.line_prefix):
        return current + 1  # the cursor opened a block: its body is deeper
    return current


def deepest_plausible_indent(cursor: Cursor) -> int:
    """The deepest indentation (in columns) the cursor's line can have: one level into a
    block the line above opens, else that line's, or the next code line's if it is deeper."""
    above = cursor.line_above
    width = indent_width(above)
    if may_open_block(above):
        width = indent_width(leading_blanks(above) + cursor.indent_unit)
    return max(width, indent_width(cursor.next_code_line()))


def fix_doubled_indent(answer: Answer, cursor: Cursor) -> Answer:
    """After a whitespace-only line prefix the small model may indent once more.

    Whitespace that only completes the indentation the user is typing (four of eight
    spaces so far) is kept: dropping it would contradict the user's next keystrokes.
    """
    text, base = answer.text, cursor.line_prefix
    if not base or base.strip():
        return answer
    first, sep, rest = text.partition("\n")
    extra = leading_blanks(first)
    if not extra or not first.strip():
        return answer
    deepest = deepest_plausible_indent(cursor)
    if indent_width(base + extra) <= deepest:
        return answer
    # The model wrote the line's whole indentation again: keep what goes beyond the prefix
    # if that is plausible; else it went too deep: keep what still fits (the prefix may be
    # short of the block's indentation, which the extra then completes).
    beyond = len(extra) > len(base) and indent_width(extra) <= deepest
    cut = len(base) if beyond else _first_cut_that_fits(base, extra, deepest)
    lines = rest.split("\n") if sep else []
    # If the following lines carry the same extra indent, the whole block was shifted.
    shifted = all(not line.strip() or line.startswith(base + extra) for line in lines)
    fixed_rest = [line[cut:] if shifted and line.strip() else line for line in lines]
    return answer.with_text("\n".join([first[cut:], *fixed_rest]) if sep else first[cut:])


def _first_cut_that_fits(base: str, extra: str, deepest: int) -> int:
    """How much of ``extra`` to drop so that ``base`` + the rest is at most ``deepest`` deep
    (all of it when the user's own indentation is already deeper than that)."""
    return next(
        (cut for cut in range(len(extra) + 1) if indent_width(base + extra[cut:]) <= deepest),
        len(extra),
    )
