"""Golden cases: the document is written with the cursor marked █, the model's answer apart."""

from __future__ import annotations

import pytest

from loomline.completion.cleanup.answer import Answer
from loomline.completion.cleanup.suffix_overlap import trim_line_suffix_overlap, trim_suffix_overlap
from loomline.completion.service import Completion
from tests.unit.cleanup.marks import CURSOR, cursor_for
from tests.unit.editing.harness import ENDINGS, complete_marked

TRIM_CASES = [
    pytest.param("print(█)\n", '"hi")', '"hi"', id="closer-the-suffix-has"),
    pytest.param("print(█)\n", "foo()", "foo()", id="closer-the-candidate-needs"),
    pytest.param("x = compute(█)\n", "a, b))", "a, b)", id="one-of-two-closers"),
    pytest.param("total = █ + 1\n", "a + 1", "a", id="rest-of-line-repeated"),
    pytest.param(
        "def f(x):\n    y = x * 2\n    █\n    return y\n",
        "y += 1\n    return y\n",
        "y += 1", id="suffix-lines-repeated",
    ),
    pytest.param(
        "def f(x):\n    █\n    return result_value\n",
        "result_value = x\n    return result_va",
        "result_value = x", id="cut-off-repeat-of-suffix",
    ),
    pytest.param(
        "function f() {\n  █\n}\n",
        "if (a) {\n    b();\n  }",
        "if (a) {\n    b();\n  }", id="own-closer-kept",
    ),
    pytest.param("x = █\n", "value", "value", id="no-overlap"),
    pytest.param("foo(█)\n", "bar] )", "bar]", id="trailing-closers"),
]


@pytest.mark.parametrize(("marked", "candidate", "expected"), TRIM_CASES)
def test_trim_suffix_overlap(marked: str, candidate: str, expected: str) -> None:
    assert trim_suffix_overlap(candidate, cursor_for(marked)) == expected


LINE_SUFFIX_CASES = [
    # (document, model output, expected text)
    pytest.param("x = compute(█)\n", "a, b)", "a, b", id="the-closer-the-line-has"),
    pytest.param("if name.endswith(█):\n", "'.py'):", "'.py'", id="the-rest-of-the-line"),
    pytest.param("f(█);\n", "g(1));", "g(1)", id="closers-and-semicolon"),
    pytest.param("f(█) + 1\n", "a)", "a)", id="text-after-the-closer-is-not-trimmed"),
    pytest.param("x = █\n", "1  ", "1  ", id="nothing-after-the-cursor"),
]


@pytest.mark.parametrize(("marked", "raw", "expected"), LINE_SUFFIX_CASES)
def test_trim_line_suffix_overlap(marked: str, raw: str, expected: str) -> None:
    answer = trim_line_suffix_overlap(Answer(raw, True), cursor_for(marked, "python"))
    assert answer == Answer(expected, True)


# (language, document, answer): the answer ends with a closer of its own, which the typed one
# after the cursor does not stand for; read in another language's way (a `#` comment, a `'`
# string, no raw strings), its own brackets went unseen and that closer was cut.
OWN_CLOSER_IN_ITS_LANGUAGE = [
    pytest.param("javascript", "class A {\n  #items = [];\n  f() {\n    console.log(█);\n  }\n}\n",
                 "this.#items.map(x => x * 2)", id="javascript-private-field"),
    pytest.param("javascript", "class A {\n  #n = 0;\n  f() {\n    return g(█)\n  }\n}\n",
                 "this.#n + h(1)", id="javascript-private-field-no-semicolon"),
    pytest.param("typescript",
                 "class A {\n  #n = 0;\n  f(): number {\n    return g(█);\n  }\n}\n",
                 "this.#n + h(1)", id="typescript-private-field"),
    pytest.param("rust", "fn f<'a>(x: &'a str) {\n    wrap(█);\n}\n",
                 "Holder::<'a>::new(x)", id="rust-lifetime"),
    pytest.param("rust", "fn f<'a>(x: &'a str) -> Holder<'a> {\n    wrap(█)\n}\n",
                 "Holder::<'a>::new(x)", id="rust-lifetime-no-semicolon"),
    pytest.param("go", "func f() {\n\tfmt.Println(█)\n}\n", "g(`)`)", id="go-raw-string"),
]


@pytest.mark.parametrize(("language_id", "marked", "raw"), OWN_CLOSER_IN_ITS_LANGUAGE)
def test_the_answer_is_read_in_its_language_for_closers_of_its_own(
    language_id: str, marked: str, raw: str
) -> None:
    cursor = cursor_for(marked, language_id)
    assert trim_suffix_overlap(raw, cursor) == raw
    assert trim_line_suffix_overlap(Answer(raw, True), cursor) == Answer(raw, True)


@pytest.mark.parametrize("ending", list(ENDINGS))
@pytest.mark.parametrize(("language_id", "marked", "raw"), OWN_CLOSER_IN_ITS_LANGUAGE)
async def test_an_answer_with_a_closer_of_its_own_is_inserted_whole(
    language_id: str, marked: str, raw: str, ending: str
) -> None:
    result, applied = await complete_marked(language_id, marked, raw, ending=ending)
    assert isinstance(result, Completion), result
    head, tail = marked.split(CURSOR)
    assert applied == head + raw + tail
