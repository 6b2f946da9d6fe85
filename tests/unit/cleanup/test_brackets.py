"""Golden cases: the document is written with the cursor marked █, the model's answer apart."""

from __future__ import annotations

import pytest

from loomline.completion.cleanup.brackets import balance_brackets
from tests.unit.cleanup.marks import cursor_for

BALANCE_CASES = [
    pytest.param("python", "x = foo(█\n", "a, b)", "a, b)", id="closes-prefix"),
    pytest.param("python", "x = foo(█\n", "a, b])", "a, b", id="mismatched-closer"),
    pytest.param("python", "x = █\n", "1)\nprint(x)", "1", id="closes-nothing"),
    pytest.param("python", "x = foo(█)\n", "a, b))", "a, b", id="suffix-already-closes"),
    pytest.param("javascript", "f(() => {█})", "\n  g('}');\n", "\n  g('}');\n",
                 id="bracket-in-string"),
    pytest.param("c", "int f() {\n█\n}\n", "  return 1;\n}\n}", "  return 1;\n",
                 id="one-closer-too-many"),
]


@pytest.mark.parametrize(("language_id", "marked", "candidate", "expected"), BALANCE_CASES)
def test_balance_brackets(language_id: str, marked: str, candidate: str, expected: str) -> None:
    assert balance_brackets(candidate, cursor_for(marked, language_id)) == expected
