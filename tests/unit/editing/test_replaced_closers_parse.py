"""An answer that replaces the closers the editor typed is judged against the document as the
user has it, closers included: one that breaks the line (``g(a, b) +``) is not offered
because the document without its closers was broken already. In every language and line
ending."""

from __future__ import annotations

import pytest

from loomline.context.parse_errors import parse_error_count
from tests.unit.cleanup.marks import CURSOR
from tests.unit.editing.harness import ENDINGS, complete_marked

# (language, document, answer): the answer closes the typed closer and then breaks the line.
BREAKING = [
    pytest.param("javascript", "nums.map(█)\n", "x => x * 2) +", id="javascript"),
    pytest.param("typescript", "const y = g(█);\n", "a, b) *", id="typescript"),
    pytest.param("go", "func f() {\n\tg(█)\n}\n", "a, b) +", id="go"),
    pytest.param("rust", "fn f() {\n    g(█);\n}\n", "a, b) +", id="rust"),
    pytest.param("java", "class A {\n  void f() {\n    g(█);\n  }\n}\n", "a, b) +", id="java"),
    pytest.param("c", "void f(void) {\n  g(█);\n}\n", "a, b) +", id="c"),
    pytest.param("cpp", "void f() {\n  g(█);\n}\n", "a, b) +", id="cpp"),
    pytest.param("python", "x = g(█)\n", "a, b) +", id="python"),
    pytest.param("javascript", "nums.map(█)\n", "x => {\n  return x;\n}) +",
                 id="javascript-block"),
    pytest.param("go", "func f() {\n\tgo g(█)\n}\n", "func() {\n\t\th()\n\t}) +", id="go-block"),
]


@pytest.mark.parametrize("multiline", ["auto", "always"])
@pytest.mark.parametrize("ending", list(ENDINGS))
@pytest.mark.parametrize(("language_id", "marked", "answer"), BREAKING)
async def test_an_answer_that_breaks_the_line_past_the_closers_is_not_offered(
    language_id: str, marked: str, answer: str, ending: str, multiline: str
) -> None:
    _result, applied = await complete_marked(language_id, marked, answer, ending=ending,
                                             multiline=multiline)
    document = marked.replace(CURSOR, "")
    assert parse_error_count(language_id, document) == 0
    assert parse_error_count(language_id, applied) == 0, applied
