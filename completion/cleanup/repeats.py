"""Repetition: a model that loses its way writes the same lines again and again."""

from __future__ import annotations

import re

from loomline.completion.cleanup.answer import Answer
from loomline.completion.cursor import Cursor

# Lines of brackets and punctuation only: closing a nest repeats them legitimately.
TRIVIAL_LINE = re.compile(r"^[\s()\[\]{};,]*$")


def cut_second_copy(answer: Answer, cursor: Cursor) -> Answer:
    """Cut a block of up to 5 lines the model started to write a second time in a row."""
    lines = answer.text.split("\n")
    # Compare whole lines: the first one starts after the text before the cursor.
    lines_seen = [cursor.line_prefix + lines[0], *lines[1:]]
    for size in range(1, 6):
        for start in range(0, len(lines) - 2 * size + 1):
            block = lines_seen[start : start + size]
            if not any(len(line.strip()) > 3 for line in block):
                continue
            if lines_seen[start + size : start + 2 * size] == block:
                return answer.with_text("\n".join(lines[: start + size]))
    return answer


def drop_repeated_lines(candidate: str, min_repeats: int = 3, max_unit: int = 8) -> str:
    """Keep one copy of a block of lines the model repeats over and over.

    A single line must repeat ``min_repeats`` times in a row, a block of two or more lines
    twice; lines made only of brackets and punctuation never count as repetition.
    """
    lines = candidate.split("\n")
    keys = [line.strip() for line in lines]  # the first line lacks the cursor line's indent
    for start in range(len(lines)):
        for unit in range(1, max_unit + 1):
            block = keys[start : start + unit]
            if len(block) < unit or all(TRIVIAL_LINE.match(line) for line in block):
                continue
            needed = min_repeats if unit == 1 else 2
            copies = 1
            while keys[start + copies * unit : start + (copies + 1) * unit] == block:
                copies += 1
            if copies >= needed:
                return "\n".join(lines[: start + unit])
    return candidate


def drop_repeats(candidate: str, cursor: Cursor) -> str:
    """``drop_repeated_lines`` as a finished-answer filter."""
    return drop_repeated_lines(candidate)
