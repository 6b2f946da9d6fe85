"""Over stdio: a completion-popup item at an auto-closed bracket inserts the answer up to the
closers the editor typed, instead of replacing them through its range (Neovim's popup inserts
at the cursor whatever the range's end says: ``def foo(bar: str):)``); the inline item still
replaces them through its range. In every language, with a snippet client and a plain one."""

from __future__ import annotations

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp_client import Session, first_completion_edit, inline, loomline_client, open_doc

# (language, extension, document with █ at the cursor, the model's answer, the cursor's line
#  once the popup item is inserted, the line once the inline item is applied)
CASES = [
    ("python", "py", "def foo(█)\n    pass\n", "bar: str):", "def foo(bar: str)",
     "def foo(bar: str):"),
    ("python", "py", "total = sum([█])\n", "1, 2]) + 3", "total = sum([1, 2])",
     "total = sum([1, 2]) + 3"),
    ("javascript", "js", "nums.map(█)\n", "n => n * 2);", "nums.map(n => n * 2)",
     "nums.map(n => n * 2);"),
    ("typescript", "ts", "const d = f(█)\n", "x as number);", "const d = f(x as number)",
     "const d = f(x as number);"),
    ("go", "go", "func f() {\n\tfmt.Println(█)\n}\n", '"hi", name) // ok',
     '\tfmt.Println("hi", name)', '\tfmt.Println("hi", name) // ok'),
    ("rust", "rs", "fn f() {\n    xs.iter().map(█)\n}\n", "|x| x * 2).collect()",
     "    xs.iter().map(|x| x * 2)", "    xs.iter().map(|x| x * 2).collect()"),
    ("java", "java", "class A {\n  void f(int n) {\n    System.out.println(█)\n  }\n}\n",
     "n * 2);", "    System.out.println(n * 2)", "    System.out.println(n * 2);"),
    ("c", "c", "int f(int n) {\n  return abs(█)\n}\n", "n) + 1;", "  return abs(n)",
     "  return abs(n) + 1;"),
    ("cpp", "cpp", "int main() {\n  std::vector<int> v{█}\n}\n", "1, 2, 3};",
     "  std::vector<int> v{1, 2, 3}", "  std::vector<int> v{1, 2, 3};"),
]
SNIPPETS = types.ClientCapabilities(
    text_document=types.TextDocumentClientCapabilities(
        completion=types.CompletionClientCapabilities(
            completion_item=types.ClientCompletionItemOptions(snippet_support=True)
        )
    )
)


@pytest.fixture(params=[(*case, snippets) for case in CASES for snippets in (False, True)],
                ids=[f"{case[0]}-{case[3][:6]}-{'snippet' if snippets else 'plain'}"
                     for case in CASES for snippets in (False, True)])
def case(request: pytest.FixtureRequest) -> tuple[str, ...]:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def session(case: tuple[str, ...]) -> Session:
    snippets = bool(case[-1])
    return Session(
        options={"backend": "fake", "fake": {"response": case[3], "chunkDelayMs": 0}},
        root_uri="file:///tmp/loomline-popup",
        **({"capabilities": SNIPPETS} if snippets else {}),
    )


client = loomline_client("session")


def _cursor(marked: str) -> tuple[str, types.Position]:
    head = marked[: marked.index("█")]
    line = head.count("\n")
    return marked.replace("█", ""), types.Position(line, len(head) - head.rfind("\n") - 1)


async def test_the_popup_item_inserts_up_to_the_typed_closers(
    client: LanguageClient, case: tuple[str, ...]
) -> None:
    language, extension, marked, _answer, popup_line, inline_line, snippets = case
    uri = f"file:///tmp/loomline-popup/a.{extension}"
    text, cursor = _cursor(marked)
    open_doc(client, uri, text, language)
    edit = await first_completion_edit(client, uri, cursor)
    assert edit.range.end == cursor  # nothing after the cursor for a client to misplace
    new_text = edit.new_text.removesuffix("$0") if snippets else edit.new_text
    new_text = new_text.replace("\\$", "$").replace("\\}", "}").replace("\\\\", "\\")
    line = text.split("\n")[cursor.line]
    assert line[: edit.range.start.character] + new_text + line[cursor.character :] == (
        popup_line
    )

    answer = await inline(client, uri, cursor.line, cursor.character)
    assert answer is not None and len(answer.items) == 1
    item = answer.items[0]
    assert item.range is not None and isinstance(item.insert_text, str)
    assert (line[: item.range.start.character] + item.insert_text
            + line[item.range.end.character :]) == inline_line
