"""The parse checks: an answer that breaks the file loses lines until it does not."""

from __future__ import annotations

from loomline.completion.cleanup import refine
from loomline.completion.cleanup.parse_check import (
    drop_lines_python_rejects,
    drop_lines_that_break_the_parse,
)
from tests.unit.cleanup.marks import cursor_for


def test_refine_drops_lines_python_rejects_even_when_tree_sitter_forgives_them():
    prefix = "def f(x):\n    try:\n        "
    suffix = "\n    except KeyError:\n        return None\n"
    cursor = cursor_for(prefix + "█" + suffix, "python", multiline=True)
    # The last line dedents out of the try body: Python would reject the file.
    candidate = "value = x['a']\n        return value\n  oops = 1"
    refined = refine(candidate, cursor)
    compile(prefix + refined + suffix, "<t>", "exec")
    assert refined.startswith("value = x['a']")


def test_python_rejects_a_line_that_dedents_to_no_block():
    cursor = cursor_for("def f(x):\n    y = 1\n    █\n    return y\n", "python")
    assert drop_lines_python_rejects("z = 2\n  oops = 1", cursor) == "z = 2"


def test_refine_leaves_a_good_candidate_alone():
    cursor = cursor_for("def add(a, b):\n    █\n", "python", multiline=True)
    assert refine("return a + b", cursor) == "return a + b"


def test_lines_that_break_the_parse_are_dropped_from_the_end():
    cursor = cursor_for("function f() {\n  █\n}\n", "javascript")
    assert drop_lines_that_break_the_parse("const a = 1;\n  return }}", cursor) == "const a = 1;"
    assert drop_lines_that_break_the_parse("return }}", cursor) == ""


def test_the_compiler_check_waits_while_the_file_does_not_compile():
    """While the file has an error elsewhere, the compiler cannot tell the answer's apart."""
    cursor = cursor_for("def f(x):\n    █\ndef g(:\n", "python")
    assert drop_lines_python_rejects("y = 1\n  z = 2", cursor) == "y = 1\n  z = 2"


def test_a_file_too_deep_for_the_compiler_is_unknown_not_an_error():
    from loomline.completion.cleanup.parse_check import _compiles

    assert _compiles("y = " + "(" * 5000 + "1" + ")" * 5000 + "\n") is False
    assert _compiles("y = " + "1 + " * 100_000 + "1\n") is False
