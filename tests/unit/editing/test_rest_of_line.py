"""An answer that ends by writing the start of the rest of the line again (past the closers
the editor typed) is written once: ``function f(|) {}`` answered ``a, b) {`` gives
``function f(a, b) {}``, never ``function f(a, b) { {}``; in every language and line ending."""

from __future__ import annotations

import pytest

from loomline.completion.cleanup.answer import Answer
from loomline.completion.cleanup.rest_of_line import cut_repeated_line_start
from loomline.completion.service import Completion
from loomline.context.parse_errors import adds_parse_errors
from tests.unit.cleanup.marks import cursor_for, cursor_row
from tests.unit.editing.harness import ENDINGS, complete_marked

# (language, document, answer, the cursor's line once applied)
REPEATS = [
    pytest.param("javascript", "function f(█) {}\n", "a, b) {", "function f(a, b) {}",
                 id="javascript-header"),
    pytest.param("typescript", "function f(█): void {}\n", "a: number): void {",
                 "function f(a: number): void {}", id="typescript-return-type"),
    pytest.param("python", "x = [█] + y\n", "1, 2] +", "x = [1, 2] + y", id="python-list"),
    pytest.param("go", "func main() {\n\tif ok(█) {}\n}\n", "x, y) {",
                 "\tif ok(x, y) {}", id="go-if"),
    pytest.param("rust", "fn f(█) {}\n", "a: i32) {", "fn f(a: i32) {}", id="rust-fn"),
    pytest.param("java", "class A {\n  void f(█) {}\n}\n", "int a) {",
                 "  void f(int a) {}", id="java-method"),
    pytest.param("c", "int f(█) {}\n", "int a) {", "int f(int a) {}", id="c-function"),
    pytest.param("cpp", "int main() {\n  while (ok(█)) {}\n}\n", "a)) {",
                 "  while (ok(a)) {}", id="cpp-while"),
    pytest.param("javascript", "if (█) {}\n", "a && b) {", "if (a && b) {}", id="js-if"),
    pytest.param("python", "total = f(█) + g(1)\n", "a) + g(", "total = f(a) + g(1)",
                 id="python-call-then-more"),
]


@pytest.mark.parametrize("ending", list(ENDINGS))
@pytest.mark.parametrize(("language_id", "marked", "answer", "line"), REPEATS)
async def test_a_repeated_start_of_the_rest_of_the_line_is_written_once(
    language_id: str, marked: str, answer: str, line: str, ending: str
) -> None:
    result, applied = await complete_marked(language_id, marked, answer, ending=ending)
    assert isinstance(result, Completion), result
    row = cursor_row(marked)
    assert applied.split("\n")[row] == line
    assert not adds_parse_errors(language_id, "", applied, "")


@pytest.mark.parametrize(
    ("language_id", "marked", "raw"),
    [
        # The `)` closes the answer's own call: cutting at it would leave `g(x` open.
        pytest.param("javascript", "function f(█) {}\n", "g(x) {", id="own-bracket"),
        # Only the typed closer repeated: the closers' own rule decides, not this one.
        pytest.param("python", "f(█) + 1\n", "a)", id="closers-alone"),
        pytest.param("javascript", "f(█) // ) {\n", "a) {", id="comment-after"),
    ],
)
def test_what_would_not_insert_cleanly_is_left_alone(
    language_id: str, marked: str, raw: str
) -> None:
    cursor = cursor_for(marked, language_id)
    assert cut_repeated_line_start(Answer(raw, True), cursor).text == raw
