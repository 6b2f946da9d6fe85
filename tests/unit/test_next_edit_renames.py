"""The rename and repeat guesses read uses from the syntax tree, in every language with a
grammar: identifiers only (never strings or comments), in the renamed declaration's scope,
skipping keyword-argument names, attribute/field accesses and shadowing nested functions."""

from __future__ import annotations

import pytest

from loomline.completion.next_edit.heuristics import cheap_next_edit, repeat_last_change
from loomline.completion.next_edit.renames import next_use_of_rename, renamed_identifier
from loomline.completion.next_edit.window import window_around
from loomline.context.edit_history import Hunk


def _renamed(text: str, line: int, old_line: str, new_line: str) -> tuple[str, Hunk]:
    """``text`` whose line ``line`` (reading ``old_line``) now reads ``new_line``."""
    lines = text.split("\n")
    assert lines[line] == old_line
    lines[line] = new_line
    return "\n".join(lines), Hunk("file:///w/x", line, (old_line,), (new_line,), 1.0, 1.0)


def _next_use(language: str, text: str, line: int, old_line: str,
              new_line: str) -> tuple[int, int, str] | None:
    edited, hunk = _renamed(text, line, old_line, new_line)
    edit = next_use_of_rename(edited, hunk, language_id=language)
    return None if edit is None else (*edit.start, edit.text)


# (language, text, renamed line, its old text, its new text, the next use (line, column))
STRINGS_AND_COMMENTS = [
    ("python", 'def f(count, s):\n    # count of items\n    msg = "count"\n'
     "    total = count + 1\n", 0, "def f(count, s):", "def f(n, s):", (3, 12)),
    ("javascript", 'function f(count) {\n  // count of items\n  const s = "count";\n'
     "  return count + 1;\n}\n", 0, "function f(count) {", "function f(n) {", (3, 9)),
    ("typescript", 'function f(count: number) {\n  /* count */ const s = "count";\n'
     "  return count + 1;\n}\n", 0, "function f(count: number) {",
     "function f(n: number) {", (2, 9)),
    ("go", 'func f(count int) int {\n\t// count of items\n\ts := "count"\n\t_ = s\n'
     "\treturn count + 1\n}\n", 0, "func f(count int) int {", "func f(n int) int {", (4, 8)),
    ("rust", 'fn f(count: i32) -> i32 {\n    // count of items\n    let s = "count";\n'
     "    count + 1\n}\n", 0, "fn f(count: i32) -> i32 {", "fn f(n: i32) -> i32 {", (3, 4)),
    ("java", 'class A {\n  int f(int count) {\n    // count of items\n'
     '    String s = "count";\n    return count + 1;\n  }\n}\n', 1,
     "  int f(int count) {", "  int f(int n) {", (4, 11)),
    ("c", 'int f(int count) {\n  /* count of items */\n  const char *s = "count";\n'
     "  return count + 1;\n}\n", 0, "int f(int count) {", "int f(int n) {", (3, 9)),
]


@pytest.mark.parametrize(("language", "text", "line", "old", "new", "expected"),
                         STRINGS_AND_COMMENTS, ids=[c[0] for c in STRINGS_AND_COMMENTS])
def test_strings_and_comments_are_no_uses(language: str, text: str, line: int, old: str,
                                          new: str, expected: tuple[int, int]) -> None:
    assert _next_use(language, text, line, old, new) == (*expected, "n")


