"""The document's indentation: answers re-indented to the file's style (tabs, 2 or 4 spaces),
in every language; the Python safety net while the block being typed is still empty."""

from __future__ import annotations

import pytest

from loomline.completion.cleanup import clean
from loomline.completion.cleanup.answer import Answer
from loomline.completion.cleanup.parse_check import drop_lines_python_rejects
from loomline.completion.cleanup.reindent import match_file_indent
from loomline.completion.cursor import Cursor, cursor_at
from loomline.context.analysis import analyze_position
from loomline.context.languages import parse
from loomline.context.text_style import document_indent_unit
from tests.unit.cleanup.marks import CURSOR


def file_cursor(marked: str, language_id: str) -> Cursor:
    """The cursor at █, with the indent unit the document store would judge for the file."""
    offset = marked.index(CURSOR)
    text = marked.replace(CURSOR, "")
    analysis = analyze_position(language_id, parse(language_id, text), text, offset,
                                document_indent_unit(text))
    return cursor_at(text, offset, language_id, analysis, "always")


TAB_FILES = [
    pytest.param("python", "def f(x):\n\tif x:\n\t\t█\n\treturn 0\n",
                 "y = x + 1\n        return y", "y = x + 1\n\t\treturn y", id="python"),
    pytest.param("go", "func f(x int) int {\n\tif x > 0 {\n\t\t█\n\t}\n\treturn 0\n}\n",
                 "y := x + 1\n        return y", "y := x + 1\n\t\treturn y", id="go"),
    pytest.param("javascript", "function f(x) {\n\tif (x) {\n\t\t█\n\t}\n}\n",
                 "const y = x + 1;\n        return y;", "const y = x + 1;\n\t\treturn y;",
                 id="javascript"),
    pytest.param("typescript", "function f(x: number) {\n\tif (x) {\n\t\t█\n\t}\n}\n",
                 "const y = x + 1;\n        return y;", "const y = x + 1;\n\t\treturn y;",
                 id="typescript"),
    pytest.param("rust", "fn f(x: i32) -> i32 {\n\tif x > 0 {\n\t\t█\n\t}\n\t0\n}\n",
                 "let y = x + 1;\n        return y;", "let y = x + 1;\n\t\treturn y;",
                 id="rust"),
    pytest.param("java", "class A {\n\tint f(int x) {\n\t\t█\n\t}\n}\n",
                 "if (x > 0) {\n            return 1;\n        }\n        return 0;",
                 "if (x > 0) {\n\t\t\treturn 1;\n\t\t}\n\t\treturn 0;", id="java"),
    pytest.param("c", "int f(int x) {\n\t█\n}\n",
                 "if (x > 0) {\n        return 1;\n    }\n    return 0;",
                 "if (x > 0) {\n\t\treturn 1;\n\t}\n\treturn 0;", id="c"),
    pytest.param("cpp", "int f(int x) {\n\t█\n}\n",
                 "if (x > 0) {\n        return 1;\n    }\n    return 0;",
                 "if (x > 0) {\n\t\treturn 1;\n\t}\n\treturn 0;", id="cpp"),
]


@pytest.mark.parametrize(("language_id", "marked", "raw", "expected"), TAB_FILES)
def test_a_four_space_answer_in_a_tab_file_gets_tabs(
    language_id: str, marked: str, raw: str, expected: str
) -> None:
    assert clean(raw, file_cursor(marked, language_id)) == expected


TWO_SPACE = "def g(a):\n  if a:\n    return 1\n  return 2\n\n"
TWO_SPACE_BRACES = "function g(a) {\n  if (a) {\n    return 1;\n  }\n}\n\n"


