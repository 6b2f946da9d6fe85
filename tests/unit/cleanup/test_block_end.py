"""Golden cases: the document is written with the cursor marked █, the model's answer apart."""

from __future__ import annotations

import pytest

from loomline.completion.cleanup.answer import Answer
from loomline.completion.cleanup.block_end import end_at_dedent, end_at_line_end, truncate_to_block
from tests.unit.cleanup.marks import cursor_for

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
    assert truncate_to_block(candidate, cursor_for(marked, language_id)) == expected


STREAMING_CASES = [
    # (document, language, model output so far, finished so far, expected answer)
    pytest.param("x = █\n", "python", "compute(a)\ny = 2", False, Answer("compute(a)", True),
                 id="single-line-ends-at-the-line-break"),
    pytest.param("x = █\n", "python", "compute(a", False, Answer("compute(a", False),
                 id="single-line-still-growing"),
    pytest.param("def f(n):\n    █\n", "python", "a = 1\n    return a\nx = 2", False,
                 Answer("a = 1\n    return a", True), id="dedent-ends-the-block"),
    pytest.param("def f(n):\n    █\n", "python", "a = 1\n    retu", False,
                 Answer("a = 1\n    retu", False), id="block-still-growing"),
    pytest.param("def f(n):\n    █\n    return n\n", "python", "n += 1\n    return n\n", False,
                 Answer("n += 1", True), id="repeats-the-next-line-after-the-cursor"),
    pytest.param("def f(n):\n    █\n    return n\n", "python", "n += 1\n    return n", False,
                 Answer("n += 1\n    return n", False), id="a-repeat-may-still-grow"),
    pytest.param("if x:█\n", "python", "\n    y = 1\n    z = 2\nw = 3", False,
                 Answer("\n    y = 1\n    z = 2", True), id="a-block-the-cursor-opened"),
    pytest.param("def f():\n    █\n", "python", "\n    ".join(f"x = {i}" for i in range(45)),
                 False, Answer("\n    ".join(f"x = {i}" for i in range(40)), True),
                 id="at-most-40-lines"),
]


@pytest.mark.parametrize(("marked", "language_id", "raw", "finished", "expected"),
                         STREAMING_CASES)
def test_end_of_line_or_block(marked: str, language_id: str, raw: str, finished: bool,
                              expected: Answer) -> None:
    cursor = cursor_for(marked, language_id)
    answer = end_at_dedent(end_at_line_end(Answer(raw, finished), cursor), cursor)
    assert answer == expected
