"""Golden cases for the checks the real-editor tests make of saved text (fast, no editor)."""

from __future__ import annotations

from tests.editors.text_checks import bracket_faults, indentation_faults, line_break_faults


def test_balanced_lines_have_no_bracket_faults():
    assert bracket_faults("    return math.pi * math.pow(radius, 2)") == []
    assert bracket_faults("def greet(name: str) -> dict[str, int]:") == []
    assert bracket_faults("print(')', \"(\")  # a ( in a comment") == []


def test_a_doubled_closer_is_a_fault():
    assert bracket_faults("def foo(bar: str):)") == ["')' at column 18 closes nothing"]
    assert bracket_faults("    return math.pow(radius, 2))") == ["')' at column 30 closes nothing"]
    assert bracket_faults("nums.map(num => num * 2);)") == ["')' at column 25 closes nothing"]


def test_a_mismatched_or_unclosed_bracket_is_a_fault():
    assert bracket_faults("xs = [1, 2)") == ["')' at column 10 closes '[' of column 5"]
    assert bracket_faults("f(a, [b") == [
        "'(' at column 1 is not closed",
        "'[' at column 5 is not closed",
    ]


def test_tab_indentation():
    assert indentation_faults("def f(x):\n\tif x:\n\t\treturn 1\n\n\treturn 0\n", "\t") == []
    assert indentation_faults("def f(x):\n\tif x:\n\t\ty = 1\n        return y\n", "\t") == [
        "line 3: indented with '        ': '        return y'"
    ]
    assert indentation_faults("def f(x):\n\t    return x\n", "\t") == [
        "line 1: indented with '\\t    ': '\\t    return x'"
    ]


def test_space_indentation():
    assert indentation_faults("def f(x):\n    return x\n", "    ") == []
    assert indentation_faults("def f(x):\n\treturn x\n  pass\n", "    ") == [
        "line 1: indented with '\\t': '\\treturn x'",
        "line 2: indented with '  ': '  pass'",
    ]


def test_line_breaks_all_crlf():
    assert line_break_faults(b"a = 1\r\nb = 2\r\n") == []
    assert line_break_faults(b"no break at all") == []
    assert line_break_faults(b"a = 1\r\nb = 2\nc = 3\r\n") == [
        "line 1: a lone \\n in b'b = 2\\nc = 3'"
    ]
    assert line_break_faults(b"a = 1\r\r\nb = 2\r\n") == ["line 0: a lone \\r in b'a = 1\\r'"]
    assert line_break_faults(b"a = 1\rb = 2") == ["line 0: a lone \\r in b'a = 1\\rb = 2'"]
