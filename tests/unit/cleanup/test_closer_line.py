"""A block answered at an auto-closed bracket (``{|}``, ``[|]``): the closer the editor typed
(or the answer's own, which then stands for it) goes on a line of its own at the indentation
of the line that opened the block, never glued onto the last body line (``return 1;}``);
a last body line that ends in a comment keeps the block (glued, the closer was commented out
and the parse check dropped the body). In every language with braces and Python's brackets.
"""

from __future__ import annotations

import pytest

from loomline.completion.engines.fake import FakeEngine
from loomline.completion.service import Completion, CompletionService
from loomline.completion.settings import FakeSettings, Settings
from loomline.completion.workspace_context import WorkspaceContext
from loomline.context.documents import DocumentStore
from loomline.context.parse_errors import adds_parse_errors
from loomline.context.positions import with_line_ending
from tests.unit.cleanup.marks import CURSOR, applied

# (language, document, raw model output, the document once the answer is applied)
GLUED = [
    pytest.param("javascript", "function f() {█}\n", "\n  return 1;\n}",
                 "function f() {\n  return 1;\n}\n", id="javascript-own-closer"),
    pytest.param("javascript", "function f() {█}\n", "\n  return 1;",
                 "function f() {\n  return 1;\n}\n", id="javascript-no-closer"),
    pytest.param("javascript", "nums.forEach((n) => {█});\n", "\n  total += n;\n});",
                 "nums.forEach((n) => {\n  total += n;\n});\n", id="javascript-callback"),
    pytest.param("typescript", "function f(): number {█}\n",
                 "\n  const x = 1;\n  return x;\n}",
                 "function f(): number {\n  const x = 1;\n  return x;\n}\n", id="typescript"),
    pytest.param("go", "func f() int {█}\n", "\n\tx := 1\n\treturn x\n}",
                 "func f() int {\n\tx := 1\n\treturn x\n}\n", id="go"),
    pytest.param("go", "func f() {\n\tfor {█}\n}\n", "\n\t\tx++\n\t}",
                 "func f() {\n\tfor {\n\t\tx++\n\t}\n}\n", id="go-nested"),
    pytest.param("rust", "fn f() -> i32 {█}\n", "\n    let x = 1;\n    x\n}",
                 "fn f() -> i32 {\n    let x = 1;\n    x\n}\n", id="rust"),
    pytest.param("java", "class A {\n  int f() {█}\n}\n", "\n    return 1;\n  }",
                 "class A {\n  int f() {\n    return 1;\n  }\n}\n", id="java-nested"),
    pytest.param("java", "class A {\n  int f() {█}\n}\n", "\n    return 1;",
                 "class A {\n  int f() {\n    return 1;\n  }\n}\n", id="java-no-closer"),
    pytest.param("c", "int f(void) {█}\n", "\n  return 1;\n}",
                 "int f(void) {\n  return 1;\n}\n", id="c"),
    pytest.param("cpp", "int f() {█}\n", "\n  int x = 1;\n  return x;\n}",
                 "int f() {\n  int x = 1;\n  return x;\n}\n", id="cpp"),
    pytest.param("python", "xs = [█]\n", "\n    1,\n    2,\n]",
                 "xs = [\n    1,\n    2,\n]\n", id="python-list"),
    pytest.param("python", "d = {█}\n", '\n    "a": 1,\n}',
                 'd = {\n    "a": 1,\n}\n', id="python-dict"),
    pytest.param("python", "total = add(█)\n", "\n    a,\n    b,\n)",
                 "total = add(\n    a,\n    b,\n)\n", id="python-call"),
    pytest.param("python", "def f():\n    return [█]\n", "\n        1,\n        2,\n    ]",
                 "def f():\n    return [\n        1,\n        2,\n    ]\n", id="python-nested"),
]

