"""A block answer whose line starts with the closer of the block the cursor is in and goes on
with the next clause of the statement (``} else {``, ``} else if (x) {``, ``} catch (e) {``,
``} finally {``, ``}).then(y => {``) keeps that clause: the line is no end of the block. With
the closer typed after the cursor (``if x {|}``: the answer's last closer replaces it) and on
the next line (the editor put it there: the answer's last closer line repeats it); in every
language with such chains and every line ending."""

from __future__ import annotations

import pytest

from loomline.completion.cleanup import clean
from loomline.completion.service import Completion
from loomline.context.parse_errors import parse_error_count
from tests.unit.cleanup.marks import CURSOR, cursor_for
from tests.unit.editing.harness import ENDINGS, complete_marked, streamed

# (language, the text up to the block's opener, the block after it through its last closer
# line, the text after that): the document once the answer is applied is the three joined.
CHAINS = [
    pytest.param("go", "func f(x int) int {\n\tif x > 0 {",
                 "\n\t\treturn 1\n\t} else if x < 0 {\n\t\treturn -1\n\t} else {\n"
                 "\t\treturn 0\n\t}",
                 "\n\treturn 2\n}\n", id="go-else-if"),
    pytest.param("javascript", "function f(x) {\n  try {",
                 "\n    g(x);\n  } catch (e) {\n    h(e);\n  }", "\n}\n", id="javascript-catch"),
    pytest.param("javascript", "promise.then(x => {",
                 "\n  a(x);\n}).then(y => {\n  b(y);\n})", ";\n", id="javascript-then"),
    pytest.param("typescript", "function f(x: number): void {\n  if (x > 1) {",
                 "\n    g();\n  } else if (x > 0) {\n    h();\n  }", "\n}\n",
                 id="typescript-else-if"),
    pytest.param("rust", "fn f(x: i32) -> i32 {\n    if x > 0 {",
                 "\n        1\n    } else {\n        2\n    }", "\n}\n", id="rust-else"),
    pytest.param("java", "class A {\n  void f() {\n    try {",
                 "\n      g();\n    } catch (Exception e) {\n      h(e);\n    } finally {\n"
                 "      k();\n    }", "\n  }\n}\n", id="java-catch-finally"),
    pytest.param("c", "int f(int x) {\n  if (x) {",
                 "\n    return 1;\n  } else {\n    return 2;\n  }", "\n}\n", id="c-else"),
    pytest.param("cpp", "void f() {\n  try {",
                 "\n    g();\n  } catch (const std::exception& e) {\n    h(e);\n  }", "\n}\n",
                 id="cpp-catch"),
]


def _typed_closer_case(head: str, block: str, tail: str) -> tuple[str, str]:
    """The document with the block's closers typed after the cursor (``{|}``), the answer."""
    closers = block.rsplit("\n", 1)[1].strip()
    return head + CURSOR + closers + tail, block


def _closer_below_case(head: str, block: str, tail: str) -> tuple[str, str]:
    """The document with the cursor on the block's empty body line and the closers on the
    next one, as the editor leaves them after Enter; the answer."""
    lines = block.split("\n")
    body_indent = lines[1][: len(lines[1]) - len(lines[1].lstrip())]
    marked = head + "\n" + body_indent + CURSOR + "\n" + lines[-1] + tail
    return marked, block[len("\n" + body_indent) :]


@pytest.mark.parametrize("multiline", ["auto", "always"])
@pytest.mark.parametrize("ending", list(ENDINGS))
@pytest.mark.parametrize("case", [_typed_closer_case, _closer_below_case],
                         ids=["typed-closer", "closer-below"])
@pytest.mark.parametrize(("language_id", "head", "block", "tail"), CHAINS)
async def test_a_clause_chain_in_the_answer_keeps_its_next_clause(
    language_id: str, head: str, block: str, tail: str, case: object, ending: str,
    multiline: str,
) -> None:
    assert callable(case)
    marked, answer = case(head, block, tail)
    result, applied = await complete_marked(language_id, marked, answer, ending=ending,
                                            multiline=multiline)
    assert isinstance(result, Completion), result
    assert applied == head + block + tail
    assert parse_error_count(language_id, applied) == 0


# (language, document, answer, what is inserted): a chain where the block cannot go on with
# another clause (a function's body) or where the cursor's block has more code after the
# cursor (a clause there would take it in) ends at its closer line, as any other line that
# leaves the block does.
NOT_CHAINS = [
    pytest.param("go", "func f() int {█}\n", "\n\treturn 1\n} else {\n\treturn 2\n}",
                 "\n\treturn 1\n", id="go-function-body"),
    pytest.param("javascript", "function f(x) {\n  if (x) {\n    █\n    g();\n  }\n}\n",
                 "a();\n  } else {\n    b();\n  }", "a();", id="javascript-code-after"),
    pytest.param("rust", "fn f() {\n    █\n}\n", "g();\n} else {\n    h();\n}", "g();",
                 id="rust-function-body"),
]


@pytest.mark.parametrize("ending", list(ENDINGS))
@pytest.mark.parametrize(("language_id", "marked", "answer", "inserted"), NOT_CHAINS)
async def test_a_clause_where_none_can_follow_ends_the_answer(
    language_id: str, marked: str, answer: str, inserted: str, ending: str
) -> None:
    result, applied = await complete_marked(language_id, marked, answer, ending=ending)
    assert isinstance(result, Completion), result
    head, tail = marked.split(CURSOR)
    assert applied == head + inserted + tail


@pytest.mark.parametrize("size", [1, 2, 5])
@pytest.mark.parametrize("case", [_typed_closer_case, _closer_below_case],
                         ids=["typed-closer", "closer-below"])
@pytest.mark.parametrize(("language_id", "head", "block", "tail"), CHAINS)
def test_a_streamed_chain_is_read_past_its_closer(
    language_id: str, head: str, block: str, tail: str, case: object, size: int
) -> None:
    # A line so far `}` (or `} el`) may yet become `} else {`: the stream is read on.
    assert callable(case)
    marked, answer = case(head, block, tail)
    cursor = cursor_for(marked, language_id, multiline=True)
    assert streamed(marked, language_id, answer, size) == clean(answer, cursor)
