"""Everyday editing with the real model, shared by the Neovim and the VS Code tests: the files,
where the cursor is, and what the saved file must satisfy after the suggestion is accepted.

The model's exact words vary, so each check is structural: brackets balanced (no doubled
closer), indentation in the file's style, every line break the file's own, the file compiles.
The prompts are ones the 0.5B model answers reliably: a docstring and a clear body to write.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from tests.editors.text_checks import bracket_faults, indentation_faults, line_break_faults

# The completion settings of these tests: a few lines' worth of tokens, and deadlines that
# leave room for a shared 2-core machine (a 26-token body took 64 s there under load).
EDITING_COMPLETION = {
    "maxTokens": 48,
    "singleLineMaxTokens": 32,
    "deadlineMs": 120_000,
    "explicitDeadlineMs": 180_000,
}


# Next edits, shared by the Neovim and the VS Code tests: the user renames the parameter ``r``
# (line 0, column 9) to ``radius``; the next edit renames its uses on line 1. The scripted
# engine answers with the rewritten window (here the whole file) as the default next-edit
# format (qwen-chat) writes it: the window's lines, then the fence's end.
NEXT_EDIT_SOURCE = 'def area(r):\n    return "area: " + str(3.14 * r * r)\n\n\nprint(area(2))\n'
NEXT_EDIT_RENAMED = NEXT_EDIT_SOURCE.replace("(r)", "(radius)")
NEXT_EDIT_REWRITTEN = NEXT_EDIT_RENAMED.replace("* r * r", "* radius * radius")
NEXT_EDIT_FAKE_ANSWER = NEXT_EDIT_REWRITTEN + "\n```"
# A rename the 0.5B model gets (the area case of tests/bench/bench_next_edit_renames.py).
NEXT_EDIT_MODEL_SOURCE = "def area(r):\n    return 3.14 * r * r\n\n\nprint(area(2))\n"
# A next edit of several lines that starts inside a line (column 4 of the function's body):
# after the same rename, the scripted answer adds a check before the return. The server sends
# it as the smallest change, from column 4 of line 1; what the preview must show is the lines
# as they will read once accepted, indentation included.
NEXT_EDIT_BLOCK_SOURCE = NEXT_EDIT_MODEL_SOURCE
NEXT_EDIT_BLOCK_LINES = [
    "    if radius < 0:",
    "        raise ValueError(radius)",
    "    return 3.14 * radius * radius",
]
NEXT_EDIT_BLOCK_REWRITTEN = NEXT_EDIT_BLOCK_SOURCE.replace("(r)", "(radius)").replace(
    "    return 3.14 * r * r", "\n".join(NEXT_EDIT_BLOCK_LINES))
NEXT_EDIT_BLOCK_FAKE_ANSWER = NEXT_EDIT_BLOCK_REWRITTEN + "\n```"
# A next edit that inserts a whole line: the server's edit is empty at the start of the line
# below it and ends with a line break; the preview stands above that line.
NEXT_EDIT_LINE_INSERTED = "assert area(1) > 0"
NEXT_EDIT_LINE_REWRITTEN = NEXT_EDIT_BLOCK_SOURCE.replace("(r)", "(radius)").replace(
    "print(", NEXT_EDIT_LINE_INSERTED + "\nprint(")
NEXT_EDIT_LINE_FAKE_ANSWER = NEXT_EDIT_LINE_REWRITTEN + "\n```"
# A next edit that breaks a line in two inside it: the preview's lines take the text before
# the edit on its first line and after it on its last.
NEXT_EDIT_SPLIT_LINES = ["print(", "    area(2))"]
NEXT_EDIT_SPLIT_REWRITTEN = NEXT_EDIT_BLOCK_SOURCE.replace("(r)", "(radius)").replace(
    "print(area(2))", "\n".join(NEXT_EDIT_SPLIT_LINES))
NEXT_EDIT_SPLIT_FAKE_ANSWER = NEXT_EDIT_SPLIT_REWRITTEN + "\n```"


@dataclass(frozen=True)
class Scenario:
    """``source`` (exact, CRLF kept) saved as ``name``; the cursor on ``line`` (0-based) at
    its end less ``before_end`` characters. ``closer`` is the auto-closed bracket pair before
    the cursor, which an editor that auto-closes writes itself when the user types its
    opener (the file then holds the line without it)."""

    name: str
    source: str
    line: int
    before_end: int = 0
    closer: str = ""

    @property
    def character(self) -> int:
        return len(self.source.splitlines()[self.line]) - self.before_end

    @property
    def untyped_source(self) -> str:
        """The source before the user typed the opener of ``closer``."""
        lines = self.source.splitlines(keepends=True)
        text = lines[self.line]
        body = text.rstrip("\r\n")
        assert self.closer and body.endswith(self.closer), (self.closer, body)
        lines[self.line] = body.removesuffix(self.closer) + text[len(body) :]
        return "".join(lines)


# The editor auto-closed the bracket the user typed: the cursor sits before its ")", in a call
# (the file parses whatever the arguments) and in a def (whose ":" the user has yet to type).
CALL = Scenario(
    name="area.py",
    source=(
        "import math\n\n\n"
        "def circle_area(radius):\n"
        '    """Return the area of a circle with the given radius."""\n'
        "    return math.pi * math.pow()\n\n\n"
        "print(circle_area(2.0))\n"
    ),
    line=5,
    before_end=1,
    closer="()",
)
DEF = Scenario(
    name="greet.py",
    source=(
        "def greet()\n"
        '    """Return a greeting for the person called name, e.g. Hello, Ada!"""\n'
        '    return f"Hello, {name}!"\n\n\n'
        'print(greet("Ada"))\n'
    ),
    line=0,
    before_end=1,
    closer="()",
)
# A file indented with tabs; the cursor on an empty, tab-indented line in a block.
TABS = Scenario(
    name="words.py",
    source=(
        "def count_words(path):\n"
        '\t"""Count how often each word occurs in the text file at path: a dict word -> count."""\n'
        "\tcounts = {}\n"
        "\twith open(path) as f:\n"
        "\t\t\n"
        "\treturn counts\n"
    ),
    line=4,
)
# A file with CRLF line breaks; the cursor on an empty line of a function whose body needs a
# loop (a multi-line answer).
CRLF = Scenario(
    name="vowels.py",
    source=(
        "def count_vowels(text):\r\n"
        '    """Return how many vowels (a, e, i, o, u) text contains, in either case."""\r\n'
        "    count = 0\r\n"
        "    \r\n"
        "    return count\r\n"
    ),
    line=3,
)
BRACKETS = {"call": CALL, "def": DEF}


def check_brackets(scenario: Scenario, saved: bytes) -> None:
    """The cursor's line got the answer, with its brackets balanced (no ``):)``), the lines
    below it untouched, and the file parses (a def's ``:`` added when the answer left it to
    the user)."""
    text = saved.decode()
    line = text.splitlines()[scenario.line]
    before = scenario.source.splitlines()[scenario.line]
    assert line != before, f"nothing was inserted: {line!r}"
    assert line.startswith(before[: scenario.character]), (
        f"text before the cursor changed: {line!r}"
    )
    assert bracket_faults(line) == [], (bracket_faults(line), line)
    assert "):)" not in line, line
    below = scenario.source.splitlines()[scenario.line + 1 :]
    assert text.splitlines()[scenario.line + 1 :] == below, text
    if line.lstrip().startswith("def ") and not line.endswith(":"):
        text = text.replace(line, line + ":", 1)
    ast.parse(text)


def check_tabs(scenario: Scenario, saved: bytes) -> None:
    """Something was inserted, every line is indented with tabs alone, and the file compiles
    (no TabError); the line after the cursor's is still the file's last."""
    text = saved.decode()
    assert text != scenario.source, "nothing was inserted"
    assert indentation_faults(text, "\t") == [], (indentation_faults(text, "\t"), text)
    compile(text, scenario.name, "exec")
    assert text.endswith(scenario.source.splitlines(keepends=True)[-1]), text


def check_crlf(scenario: Scenario, saved: bytes) -> None:
    """Lines were inserted, every line break of the saved file is CRLF (no lone LF, no
    CR CR LF), the file's end is untouched, and it compiles."""
    added = len(saved.splitlines()) - len(scenario.source.splitlines())
    assert added > 0, f"no line was added: {saved!r}"
    assert line_break_faults(saved) == [], (line_break_faults(saved), saved)
    assert saved.endswith(scenario.source.splitlines(keepends=True)[-1].encode()), saved
    compile(saved, scenario.name, "exec")
