"""Turning what the model wrote into what the editor should insert.

``process`` is a pure function of the raw text so far; it also says whether the completion is
finished (a cut was made that more tokens cannot undo), which lets the stream stop early.
The syntax-aware steps (block end from the tree, parse-error checks) live in
``loomline.context`` and are applied by the service when a grammar is at hand.
"""

from __future__ import annotations

from dataclasses import dataclass

CLOSERS = ")]}"
OPENERS = "([{"
MAX_LINES = 40


@dataclass(frozen=True, slots=True)
class CursorInfo:
    line_prefix: str  # the cursor line before the cursor
    line_suffix: str  # the cursor line after the cursor
    suffix: str  # everything after the cursor (a window of it)
    multiline: bool
    indent_unit: str = "    "
    line_above: str = ""  # the nearest non-blank line above the cursor's line


@dataclass(frozen=True, slots=True)
class Processed:
    text: str
    finished: bool


def indent_width(line: str) -> int:
    return (
        len(line)
        - len(line.lstrip(" \t"))
        + line[: len(line) - len(line.lstrip(" \t"))].count("\t") * 3
    )


def block_indent(info: CursorInfo) -> int:
    """Lines indented less than this have left the block the cursor is in."""
    if not info.line_prefix.strip():
        return indent_width(info.line_prefix)
    current = indent_width(info.line_prefix)
    if opens_block(info.line_prefix):
        return current + 1  # the cursor opened a block: its body is deeper
    return current


def cut_at_stops(text: str, stops: tuple[str, ...]) -> tuple[str, bool]:
    cut = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def opens_block(line: str) -> bool:
    stripped = line.rstrip()
    return bool(stripped) and (stripped[-1] in ":{([" or stripped.endswith("=>"))


def deepest_plausible_indent(info: CursorInfo) -> int:
    """The deepest indentation the cursor's line can have: one level into a block the line
    above opens, else that line's, or the next code line's if it is deeper."""
    above = info.line_above
    width = indent_width(above) + (len(info.indent_unit) if opens_block(above) else 0)
    return max(width, indent_width(next_code_line(info)))


def fix_doubled_indent(text: str, info: CursorInfo) -> str:
    """After a whitespace-only line prefix the small model may indent once more.

    Whitespace that only completes the indentation the user is typing (four of eight
    spaces so far) is kept: dropping it would contradict the user's next keystrokes.
    """
    if not info.line_prefix or info.line_prefix.strip():
        return text
    first, sep, rest = text.partition("\n")
    extra = first[: len(first) - len(first.lstrip(" \t"))]
    if not extra or not first.strip():
        return text
    deepest = deepest_plausible_indent(info)
    if indent_width(info.line_prefix + extra) <= deepest:
        return text
    # The model wrote the line's whole indentation again: keep what goes beyond the prefix
    # if that is plausible, else all of it was one indent too many.
    base = info.line_prefix
    beyond = len(extra) > len(base) and indent_width(extra) <= deepest
    cut = len(base) if beyond else len(extra)
    lines = rest.split("\n") if sep else []
    # If the following lines carry the same extra indent, the whole block was shifted.
    shifted = all(not line.strip() or line.startswith(base + extra) for line in lines)
    fixed_rest = [line[cut:] if shifted and line.strip() else line for line in lines]
    return "\n".join([first[cut:], *fixed_rest]) if sep else first[cut:]


def next_code_line(info: CursorInfo) -> str:
    """The first non-blank line after the cursor's line (as written, indentation included)."""
    return next((line for line in info.suffix.split("\n")[1:] if line.strip()), "")


def process(
    raw: str, info: CursorInfo, stops: tuple[str, ...] = (), *, final: bool = False
) -> Processed:
    """Clean ``raw``; ``final`` says the model has stopped, so every line is complete."""
    text, finished = cut_at_stops(raw, stops)
    finished = finished or final
    text = fix_doubled_indent(text, info)
    lines = text.split("\n")
    # An instruct model may fall into chat mode and open a Markdown fence: code ends there.
    fence = next((i for i, line in enumerate(lines) if line.lstrip().startswith("```")), None)
    if fence is not None:
        lines, finished = lines[:fence], True
    complete = len(lines) - 1  # the last line may still grow

    if not info.multiline:
        # Single line: up to the end of the cursor's line (a leading newline means nothing).
        if complete >= 1:
            lines, finished = lines[:1], True
    else:
        limit = block_indent(info)
        if not info.line_prefix.strip():
            # The first line may complete the indentation the user was typing.
            limit = max(limit, indent_width(info.line_prefix + (lines[0] if lines else "")))
        next_suffix_line = next_code_line(info).strip()
        for index in range(1, len(lines)):
            line = lines[index]
            if not line.strip():
                continue
            is_complete = index < complete or finished
            dedented = indent_width(line) < limit
            repeats_suffix = bool(next_suffix_line) and line.strip() == next_suffix_line
            if (dedented and (is_complete or len(line.strip()) >= 1)) or (
                repeats_suffix and is_complete
            ):
                lines, finished = lines[:index], True
                break
            if index >= MAX_LINES:
                lines, finished = lines[:index], True
                break

    text = "\n".join(lines)
    text = _drop_repeats(text, info)
    text = _trim_line_suffix_overlap(text, info)
    if finished or not info.multiline:
        text = text.rstrip()
    if not text.strip():
        return Processed("", finished)
    return Processed(text, finished)


def _drop_repeats(text: str, info: CursorInfo) -> str:
    """Cut a block of lines the model started to write a second time in a row."""
    lines = text.split("\n")
    # Compare whole lines: the first one starts after the text before the cursor.
    lines_seen = [info.line_prefix + lines[0], *lines[1:]]
    for size in range(1, 6):
        for start in range(0, len(lines) - 2 * size + 1):
            block = lines_seen[start : start + size]
            if not any(len(line.strip()) > 3 for line in block):
                continue
            if lines_seen[start + size : start + 2 * size] == block:
                return "\n".join(lines[: start + size])
    return text


def _trim_line_suffix_overlap(text: str, info: CursorInfo) -> str:
    """Drop closing characters the rest of the cursor line already has."""
    tail = info.line_suffix.strip()
    if not tail or not text:
        return text
    if text.rstrip().endswith(tail):
        return text.rstrip()[: -len(tail)].rstrip() if "\n" in text else text.rstrip()[: -len(tail)]
    # Only closers in the suffix: remove the same closers the completion ends with.
    if all(ch in CLOSERS + ";:, " for ch in tail):
        stripped = text.rstrip()
        trimmed = stripped
        for ch in reversed(tail.replace(" ", "")):
            if trimmed.endswith(ch):
                trimmed = trimmed[:-1]
            else:
                break
        return trimmed
    return text


def is_useful(text: str) -> bool:
    return bool(text.strip())
