"""Structural checks of what a real editor saved after accepting a real model's suggestion.

The model's exact words vary; these say whether the text is well formed: brackets balanced on
a line, indentation in the file's style, every line break the document's own. Each returns
the faults it found (an empty list when there are none), so a failing assertion shows them.
"""

from __future__ import annotations

import re

_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {closer: opener for opener, closer in _OPENERS.items()}
_STRING = re.compile(r"'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"")


def bracket_faults(line: str) -> list[str]:
    """The bracket faults of one line of code (string literals and a ``#`` comment ignored):
    a closer without its opener (``foo(bar):)``), a mismatched pair, an opener left open."""
    code = _STRING.sub('""', line).split("#", 1)[0]
    faults: list[str] = []
    open_brackets: list[tuple[str, int]] = []
    for column, char in enumerate(code):
        if char in _OPENERS:
            open_brackets.append((char, column))
        elif char in _CLOSERS:
            if not open_brackets:
                faults.append(f"{char!r} at column {column} closes nothing")
            elif open_brackets[-1][0] != _CLOSERS[char]:
                opener, at = open_brackets.pop()
                faults.append(f"{char!r} at column {column} closes {opener!r} of column {at}")
            else:
                open_brackets.pop()
    faults.extend(f"{opener!r} at column {at} is not closed" for opener, at in open_brackets)
    return faults


def indentation_faults(text: str, unit: str) -> list[str]:
    """Lines whose indentation is not made of ``unit`` (``"\\t"``, or a number of spaces)
    alone: a space in a tab file, a tab or an odd width in a space file. Blank lines count
    as fine."""
    faults: list[str] = []
    for number, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if indent.replace(unit, ""):
            faults.append(f"line {number}: indented with {indent!r}: {line!r}")
    return faults


def line_break_faults(data: bytes) -> list[str]:
    """Where ``data`` breaks a line with anything but ``\\r\\n``: a lone ``\\n``, a lone
    ``\\r`` (so also ``\\r\\r\\n``), with the line number (0-based) of each."""
    faults: list[str] = []
    for number, line in enumerate(data.split(b"\r\n")):
        if b"\n" in line:
            faults.append(f"line {number}: a lone \\n in {line!r}")
        if b"\r" in line:
            faults.append(f"line {number}: a lone \\r in {line!r}")
    return faults
