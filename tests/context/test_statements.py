"""Statement starts from tree-sitter, in each language with a grammar: what ``loomline adapt``
cuts its training samples at."""

from __future__ import annotations

import pytest

from loomline.context.statements import statement_spans

CASES = {
    "python": ("def f(a):\n    # note\n    b = a + 1; c = 2\n    if b:\n        return b\n",
               ["def f(a):", "b = a + 1", "if b:", "return b"]),
    "javascript": ("function f(a) {\n  const b = a + 1;\n  return b;\n}\n",
                   ["function f(a) {", "const b = a + 1;", "return b;"]),
    "typescript": ("function f(a: number): number {\n  let b = a;\n  return b;\n}\n",
                   ["function f(a: number): number {", "let b = a;", "return b;"]),
    "go": ("package main\n\nfunc f(a int) int {\n\tb := a + 1\n\treturn b\n}\n",
           ["package main", "func f(a int) int {", "b := a + 1", "return b"]),
    "rust": ("fn f(a: i32) -> i32 {\n    let b = a + 1;\n    b\n}\n",
             ["fn f(a: i32) -> i32 {", "let b = a + 1;", "b"]),
    "java": ("class A {\n  int f(int a) {\n    int b = a + 1;\n    return b;\n  }\n}\n",
             ["class A {", "int f(int a) {", "int b = a + 1;", "return b;"]),
    "c": ("int f(int a) {\n  int b = a + 1;\n  return b;\n}\n",
          ["int f(int a) {", "int b = a + 1;", "return b;"]),
}


@pytest.mark.parametrize("language", sorted(CASES))
def test_statements_that_open_their_line(language: str) -> None:
    text, expected = CASES[language]
    spans = statement_spans(language, text)
    assert [text[s.start : s.end].split("\n", 1)[0] for s in spans] == expected
    for span in spans:
        assert text.split("\n")[span.start_line].lstrip().startswith(text[span.start])


def test_offsets_are_code_points_after_wide_characters() -> None:
    text = 'x = "é😀"\ny = 1\n'
    (first, second) = statement_spans("python", text)
    assert text[second.start : second.end] == "y = 1" and second.start_line == 1
    assert text[first.start : first.end] == 'x = "é😀"'


def test_no_grammar_no_statements() -> None:
    assert statement_spans("plaintext", "a\nb\n") == []
    assert statement_spans(None, "") == []