@pytest.mark.parametrize(
    ("language_id", "marked", "raw", "expected"),
    [
        pytest.param("python", TWO_SPACE + "def f(x):\n  █\n",
                     "if x:\n        return 1\n    return 0", "if x:\n    return 1\n  return 0",
                     id="python-four-spaces"),
        pytest.param("python", TWO_SPACE + "def f(x):\n  █\n",
                     "if x:\n\t\treturn 1\n\treturn 0", "if x:\n    return 1\n  return 0",
                     id="python-tabs-are-levels-not-columns"),
        pytest.param("javascript", TWO_SPACE_BRACES + "function f(x) {\n  █\n}\n",
                     "if (x) {\n        return 1;\n    }\n    return 0;",
                     "if (x) {\n    return 1;\n  }\n  return 0;", id="javascript"),
        pytest.param("typescript", TWO_SPACE_BRACES + "function f(x: number) {\n  █\n}\n",
                     "if (x) {\n        return 1;\n    }\n    return 0;",
                     "if (x) {\n    return 1;\n  }\n  return 0;", id="typescript"),
        pytest.param("go", "func g() {\n  x := 1\n}\n\nfunc f(x int) int {\n  █\n}\n",
                     "if x > 0 {\n        return 1\n    }\n    return 0",
                     "if x > 0 {\n    return 1\n  }\n  return 0", id="go"),
        pytest.param("rust", "fn g() {\n  let a = 1;\n}\n\nfn f(x: i32) -> i32 {\n  █\n}\n",
                     "if x > 0 {\n        return 1;\n    }\n    0",
                     "if x > 0 {\n    return 1;\n  }\n  0", id="rust"),
        pytest.param("java", "class A {\n  int f(int x) {\n    █\n  }\n}\n",
                     "if (x > 0) {\n            return 1;\n        }\n        return 0;",
                     "if (x > 0) {\n      return 1;\n    }\n    return 0;", id="java"),
        pytest.param("c", "int g() {\n  return 1;\n}\n\nint f(int x) {\n  █\n}\n",
                     "if (x > 0) {\n        return 1;\n    }\n    return 0;",
                     "if (x > 0) {\n    return 1;\n  }\n  return 0;", id="c"),
        pytest.param("cpp", "int g() {\n  return 1;\n}\n\nint f(int x) {\n  █\n}\n",
                     "if (x > 0) {\n        return 1;\n    }\n    return 0;",
                     "if (x > 0) {\n    return 1;\n  }\n  return 0;", id="cpp"),
    ],
)
def test_an_answer_in_another_style_gets_the_two_space_files(
    language_id: str, marked: str, raw: str, expected: str
) -> None:
    assert clean(raw, file_cursor(marked, language_id)) == expected


@pytest.mark.parametrize(
    ("language_id", "marked", "raw"),
    [
        pytest.param("python", "def f(x):\n    █\n", "if x:\n        return 1\n    return 0",
                     id="four-space-file"),
        pytest.param("python", "def f(x):\n\t█\n", "if x:\n\t\treturn 1\n\treturn 0",
                     id="tab-file"),
        pytest.param("python", TWO_SPACE + "def f(x):\n  █\n", "if x:\n    return 1\n  return 0",
                     id="two-space-file"),
        pytest.param("python", TWO_SPACE + "def f(x):\n  █\n",
                     "x = foo(1,\n          2)\n  return x", id="aligned-continuation"),
        pytest.param("python", "def f(x):\n    █\n", "if x:\n      return 1\n    return 0",
                     id="a-mixed-style-of-its-own-is-left-alone"),
    ],
)
def test_an_answer_in_the_files_style_is_left_as_it_is(
    language_id: str, marked: str, raw: str
) -> None:
    cursor = file_cursor(marked, language_id)
    assert match_file_indent(Answer(raw, True), cursor).text == raw


def test_aligned_continuation_lines_keep_their_alignment_beyond_whole_levels() -> None:
    cursor = file_cursor("def f(x):\n\t█\n", "python")
    answer = match_file_indent(Answer("x = foo(1,\n          2)\n    return x", True), cursor)
    assert answer.text == "x = foo(1,\n\t\t  2)\n\treturn x"


def test_the_python_safety_net_works_while_the_block_is_still_empty() -> None:
    """`if x:` with nothing in it does not compile, which is the normal state while typing:
    the net judges the answer against the file with `pass` at the cursor."""
    cursor = file_cursor("def f(x):\n\tif x:\n\t\t█\n\treturn 0\n", "python")
    assert drop_lines_python_rejects("y = x + 1\n        return y", cursor) == "y = x + 1"
    assert drop_lines_python_rejects("y = x + 1\n\t\treturn y", cursor) == (
        "y = x + 1\n\t\treturn y"
    )
    assert drop_lines_python_rejects("y = 1\n\t\t\treturn y", cursor) == "y = 1"
