"""A single-line request whose answer goes on over more lines (a condition split over two)
is never cut to a first line that leaves the line invalid (``if (a &&) {``): the whole answer
is kept where it parses, in every language and line ending."""

from __future__ import annotations

import pytest

from loomline.completion.cleanup import clean
from loomline.completion.service import Completion
from loomline.context.parse_errors import parse_error_count
from tests.unit.cleanup.marks import applied, cursor_for
from tests.unit.editing.harness import ENDINGS, complete_marked

# (language, document with the cursor in a condition, the answer: its first line ends on
#  an operator, its second closes the condition and repeats the rest of the line)
SPLIT_CONDITIONS = [
    pytest.param("python", "def f(a, b):\n    if (█):\n        pass\n",
                 "a and\n            b):", id="python"),
    pytest.param("python", "def f(a, b):\n    if (a█):\n        pass\n",
                 " and\n            b):", id="python-after-a"),
    pytest.param("javascript", "function f(a, b) {\n  if (█) {\n  }\n}\n",
                 "a &&\n      b) {", id="javascript"),
    pytest.param("javascript", "function f(a, b) {\n  if (a█) {\n  }\n}\n",
                 " &&\n      b) {", id="javascript-after-a"),
    pytest.param("typescript", "function f(a: boolean, b: boolean) {\n  while (█) {\n  }\n}\n",
                 "a ||\n      b) {", id="typescript"),
    pytest.param("go", "func f(a, b bool) {\n\tif ok(█) {\n\t}\n}\n", "a &&\n\t\tb) {", id="go"),
    pytest.param("rust", "fn f(a: bool, b: bool) {\n    if ok(█) {\n    }\n}\n",
                 "a &&\n        b) {", id="rust"),
    pytest.param("java",
                 "class A {\n  void f(boolean a, boolean b) {\n    if (█) {\n    }\n  }\n}\n",
                 "a &&\n        b) {", id="java"),
    pytest.param("c", "int f(int a, int b) {\n  if (█) {\n  }\n  return 0;\n}\n",
                 "a &&\n      b) {", id="c"),
    pytest.param("cpp", "int f(int a, int b) {\n  while (a█) {\n  }\n  return 0;\n}\n",
                 " ||\n         b) {", id="cpp-after-a"),
]


@pytest.mark.parametrize("ending", list(ENDINGS))
@pytest.mark.parametrize(("language_id", "marked", "answer"), SPLIT_CONDITIONS)
async def test_a_condition_split_over_lines_is_not_cut_to_half(
    language_id: str, marked: str, answer: str, ending: str
) -> None:
    result, applied = await complete_marked(language_id, marked, answer, ending=ending)
    assert isinstance(result, Completion), result
    assert parse_error_count(language_id, applied) == 0, applied
    if language_id == "python":
        compile(applied, "<applied>", "exec")


@pytest.mark.parametrize(
    ("language_id", "marked", "raw"),
    [
        pytest.param("javascript", "function f(a, b) {\n  if (█) {\n  }\n}\n",
                     "a &&\n      b\n  }", id="javascript"),
        pytest.param("c", "int f(int a, int b) {\n  while (█) {\n  }\n}\n",
                     "a ||\n      b\n  }", id="c"),
        pytest.param("java", "class A {\n  void f(boolean a) {\n    if (█) {\n    }\n  }\n}\n",
                     "a &&\n        !a\n  }", id="java"),
    ],
)
def test_a_first_line_that_breaks_what_the_whole_answer_keeps_is_not_the_answer(
    language_id: str, marked: str, raw: str
) -> None:
    """No line of the answer ends the cursor's line: the first line alone (``a &&``) would
    leave ``if (a &&) {``; the whole answer, which parses, is the answer instead (unless the
    user set ``completion.multiline`` to "never": then one line, or nothing)."""
    text, document, cursor = applied(marked, language_id, raw)
    assert not cursor.multiline  # the analysis' decision ("auto"): one line
    assert text and parse_error_count(language_id, document) == 0, document


def test_with_multiline_never_an_answer_stays_on_its_line() -> None:
    marked = "function f(a, b) {\n  if (█) {\n  }\n}\n"
    cursor = cursor_for(marked, "javascript", multiline=False)
    assert "\n" not in clean("a &&\n      b) {", cursor)
    assert "\n" not in clean("a &&\n      b\n  }", cursor)
