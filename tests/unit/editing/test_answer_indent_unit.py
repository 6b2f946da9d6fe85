"""An answer written in 4-space levels, in a 2-space file, at depth 1 or 2: re-indented to the
file's levels, whatever blanks its first line carries (none, the rest of the user's
indentation in its own unit, or the whole line's again); never cut, never mixed; in every
language and line ending."""

from __future__ import annotations

import pytest

from loomline.completion.service import Completion
from loomline.context.parse_errors import adds_parse_errors
from tests.unit.editing.harness import CURSOR, ENDINGS, complete_marked

# (language, the lines around the body (2-space file; {body} at depth `depth`), depth,
#  the answer's lines as (level below the cursor's, text))
Body = list[tuple[int, str]]
C_LIKE: Body = [(0, "if (x > 1) {"), (1, "return 1;"), (0, "}"), (0, "return 2;")]
LANGUAGES = [
    ("python", "def f(x):\n  y = 0\n{body}\n", 1,
     [(0, "if x > 1:"), (1, "return 1"), (0, "return 2")]),
    ("python", "class A:\n  def f(self, x):\n    y = 0\n{body}\n", 2,
     [(0, "for i in x:"), (1, "if i:"), (2, "return i"), (0, "return 0")]),
    ("javascript", "function f(x) {\n  let y = 0;\n{body}\n}\n", 1, C_LIKE),
    ("typescript", "class A {\n  f(x: number): number {\n    let y = 0;\n{body}\n  }\n}\n", 2,
     C_LIKE),
    ("go", "func f(x int) int {\n  y := 0\n{body}\n}\n", 1,
     [(0, "if x > y {"), (1, "return 1"), (0, "}"), (0, "return 2")]),
    ("rust", "fn f(x: i32) -> i32 {\n  let y = 0;\n{body}\n}\n", 1,
     [(0, "if x > y {"), (1, "return 1;"), (0, "}"), (0, "2")]),
    ("java", "class A {\n  int f(int x) {\n    int y = 0;\n{body}\n  }\n}\n", 2, C_LIKE),
    ("c", "int f(int x) {\n  int y = 0;\n{body}\n}\n", 1, C_LIKE),
    ("cpp", "namespace n {\n  int f(int x) {\n    int y = 0;\n{body}\n  }\n}\n", 2, C_LIKE),
]
CASES = [
    pytest.param(language, template, depth, body, first, id=f"{language}-{depth}-{first}")
    for language, template, depth, body in LANGUAGES
    for first in ("none", "completed", "whole")
]


@pytest.mark.parametrize("ending", list(ENDINGS))
@pytest.mark.parametrize(("language_id", "template", "depth", "body", "first"), CASES)
async def test_a_4_space_answer_takes_the_2_space_files_levels(
    language_id: str, template: str, depth: int, body: Body, first: str, ending: str
) -> None:
    typed = "  " * depth  # the user's blanks before the cursor
    own = {"none": "", "completed": "    " * depth, "whole": "    " * depth}[first]
    if first == "completed":
        own = own[len(typed):]  # the model went on from the user's blanks in its own unit
    answer = "\n".join(
        (own if index == 0 else "    " * (depth + level)) + text
        for index, (level, text) in enumerate(body)
    )
    marked = template.replace("{body}", typed + CURSOR)
    result, applied = await complete_marked(language_id, marked, answer, ending=ending,
                                            multiline="always")
    assert isinstance(result, Completion), result
    expected = "\n".join("  " * (depth + level) + text for level, text in body)
    assert applied == template.replace("{body}", expected)
    assert not adds_parse_errors(language_id, "", applied, "")
