"""Closers the editor already typed (auto-closed brackets and quotes), in every language: the
answer leaves the line valid, replacing them where it writes them itself and goes on."""

from __future__ import annotations

import pytest

from loomline.completion.cleanup.closers import closers_replaced, typed_closers
from loomline.context.parse_errors import adds_parse_errors
from tests.unit.cleanup.marks import applied, cursor_for, cursor_row

# (language, document, raw model output, the cursor's line once the answer is applied)
PAST_THE_CLOSERS = [
    pytest.param("python", "def foo(█)\n", "bar: str):", "def foo(bar: str):",
                 id="python-def"),
    pytest.param("javascript", "nums.map(█)\n", "num => num * 2);",
                 "nums.map(num => num * 2);", id="javascript-map"),
    pytest.param("typescript", "const d = nums.map(█)\n", "(n: number) => n * 2);",
                 "const d = nums.map((n: number) => n * 2);", id="typescript-map"),
    pytest.param("go", "func f(xs []int) int {\n\treturn len(█)\n}\n", "xs) * 2",
                 "\treturn len(xs) * 2", id="go-call"),
    pytest.param("rust", "fn f(xs: &[i32]) -> Vec<i32> {\n    xs.iter().map(█)\n}\n",
                 "|x| x * 2).collect()", "    xs.iter().map(|x| x * 2).collect()",
                 id="rust-map"),
    pytest.param("java", "class A {\n  void f(int n) {\n    System.out.println(█)\n  }\n}\n",
                 "n * 2);", "    System.out.println(n * 2);", id="java-call"),
    pytest.param("c", "int f(int n) {\n  return abs(█)\n}\n", "n) + 1;",
                 "  return abs(n) + 1;", id="c-call"),
    pytest.param("cpp", "int main() {\n  std::vector<int> v{█}\n}\n", "1, 2, 3};",
                 "  std::vector<int> v{1, 2, 3};", id="cpp-braces"),
]


@pytest.mark.parametrize(("language_id", "marked", "raw", "line"), PAST_THE_CLOSERS)
def test_an_answer_that_goes_past_the_closers_replaces_them(
    language_id: str, marked: str, raw: str, line: str
) -> None:
    text, document, cursor = applied(marked, language_id, raw)
    typed = typed_closers(cursor)
    if text == raw:  # nothing of it is lost: `:`, `;` and what follows stay
        assert closers_replaced(text, cursor) == len(typed) > 0
    else:  # it ends with a closer of its own: the typed one serves, as an insert
        assert text + typed == raw and closers_replaced(text, cursor) == 0
    row = cursor_row(marked)
    assert document.split("\n")[row] == line


QUOTES = [
    pytest.param("python", 'print("█")\n', 'hello", end="")', 'print("hello", end="")',
                 id="python"),
    pytest.param("javascript", 'console.log("█")\n', 'hi", name);',
                 'console.log("hi", name);', id="javascript"),
    pytest.param("typescript", "log('█')\n", "hi', 2);", "log('hi', 2);", id="typescript"),
    pytest.param("go", 'func f() {\n\tfmt.Println("█")\n}\n', 'hi", name)',
                 '\tfmt.Println("hi", name)', id="go"),
    pytest.param("rust", 'fn f() {\n    println!("█")\n}\n', '{}", x);',
                 '    println!("{}", x);', id="rust"),
    pytest.param("java", 'class A {\n  void f() {\n    log("█")\n  }\n}\n', 'hi", 1);',
                 '    log("hi", 1);', id="java"),
    pytest.param("c", 'int f() {\n  printf("█")\n}\n', '%d\\n", n);',
                 '  printf("%d\\n", n);', id="c"),
    pytest.param("cpp", 'int f() {\n  puts("█")\n}\n', 'hi");', '  puts("hi");', id="cpp"),
]


@pytest.mark.parametrize(("language_id", "marked", "raw", "line"), QUOTES)
def test_an_answer_that_ends_the_string_replaces_the_typed_quote(
    language_id: str, marked: str, raw: str, line: str
) -> None:
    _text, document, _cursor = applied(marked, language_id, raw)
    row = cursor_row(marked)
    assert document.split("\n")[row] == line