SCOPES = [
    # Another function's parameter of the same name.
    ("python", "def f(r):\n    pass\n\n\ndef g(r):\n    return r\n", 0, "def f(r):",
     "def f(rad):", None),
    ("javascript", "function f(r) { return 1; }\nfunction g(r) { return r; }\n", 0,
     "function f(r) { return 1; }", "function f(rad) { return 1; }", None),
    ("c", "int f(int r) { return 1; }\nint g(int r) { return r; }\n", 0,
     "int f(int r) { return 1; }", "int f(int rad) { return 1; }", None),
    # A keyword argument's name, an attribute or field of the same name.
    ("python", "def f(r):\n    return h(r=1) + obj.r + r\n", 0, "def f(r):", "def f(rad):",
     (1, 28)),
    ("javascript", "function f(r) {\n  return h({r: 1}) + obj.r + r;\n}\n", 0,
     "function f(r) {", "function f(rad) {", (1, 29)),
    ("typescript", "function f(r: number) {\n  return obj.r + r;\n}\n", 0,
     "function f(r: number) {", "function f(rad: number) {", (1, 17)),
    ("go", "func f(r int) int {\n\treturn obj.r + r\n}\n", 0, "func f(r int) int {",
     "func f(rad int) int {", (1, 16)),
    ("rust", "fn f(r: i32) -> i32 {\n    obj.r + r\n}\n", 0, "fn f(r: i32) -> i32 {",
     "fn f(rad: i32) -> i32 {", (1, 12)),
    ("java", "class A {\n  int f(int r) {\n    return obj.r + r;\n  }\n}\n", 1,
     "  int f(int r) {", "  int f(int rad) {", (2, 19)),
    ("c", "int f(int r) {\n  return p->r + r;\n}\n", 0, "int f(int r) {",
     "int f(int rad) {", (1, 16)),
    # A nested function whose own ``r`` shadows the renamed one.
    ("python", "def f(r):\n    def g(r):\n        return r\n    return r\n", 0, "def f(r):",
     "def f(rad):", (3, 11)),
    ("javascript", "function f(r) {\n  const g = (r) => r;\n  return r;\n}\n", 0,
     "function f(r) {", "function f(rad) {", (2, 9)),
    ("rust", "fn f(r: i32) -> i32 {\n    let g = |r: i32| r;\n    g(r)\n}\n", 0,
     "fn f(r: i32) -> i32 {", "fn f(rad: i32) -> i32 {", (2, 6)),
]


@pytest.mark.parametrize(("language", "text", "line", "old", "new", "expected"), SCOPES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(SCOPES)])
def test_uses_stay_in_the_renamed_declarations_scope(
        language: str, text: str, line: int, old: str, new: str,
        expected: tuple[int, int] | None) -> None:
    found = _next_use(language, text, line, old, new)
    assert found == (None if expected is None else (*expected, "rad"))


ATTRIBUTES = [
    ("python", "class P:\n    def __init__(self, x):\n        self.x = x\n\n"
     "    def get(self):\n        return self.x\n", 2, "        self.x = x",
     "        self.xpos = x", (5, 20)),
    ("javascript", "class P {\n  constructor(x) {\n    this.x = x;\n  }\n  get() {\n"
     "    return other.x + this.x;\n  }\n}\n", 2, "    this.x = x;", "    this.xpos = x;",
     (5, 26)),
    ("java", "class P {\n  int x;\n  P(int x) {\n    this.x = x;\n  }\n"
     "  int get() { return this.x; }\n}\n", 3, "    this.x = x;", "    this.xpos = x;",
     (5, 26)),
]


@pytest.mark.parametrize(("language", "text", "line", "old", "new", "expected"), ATTRIBUTES,
                         ids=[c[0] for c in ATTRIBUTES])
def test_a_renamed_attribute_renames_only_that_attribute(
        language: str, text: str, line: int, old: str, new: str,
        expected: tuple[int, int]) -> None:
    assert _next_use(language, text, line, old, new) == (*expected, "xpos")


MERGED = [
    ("python", "def f(r):\n    x = r + 1\n    return r * x\n", (2, 11)),
    ("javascript", "function f(r) {\n  const x = r + 1;\n  return r * x;\n}\n", (2, 9)),
    ("go", "func f(r int) int {\n\tx := r + 1\n\treturn r * x\n}\n", (2, 8)),
    (None, "def f(r):\n    x = r + 1\n    return r * x\n", (2, 11)),
]


@pytest.mark.parametrize(("language", "text", "expected"), MERGED,
                         ids=[str(c[0]) for c in MERGED])
def test_a_rename_merged_with_an_accepted_use_still_chains(
        language: str | None, text: str, expected: tuple[int, int]) -> None:
    # The rename and the accepted rename of the next line form one hunk.
    old_lines = tuple(text.split("\n")[:2])
    new_lines = tuple(line.replace("(r", "(rad").replace("= r", "= rad")
                      for line in old_lines)
    edited = "\n".join(new_lines + tuple(text.split("\n")[2:]))
    hunk = Hunk("file:///w/x", 0, old_lines, new_lines, 1.0, 1.0)
    assert renamed_identifier(hunk) is not None
    edit = next_use_of_rename(edited, hunk, language_id=language)
    assert edit is not None and (*edit.start, edit.text) == (*expected, "rad")