# The last body line ends in a comment: glued, the closer would be commented out.
COMMENT_LAST = [
    pytest.param("javascript", "function f() {█}\n",
                 "\n  let x = 0;\n  x += 1; // count it\n}",
                 "function f() {\n  let x = 0;\n  x += 1; // count it\n}\n",
                 id="comment-javascript"),
    pytest.param("typescript", "function f(): void {█}\n",
                 "\n  let x: number = 0;\n  x += 1; // count it",
                 "function f(): void {\n  let x: number = 0;\n  x += 1; // count it\n}\n",
                 id="comment-typescript"),
    pytest.param("go", "func f() {█}\n", "\n\tx := 0\n\tx += 1 // count it\n}",
                 "func f() {\n\tx := 0\n\tx += 1 // count it\n}\n", id="comment-go"),
    pytest.param("go", "func f() {\n\tfor {█}\n}\n", "\n\t\tx += 1 // count it\n\t}",
                 "func f() {\n\tfor {\n\t\tx += 1 // count it\n\t}\n}\n", id="comment-go-nested"),
    pytest.param("rust", "fn f() {█}\n", "\n    let mut x = 0;\n    x += 1; // count it\n}",
                 "fn f() {\n    let mut x = 0;\n    x += 1; // count it\n}\n", id="comment-rust"),
    pytest.param("java", "class A {\n  void f() {█}\n}\n",
                 "\n    int x = 0;\n    x += 1; // count it\n  }",
                 "class A {\n  void f() {\n    int x = 0;\n    x += 1; // count it\n  }\n}\n",
                 id="comment-java"),
    pytest.param("c", "void f(void) {█}\n", "\n  int x = 0;\n  x += 1; /* count it */\n}",
                 "void f(void) {\n  int x = 0;\n  x += 1; /* count it */\n}\n",
                 id="comment-c-block-comment"),
    pytest.param("cpp", "void f() {█}\n", "\n  int x = 0;\n  x += 1; // count it\n}",
                 "void f() {\n  int x = 0;\n  x += 1; // count it\n}\n", id="comment-cpp"),
    pytest.param("python", "xs = [█]\n", "\n    1,\n    2,  # done\n]",
                 "xs = [\n    1,\n    2,  # done\n]\n", id="comment-python-list"),
    pytest.param("python", "total = add(█)\n", "\n    a,\n    b,  # done\n)",
                 "total = add(\n    a,\n    b,  # done\n)\n", id="comment-python-call"),
]

# Siblings: a last line ending in a string (with a closer or comment marker in it), a block
# whose answer ends in a blank line before its closer.
SIBLINGS = [
    pytest.param("javascript", "function f() {█}\n", '\n  return "}";\n}',
                 'function f() {\n  return "}";\n}\n', id="javascript-string-with-closer"),
    pytest.param("go", "func f() string {█}\n", '\n\treturn "http://x"\n}',
                 'func f() string {\n\treturn "http://x"\n}\n', id="go-string-like-comment"),
    pytest.param("python", "xs = [█]\n", '\n    "a",\n    "]",\n]',
                 'xs = [\n    "a",\n    "]",\n]\n', id="python-string-with-closer"),
    pytest.param("rust", "fn f() {█}\n", "\n    let x = 1;\n    g(x);\n\n}",
                 "fn f() {\n    let x = 1;\n    g(x);\n}\n", id="rust-blank-line"),
    pytest.param("c", "int f(void) {█}\n", "\n  return 1;\n\n",
                 "int f(void) {\n  return 1;\n}\n", id="c-blank-line"),
    pytest.param("java", "class A {\n  void f() {█}\n}\n", "\n    g();\n\n  }",
                 "class A {\n  void f() {\n    g();\n  }\n}\n", id="java-blank-line"),
]


@pytest.mark.parametrize(("language_id", "marked", "raw", "expected"),
                         GLUED + COMMENT_LAST + SIBLINGS)
def test_the_blocks_closer_goes_on_a_line_of_its_own(
    language_id: str, marked: str, raw: str, expected: str
) -> None:
    assert not adds_parse_errors(language_id, "", expected, "")
    _text, document, _cursor = applied(marked, language_id, raw)
    assert document == expected


@pytest.mark.parametrize(("language_id", "marked", "raw", "expected"), GLUED[:3])
def test_the_same_answer_read_as_single_line_keeps_its_first_line_only(
    language_id: str, marked: str, raw: str, expected: str
) -> None:
    """completion.multiline "never": the user's word, nothing goes on to later lines (and
    so nothing is glued)."""
    text, document, _cursor = applied(marked, language_id, raw, multiline=False)
    assert "\n" not in text
    assert document == marked.replace(CURSOR, text)


@pytest.mark.parametrize(
    ("language_id", "marked", "raw"),
    [
        # The bracket does not end its line: the body goes on from it, and so does its closer.
        pytest.param("python", "total = add(a,█)\n", "\n    b, c", id="python-hanging"),
        pytest.param("javascript", "call(first,█)\n", "\n  second,\n  third",
                     id="javascript-hanging"),
    ],
)
def test_a_bracket_that_does_not_end_its_line_keeps_its_closer_on_the_last_line(
    language_id: str, marked: str, raw: str
) -> None:
    text, document, _cursor = applied(marked, language_id, raw, multiline=True)
    assert text == raw.rstrip()
    assert document == marked.replace(CURSOR, text)


