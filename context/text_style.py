"""How a text is written: its line ending and its indentation step, judged from a sample."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Literal

LineEnding = Literal["\n", "\r\n", "\r"]

# How much of a document the style is judged from: enough for any real file's habit, bounded
# so that judging a huge document costs no more than judging a big one.
SAMPLE_CHARS = 64_000
DEFAULT_INDENT = "    "


def line_ending_of(text: str, prefer: LineEnding | None = None) -> LineEnding | None:
    """The line ending most used in the head of ``text`` (ties: ``prefer``, the ending the
    text had so far, then ``\\n``, then ``\\r\\n``); ``None`` when it has no line break yet."""
    sample = text[:SAMPLE_CHARS]
    crlf = sample.count("\r\n")
    counts: dict[LineEnding, int] = {
        "\n": sample.count("\n") - crlf,
        "\r\n": crlf,
        "\r": sample.count("\r") - crlf,
    }
    best = max(counts, key=lambda ending: counts[ending])
    if prefer is not None and counts[prefer] == counts[best]:
        best = prefer
    return best if counts[best] else None


def indent_unit(lines: Iterable[str]) -> str | None:
    """The indentation step of ``lines``: ``"\\t"`` or 2, 3, 4 or 8 spaces; ``None`` when no
    line is indented.

    Tabs win when more lines start with a tab than with a space; otherwise the step is the
    most common increase of indentation from one non-blank line to the next.
    """
    tabs = spaces = 0
    deltas: Counter[int] = Counter()
    previous = 0
    for line in lines:
        if line.startswith("\t"):
            tabs += 1
        elif line.startswith(" "):
            spaces += 1
        if not line.strip():
            continue
        width = len(line) - len(line.lstrip(" "))
        if width > previous:
            deltas[width - previous] += 1
        previous = width
    if tabs > spaces:
        return "\t"
    common = [d for d, _ in deltas.most_common(3) if d in (2, 3, 4, 8)]
    if common:
        return " " * common[0]
    return DEFAULT_INDENT if spaces else None


def document_indent_unit(text: str) -> str | None:
    """The indentation step of a document, judged from its head (see ``indent_unit``)."""
    sample = text[:SAMPLE_CHARS]
    lines = sample.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if len(sample) < len(text):
        lines.pop()  # cut in the middle
    return indent_unit(lines)