def test_a_hunk_of_several_different_renames_is_no_rename() -> None:
    hunk = Hunk("u", 0, ("f(a)", "g(b)"), ("f(x)", "g(y)"), 1.0, 1.0)
    assert renamed_identifier(hunk) is None


def test_a_change_inside_a_string_is_no_rename() -> None:
    text, hunk = _renamed('def f():\n    log("retry")\n    retry = 1\n', 1,
                          '    log("retry")', '    log("retries")')
    assert next_use_of_rename(text, hunk, language_id="python") is None


REPEATS = [
    ("python", "x = avilable\n# avilable\ny = 'avilable' + avilable\n", 0, "x = avilable",
     "x = available", (2, 17)),
    ("javascript", 'let a = avilable;\n// avilable\nlet b = "avilable" + avilable;\n', 0,
     "let a = avilable;", "let a = available;", (2, 21)),
    ("go", 'func f() {\n\ta := avilable\n\t// avilable\n\tb := "avilable" + avilable\n}\n',
     1, "\ta := avilable", "\ta := available", (3, 19)),
    ("c", 'int a = avilable;\n/* avilable */\nchar *b = "avilable"; int c = avilable;\n', 0,
     "int a = avilable;", "int a = available;", (2, 30)),
]


@pytest.mark.parametrize(("language", "text", "line", "old", "new", "expected"), REPEATS,
                         ids=[c[0] for c in REPEATS])
def test_an_identifier_change_repeats_at_identifiers_only(
        language: str, text: str, line: int, old: str, new: str,
        expected: tuple[int, int]) -> None:
    edited, hunk = _renamed(text, line, old, new)
    window = window_around(edited, line, 0, 5, 0, 0)
    edit = repeat_last_change(edited, hunk, window, language_id=language)
    assert edit is not None and (*edit.start, edit.text) == (*expected, "available")


def test_a_comment_typo_fix_still_repeats_into_strings() -> None:
    edited, hunk = _renamed("# avilable\ns = 'avilable'\n", 0, "# avilable", "# available")
    window = window_around(edited, 0, 0, 3, 0, 0)
    edit = repeat_last_change(edited, hunk, window, language_id="python")
    assert edit is not None and edit.start == (1, 5)


NO_USE_LEFT = [
    ("python", "def f(r):\n    pass\n\n\ndef g(r):\n    return r\n", 0, "def f(r):",
     "def f(rad):"),
    ("python", "def f(r):\n    return h(r=1) + obj.r\n", 0, "def f(r):", "def f(rad):"),
    ("python", "def f(r):\n    def g(r):\n        return r\n    return g(1)\n", 0,
     "def f(r):", "def f(rad):"),
    ("javascript", "function f(r) { return 1; }\nfunction g(r) { return r; }\n", 0,
     "function f(r) { return 1; }", "function f(rad) { return 1; }"),
    ("c", "int f(int r) { return 1; }\nint g(int r) { return r; }\n", 0,
     "int f(int r) { return 1; }", "int f(int rad) { return 1; }"),
    ("go", "func f(r int) int {\n\treturn obj.r\n}\nfunc g(r int) int {\n\treturn r\n}\n", 0,
     "func f(r int) int {", "func f(rad int) int {"),
    ("java", "class A {\n  int f(int r) { return obj.r; }\n  int g(int r) { return r; }\n}\n",
     1, "  int f(int r) { return obj.r; }", "  int f(int rad) { return obj.r; }"),
    ("rust", "fn f(r: i32) -> i32 {\n    p.r\n}\nfn g(r: i32) -> i32 {\n    r\n}\n", 0,
     "fn f(r: i32) -> i32 {", "fn f(rad: i32) -> i32 {"),
]


@pytest.mark.parametrize(("language", "text", "line", "old", "new"), NO_USE_LEFT,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(NO_USE_LEFT)])
def test_a_renamed_parameter_without_uses_left_in_scope_has_no_guess(
        language: str, text: str, line: int, old: str, new: str) -> None:
    # Neither the rename nor the repeated change reaches beyond the parameter's function.
    edited, hunk = _renamed(text, line, old, new)
    window = window_around(edited, line, 0, 8, 0, 0)
    assert cheap_next_edit(edited, hunk, window, language) is None