# A comment (or string) the answer ends with that itself ends with a closer: no repeat of the
# closer after the cursor, so it is not cut (``// count it }`` lost its ``}``).
CLOSER_IN_A_COMMENT = [
    pytest.param("javascript", "function f() {\n  █\n}\n", "x += 1; // count it }",
                 "function f() {\n  x += 1; // count it }\n}\n", id="javascript-block"),
    pytest.param("javascript", "f(█)\n", "a); // call f)", "f(a); // call f)\n",
                 id="javascript-line"),
    pytest.param("typescript", "g(█)\n", "a); /* g(a) */", "g(a); /* g(a) */\n",
                 id="typescript-line"),
    pytest.param("go", "func f() {\n\t█\n}\n", "x := 0\n\tx += 1 // count it }\n}",
                 "func f() {\n\tx := 0\n\tx += 1 // count it }\n}\n", id="go-block"),
    pytest.param("rust", "fn f() {\n    █\n}\n", "g(); // done)",
                 "fn f() {\n    g(); // done)\n}\n", id="rust-block"),
    pytest.param("java", "class A {\n  void f() {\n    █\n  }\n}\n", "g(); // done }",
                 "class A {\n  void f() {\n    g(); // done }\n  }\n}\n", id="java-block"),
    pytest.param("c", "int f(void) {\n  return g(█)\n}\n", "1); // g(1)",
                 "int f(void) {\n  return g(1); // g(1)\n}\n", id="c-line"),
    pytest.param("cpp", "int f() {\n  █\n}\n", "return 1; // done }",
                 "int f() {\n  return 1; // done }\n}\n", id="cpp-block"),
    pytest.param("python", "xs = [█]\n", "\n    1,\n    2,  # done ]\n]",
                 "xs = [\n    1,\n    2,  # done ]\n]\n", id="python-list"),
    pytest.param("python", "f(█)\n", "a)  # call f)", "f(a)  # call f)\n", id="python-line"),
    pytest.param("python", "print(█)\n", "x, \")\")", "print(x, \")\")\n",
                 id="python-string"),
]


@pytest.mark.parametrize(("language_id", "marked", "raw", "expected"), CLOSER_IN_A_COMMENT)
def test_a_closer_at_the_end_of_a_comment_is_kept(
    language_id: str, marked: str, raw: str, expected: str
) -> None:
    assert not adds_parse_errors(language_id, "", expected, "")
    _text, document, _cursor = applied(marked, language_id, raw)
    assert document == expected


# Through the completion service, in each line ending: the answer comes back in the
# document's breaks and lands with the closer on its own line.
SERVED = [
    pytest.param("javascript", "function f() {█}\n", "\n  return 1;\n}",
                 "function f() {\n  return 1;\n}\n", id="javascript"),
    pytest.param("go", "func f() {█}\n", "\n\tx := 0\n\tx += 1 // count it\n}",
                 "func f() {\n\tx := 0\n\tx += 1 // count it\n}\n", id="go-comment"),
    pytest.param("python", "xs = [█]\n", "\n    1,\n    2,  # done\n]",
                 "xs = [\n    1,\n    2,  # done\n]\n", id="python-comment"),
]


@pytest.mark.parametrize(("language_id", "marked", "response", "expected"), SERVED)
@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
async def test_the_served_answer_lands_with_the_closer_on_its_own_line(
    language_id: str, marked: str, response: str, expected: str, ending: str
) -> None:
    settings = Settings(backend="fake")
    engine = FakeEngine(FakeSettings(response=response, chunk_delay_ms=0))
    await engine.start()
    store = DocumentStore()
    service = CompletionService(settings, engine, documents=store,
                                workspace=WorkspaceContext(settings, store))
    text = with_line_ending(marked.replace(CURSOR, ""), ending)
    document = store.open(f"file:///w/a.{language_id}", language_id, 1, text)
    cursor = with_line_ending(marked[: marked.index(CURSOR)], ending)
    position = document.position_at(len(cursor))
    result = await service.complete(document, position, explicit=True)
    assert isinstance(result, Completion), result
    start = document.offset_at(result.position)
    end = document.offset_at(result.end) if result.end else start
    assert text[:start] + result.text + text[end:] == with_line_ending(expected, ending)
