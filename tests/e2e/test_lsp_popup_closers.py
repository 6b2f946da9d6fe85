"""Over stdio: a completion-popup item at an auto-closed bracket writes the whole answer and
replaces the closers the editor typed, as the inline item does: through its edit's range
(clients that apply ranges: eglot, VS Code), or, for Neovim 0.11's own popup (it inserts at
the cursor whatever the range's end says), from the cursor with an additional edit deleting
the closers. In every language, every line ending, with a snippet client, a plain one and
Neovim's."""

from __future__ import annotations

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from loomline.context.positions import to_lf
from tests.lsp_client import Session, inline, loomline_client, open_doc

# (language, extension, document with █ at the cursor, the model's answer, the cursor's line
#  once the item is applied)
CASES = [
    ("python", "py", "def foo(█)\n    pass\n", "bar: str):", "def foo(bar: str):"),
    ("python", "py", "def foo(ba█)\n    pass\n", "r: str):", "def foo(bar: str):"),
    ("python", "py", "class A(█)\n", "Base):", "class A(Base):"),
    ("python", "py", "for x in range(█)\n", "10):", "for x in range(10):"),
    ("python", "py", "with open(█)\n", "path) as f:", "with open(path) as f:"),
    ("python", "py", "def greet(█)\n", "):", "def greet():"),  # all of it over the closer
    ("python", "py", "total = sum([█])\n", "1, 2]) + 3", "total = sum([1, 2]) + 3"),
    ("javascript", "js", "nums.map(█)\n", "n => n * 2);", "nums.map(n => n * 2);"),
    ("javascript", "js", "xs.filter(█)\n", "x => x > 0).length;",
     "xs.filter(x => x > 0).length;"),
    ("typescript", "ts", "const d = f(█)\n", "x as number);", "const d = f(x as number);"),
    ("go", "go", "func f() {\n\tfmt.Println(█)\n}\n", '"hi", name) // ok',
     '\tfmt.Println("hi", name) // ok'),
    ("rust", "rs", "fn f() {\n    xs.iter().map(█)\n}\n", "|x| x * 2).collect()",
     "    xs.iter().map(|x| x * 2).collect()"),
    ("java", "java", "class A {\n  void f(int n) {\n    System.out.println(█)\n  }\n}\n",
     "n * 2);", "    System.out.println(n * 2);"),
    ("c", "c", "int f(int n) {\n  return abs(█)\n}\n", "n) + 1;", "  return abs(n) + 1;"),
    ("cpp", "cpp", "int main() {\n  std::vector<int> v{█}\n}\n", "1, 2, 3};",
     "  std::vector<int> v{1, 2, 3};"),
]
LINE_ENDINGS = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}
CLIENTS = ("plain", "snippet", "neovim")
SNIPPETS = types.ClientCapabilities(
    text_document=types.TextDocumentClientCapabilities(
        completion=types.CompletionClientCapabilities(
            completion_item=types.ClientCompletionItemOptions(snippet_support=True)
        )
    )
)
PARAMS = [(case, client, ending) for case in CASES for client in CLIENTS for ending in LINE_ENDINGS]


@pytest.fixture(params=PARAMS, ids=[f"{case[0]}-{case[3][:6]}-{client}-{ending}"
                                    for case, client, ending in PARAMS])
def case(request: pytest.FixtureRequest) -> tuple[tuple[str, ...], str, str]:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def session(case: tuple[tuple[str, ...], str, str]) -> Session:
    (_language, _extension, _marked, answer, *_), client_kind, _ending = case
    return Session(
        options={"backend": "fake", "fake": {"response": answer, "chunkDelayMs": 0}},
        root_uri="file:///tmp/loomline-popup",
        **({"capabilities": SNIPPETS} if client_kind != "plain" else {}),
        **({"client_info": types.ClientInfo(name="Neovim", version="0.11.4")}
           if client_kind == "neovim" else {}),
    )


client = loomline_client("session")


def _cursor(marked: str) -> tuple[str, types.Position]:
    head = marked[: marked.index("█")]
    line = head.count("\n")
    return marked.replace("█", ""), types.Position(line, len(head) - head.rfind("\n") - 1)


def _unsnippet(text: str) -> str:
    return text.removesuffix("$0").replace("\\$", "$").replace("\\}", "}").replace("\\\\", "\\")


async def test_the_popup_item_writes_the_whole_answer_over_the_typed_closers(
    client: LanguageClient, case: tuple[tuple[str, ...], str, str]
) -> None:
    (language, extension, marked, _answer, expected), client_kind, ending = case
    uri = f"file:///tmp/loomline-popup/a.{extension}"
    text, cursor = _cursor(marked)
    line = text.split("\n")[cursor.line]
    open_doc(client, uri, text.replace("\n", LINE_ENDINGS[ending]), language)
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri),
                               position=cursor)
    )
    assert isinstance(result, types.CompletionList) and len(result.items) == 1
    item = result.items[0]
    edit = item.text_edit
    assert isinstance(edit, types.TextEdit)
    assert edit.range.start.line == edit.range.end.line == cursor.line
    assert edit.range.start.character <= cursor.character <= edit.range.end.character
    assert item.label.strip() and item.filter_text
    new_text = _unsnippet(edit.new_text) if client_kind != "plain" else edit.new_text
    if client_kind == "neovim":
        # Neovim's popup: on <C-y> the additional edits (in the document's coordinates), then
        # the text at the cursor (range ignored); on <CR> the text at the cursor alone. The
        # text stops where the answer writes the closers, and an additional edit writes the
        # rest after them (or, where the closers cannot be placed, deletes them).
        assert edit.range.start == edit.range.end == cursor
        extra = item.additional_text_edits or []
        assert len(extra) <= 1
        rest = line[cursor.character :]
        for added in extra:
            assert added.range.start.line == added.range.end.line == cursor.line
            assert added.range.start.character >= cursor.character
            rest = (line[cursor.character : added.range.start.character]
                    + to_lf(added.new_text) + line[added.range.end.character :])
        if extra and extra[0].range.start != extra[0].range.end:
            assert extra[0].new_text == ""  # the whole answer at the cursor, closers deleted
        else:
            # <CR>: the typed closers stay, after the answer's text up to them.
            entered = line[: cursor.character] + new_text + line[cursor.character :]
            assert entered.startswith(line[: cursor.character] + new_text)
            assert not new_text.endswith(line[cursor.character : cursor.character + 1] or "\0")
    else:
        assert not item.additional_text_edits
        rest = line[edit.range.end.character :]
    assert line[: edit.range.start.character] + new_text + rest == expected

    answer = await inline(client, uri, cursor.line, cursor.character)
    assert answer is not None and len(answer.items) == 1
    inline_item = answer.items[0]
    assert inline_item.range is not None and isinstance(inline_item.insert_text, str)
    assert (line[: inline_item.range.start.character] + inline_item.insert_text
            + line[inline_item.range.end.character :]) == expected
