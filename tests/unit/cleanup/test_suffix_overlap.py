"""Golden cases: the document is written with the cursor marked █, the model's answer apart."""

from __future__ import annotations

import pytest

from loomline.completion.cleanup.answer import Answer
from loomline.completion.cleanup.suffix_overlap import trim_line_suffix_overlap, trim_suffix_overlap
from tests.unit.cleanup.marks import cursor_for

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