@pytest.mark.parametrize(
    ("language_id", "marked", "raw", "expected"),
    [
        pytest.param("python", "x = compute(█)\n", "a, b)", "a, b", id="python"),
        pytest.param("javascript", "f(█)\n", "a, b)", "a, b", id="javascript"),
        pytest.param("go", "func f() {\n\tg(█)\n}\n", "a, b)", "a, b", id="go"),
        pytest.param("python", 'print("█")\n', 'hello")', "hello", id="python-quote"),
        pytest.param("c", 'int f() {\n  puts("█");\n}\n', 'hi");', "hi", id="c-quote"),
    ],
)
def test_an_answer_that_ends_with_the_closers_is_inserted_before_them(
    language_id: str, marked: str, raw: str, expected: str
) -> None:
    text, _document, cursor = applied(marked, language_id, raw)
    assert text == expected
    assert closers_replaced(text, cursor) == 0


@pytest.mark.parametrize(
    ("language_id", "marked", "raw"),
    [
        pytest.param("python", "f(█)\n", "a, b", id="python"),
        pytest.param("rust", "fn f() {\n    g(█)\n}\n", "a, b", id="rust"),
        pytest.param("python", 'print("█")\n', "hello", id="inside-the-string"),
        pytest.param("python", "f(█)\n", "x]", id="wrong-closer"),
        pytest.param("javascript", "f(█) // (\n", "x", id="before-a-comment"),
    ],
)
def test_closers_the_answer_does_not_close_stay(language_id: str, marked: str, raw: str) -> None:
    assert closers_replaced(raw, cursor_for(marked, language_id)) == 0


BODIES = [
    pytest.param(
        "go", "func sum(xs []int) int {\n\t█\n}\n",
        "total := 0\n\tfor _, x := range xs {\n\t\ttotal += x\n\t}\n\treturn total\n}",
        id="go",
    ),
    pytest.param(
        "javascript", "function sum(xs) {\n  █\n}\n",
        "let total = 0;\n  for (const x of xs) {\n    total += x;\n  }\n  return total;\n}",
        id="javascript",
    ),
    pytest.param(
        "typescript", "function sum(xs: number[]): number {\n  █\n}\n",
        "let total = 0;\n  for (const x of xs) {\n    total += x;\n  }\n  return total;\n}",
        id="typescript",
    ),
    pytest.param(
        "rust", "fn sum(xs: &[i32]) -> i32 {\n    █\n}\n",
        "let mut total = 0;\n    for x in xs {\n        total += x;\n    }\n    total\n}",
        id="rust",
    ),
    pytest.param(
        "java", "class A {\n  int sum(int[] xs) {\n    █\n  }\n}\n",
        "int total = 0;\n    for (int x : xs) {\n      total += x;\n    }\n    return total;\n  }",
        id="java",
    ),
    pytest.param(
        "c", "int sum(int *xs, int n) {\n  █\n}\n",
        "int total = 0;\n  for (int i = 0; i < n; i++) {\n    total += xs[i];\n  }\n"
        "  return total;\n}",
        id="c",
    ),
    pytest.param(
        "cpp", "int sum(const std::vector<int>& xs) {\n  █\n}\n",
        "int total = 0;\n  for (int x : xs) {\n    total += x;\n  }\n  return total;\n}",
        id="cpp",
    ),
    pytest.param(
        "python", "total = sum(\n    █\n)\n", "x * 2\n    for x in xs\n)", id="python",
    ),
    pytest.param(
        "python", "class A:\n    def f(self):\n        █\n    def g(self):\n        pass\n",
        "if self.x:\n            return 1\n        return 2\n    def g(self):", id="python-def",
    ),
]


@pytest.mark.parametrize(("language_id", "marked", "raw"), BODIES)
def test_a_block_that_repeats_the_closer_after_the_cursor_keeps_its_body(
    language_id: str, marked: str, raw: str
) -> None:
    text, _document, cursor = applied(marked, language_id, raw, multiline=True)
    body = raw.rsplit("\n", 1)[0]  # all but the closer the document already has
    assert text == body
    assert not adds_parse_errors(language_id, cursor.before, text, cursor.after)
