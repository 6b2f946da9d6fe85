"""Golden cases: the document is written with the cursor marked █, the model's answer apart."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loomline.context.postprocess_syntax import (
    adds_parse_errors,
    balance_brackets,
    drop_repeated_lines,
    parse_error_count,
    trim_suffix_overlap,
    truncate_to_block,
)


def _split(marked: str) -> tuple[str, str]:
    prefix, suffix = marked.split("█")
    return prefix, suffix


TRUNCATE_CASES = [
    pytest.param(
        "python", "def f(x):█\n\n\ndef g():\n    pass\n",
        "\n    y = x + 1\n    return y\n\ndef h():\n    return 2\n",
        "\n    y = x + 1\n    return y", id="python-def-body-ends-at-dedent",
    ),
    pytest.param(
        "python", "class A:\n    def m(self):\n        █\n",
        "x = 1\n        if x:\n            return x\n        return 0\n    def other(self):\n",
        "x = 1\n        if x:\n            return x\n        return 0", id="python-method-body",
    ),
    pytest.param(
        "python", "def f(x):\n    if x:\n        █\n    return 0\n",
        "a = 1\n        b = 2\n    else:\n        c = 3\n",
        "a = 1\n        b = 2", id="python-inner-block",
    ),
    pytest.param(
        "python", "def f(x):\n    total = compute(x, █\n",
        "1,\n        2,\n    )\n    return total\n",
        "1,\n        2,\n    )", id="python-closer-of-prefix-bracket-kept",
    ),
    pytest.param(
        "python", "def f(x):\n    total = compute(x, █)\n",
        "1,\n        2,\n    )\n    return total\n",
        "1,\n        2,", id="python-closer-already-in-suffix",
    ),
    pytest.param(
        "python", "def f(x):\n    y = x█\n    return y\n",
        " + 1\n    z = 2\n",
        " + 1", id="python-statement-ends",
    ),
    pytest.param(
        "python", "def f(x):\n    y = foo(█\n",
        "a,\n        b)\n    return y\n    z = 1\n",
        "a,\n        b)", id="python-statement-with-brackets",
    ),
    pytest.param(
        "javascript", "function f(a) {\n  █\n}\n",
        "const b = a + 1;\n  return b;\n}\n\nfunction g() {\n  return 1;\n}\n",
        "const b = a + 1;\n  return b;", id="js-block-closed-by-suffix",
    ),
    pytest.param(
        "javascript", "function f(a) {█\n",
        "\n  return a;\n}\n\nfunction g() {}\n",
        "\n  return a;\n}", id="js-block-close-kept-without-suffix",
    ),
    pytest.param(
        "typescript", "items.forEach((item) => {█\n",
        "\n  use(item);\n});\nconsole.log('done');\n",
        "\n  use(item);\n});", id="ts-callback-closers-kept",
    ),
    pytest.param(
        "go", "func f() int {\n\tif x {\n\t\t█\n\t}\n\treturn 1\n}\n",
        "y := 2\n\t\treturn y\n\t}\n\treturn 1\n}\n",
        "y := 2\n\t\treturn y", id="go-inner-block",
    ),
    pytest.param(
        "rust", "fn main() {\n    let v = vec![█\n",
        "1,\n        2,\n    ];\n    println!(\"{:?}\", v);\n}\n",
        "1,\n        2,\n    ];", id="rust-statement",
    ),
    pytest.param(
        "java", "class X {\n  int m() {\n    int y = compute(█\n  }\n}\n",
        "1,\n        2);\n    return y;\n  }\n",
        "1,\n        2);", id="java-statement-ends-at-semicolon",
    ),
    pytest.param(
        "c", "int f(void) {\n    █\n}\n",
        "int x = 1; /* } */\n    return x;\n}\nint g(void) {}\n",
        "int x = 1; /* } */\n    return x;", id="c-brace-in-comment-ignored",
    ),
    pytest.param(
        "python", "x = █\n", "1", "1", id="single-line-untouched",
    ),
    pytest.param(
        "plaintext", "def f():█\n", "\n    return 1\nx = 2\n", "\n    return 1",
        id="unknown-language-indented-text",
    ),
]


@pytest.mark.parametrize(("language_id", "marked", "candidate", "expected"), TRUNCATE_CASES)
def test_truncate_to_block(language_id: str, marked: str, candidate: str, expected: str) -> None:
    prefix, suffix = _split(marked)
    assert truncate_to_block(language_id, prefix, candidate, suffix) == expected


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
    _, suffix = _split(marked)
    assert trim_suffix_overlap(candidate, suffix) == expected


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
    prefix, suffix = _split(marked)
    assert balance_brackets(candidate, prefix, suffix, language_id) == expected


def test_drop_repeated_lines() -> None:
    assert drop_repeated_lines("x = 1\nlog()\nlog()\nlog()\nlog()") == "x = 1\nlog()"
    block = "a = f(1)\nb = g(a)\n"
    assert drop_repeated_lines("start()\n" + block * 3 + "a = f") == "start()\n" + block.rstrip()
    closers = "    }\n  }\n}\n}\n}"
    assert drop_repeated_lines(closers) == closers
    assert drop_repeated_lines("x()\nx()\ny()") == "x()\nx()\ny()"
    assert drop_repeated_lines("") == ""


def test_parse_error_count() -> None:
    assert parse_error_count("python", "def f():\n    return 1\n") == 0
    count = parse_error_count("python", "def f(:\n    return 1\n")
    assert count is not None and count > 0
    assert parse_error_count("plaintext", "anything") is None
    assert parse_error_count("c", "int main() { return 0 }") == 1  # MISSING ";"


@pytest.mark.parametrize(
    ("language_id", "marked", "candidate", "expected"),
    [
        ("python", "def f(x):\n    return █\n", "x + 1", False),
        ("python", "def f(x):\n    return █\n", "x + )", True),
        ("python", "def f(x):\n    return g(█\n", "x)", False),  # fixes an existing error
        ("javascript", "function f() {\n  █\n}\n", "return {a: 1};", False),
        ("javascript", "function f() {\n  █\n}\n", "return }}", True),
        ("go", "package p\nfunc f() {\n\t█\n}\n", "x := 1\n\t_ = x", False),
        ("plaintext", "█", "(((", False),
    ],
)
def test_adds_parse_errors(language_id: str, marked: str, candidate: str, expected: bool) -> None:
    prefix, suffix = _split(marked)
    assert adds_parse_errors(language_id, prefix, candidate, suffix) is expected


_PIECES = st.sampled_from(["x", " ", "\n", "    ", "(", ")", ":", "def ", "return ", "é", "𝄞",
                           "'", "1", "+", "{", "}", "if y:\n        "])


@settings(max_examples=40, deadline=None)
@given(cut=st.integers(0, 60), cut_end=st.integers(0, 60),
       candidate=st.lists(_PIECES, max_size=8).map("".join))
def test_incremental_error_check_matches_fresh_parses(cut: int, cut_end: int, candidate: str
                                                      ) -> None:
    text = "def f(a):\n    x = 'é𝄞'\n    return a + 1\n\n\nclass C:\n    y = [1, 2]\n"
    start, end = sorted((cut, cut_end))
    prefix, suffix = text[:start], text[end:]
    before = parse_error_count("python", prefix + suffix)
    after = parse_error_count("python", prefix + candidate + suffix)
    assert before is not None and after is not None
    assert adds_parse_errors("python", prefix, candidate, suffix) is (after > before)


def test_parse_check_on_a_long_file_looks_near_the_cursor() -> None:
    function = "def f_{k}(a):\n    if a:\n        return a + {k}\n    return 0\n\n\n"
    head = "".join(function.format(k=k) for k in range(800))
    tail = "".join(function.format(k=k) for k in range(800, 1600))
    prefix = head + "def target(x):\n    "
    suffix = "\n    return x\n\n\n" + tail
    assert len(prefix) > 40_000
    assert not adds_parse_errors("python", prefix, "y = x * 2", suffix)
    assert adds_parse_errors("python", prefix, "y = (x * 2", suffix)
    assert adds_parse_errors("python", prefix, "y = (x * 2", suffix, context_chars=10**9)
    broken_far_away = "def broken(:\n    pass\n\n\n" + prefix
    assert not adds_parse_errors("python", broken_far_away, "y = x * 2", suffix)


@pytest.mark.parametrize(
    ("language_id", "marked", "candidate", "expected"),
    [
        pytest.param(
            "python", "def add(a, b):\n    █\n\n\ndef sub(a, b):\n    return a - b\n",
            "return a + b\n\n\ndef sub(a, b):\n    return a - b\n\n\ndef mul(a, b):\n",
            "return a + b", id="python-runs-into-next-function",
        ),
        pytest.param(
            "typescript", "function f(a: number) {\n  █\n}\n",
            "const b = a * 2;\n  return b;\n}\n\nfunction g() {\n  return 1;\n}\n",
            "const b = a * 2;\n  return b;", id="ts-runs-past-block",
        ),
        pytest.param(
            "python", "print(█)\n", "'a', 'b')\nprint('a', 'b')\nprint('a', 'b')",
            "'a', 'b'", id="single-line-repeats-suffix-closer",
        ),
        pytest.param(
            "go", "func f() {\n\t█\n}\n", "log()\n\tlog()\n\tlog()\n\tlog()\n\tlog()",
            "log()", id="degenerate-repetition",
        ),
    ],
)
def test_pipeline(language_id: str, marked: str, candidate: str, expected: str) -> None:
    """The order the completion pipeline is meant to apply the filters in."""
    prefix, suffix = _split(marked)
    text = drop_repeated_lines(candidate)
    if "\n" in text:
        text = truncate_to_block(language_id, prefix, text, suffix)
    text = trim_suffix_overlap(text, suffix)
    text = balance_brackets(text, prefix, suffix, language_id)
    assert text == expected
    assert not adds_parse_errors(language_id, prefix, text, suffix)
