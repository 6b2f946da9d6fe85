"""The server's copy of each document, over stdio with the scripted engine: it always equals
the client's, whatever the edits and the Unicode; documents that are not files complete too."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp_client import Session, command, inline, loomline_client, open_doc, show_context
from tests.text_model import ReferenceText, changes, texts

FAKE = {"backend": "fake", "fake": {"response": "return 42", "chunkDelayMs": 5}}
client = loomline_client(Session(options=FAKE, root_uri="file:///tmp/loomline-test"))

_documents = itertools.count()


async def server_text(client: LanguageClient, uri: str) -> dict[str, Any]:
    """The server's copy of the document (``loomline.documentText``)."""
    result: dict[str, Any] = await command(
        client, "loomline.documentText", {"textDocument": {"uri": uri}}
    )
    return result


def change(
    client: LanguageClient, uri: str, version: int, *events: types.TextDocumentContentChangeEvent
) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=list(events),
        )
    )


def edit(
    start: tuple[int, int], end: tuple[int, int], text: str
) -> types.TextDocumentContentChangeEvent:
    return types.TextDocumentContentChangePartial(
        range=types.Range(start=types.Position(*start), end=types.Position(*end)), text=text
    )


async def test_minimal_cases_of_line_breaks_and_columns(client: LanguageClient):
    cases = [
        ("a = 1\rb = 2\nc = 3\n", edit((1, 4), (1, 5), "9"), "a = 1\rb = 9\nc = 3\n"),
        ("x = 1\r", types.TextDocumentContentChangeWholeDocument(text="y = 2"), "y = 2"),
        ("abc", edit((0, 10), (0, 10), "X"), "abcX"),
        ("a\fbcdef", edit((0, 4), (0, 4), "X"), "a\fbcXdef"),
        ("a\u2028bc", edit((0, 3), (0, 3), "X"), "a\u2028bXc"),
    ]
    for number, (text, event, expected) in enumerate(cases):
        uri = f"file:///tmp/loomline-test/minimal{number}.py"
        open_doc(client, uri, text)
        change(client, uri, 2, event)
        shown = await server_text(client, uri)
        assert shown["text"] == expected, (text, event)
        assert shown["version"] == 2


async def test_a_change_to_an_unknown_document_is_ignored(client: LanguageClient):
    change(client, "file:///tmp/loomline-test/never-opened.py", 2, edit((0, 0), (0, 0), "x"))
    assert await server_text(client, "file:///tmp/loomline-test/never-opened.py") is None
    assert not any("Error" in m.message for m in client.messages)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=texts(), language=st.sampled_from(["plaintext", "python"]), data=st.data())
async def test_server_text_equals_the_clients_after_every_edit(
    client: LanguageClient, text: str, language: str, data: st.DataObject
):
    # Python documents also keep a syntax tree, edited along with the text.
    suffix = "py" if language == "python" else "txt"
    uri = f"file:///tmp/loomline-test/fuzz{next(_documents)}.{suffix}"
    reference = ReferenceText(text)
    open_doc(client, uri, text, language=language)
    for version in range(2, 42):
        drawn = data.draw(changes(reference))
        if isinstance(drawn, str):
            reference.replace_all(drawn)
            change(client, uri, version, types.TextDocumentContentChangeWholeDocument(text=drawn))
        else:
            start, end, new_text = drawn
            reference.apply(*start, *end, new_text)
            change(client, uri, version, edit(start, end, new_text))
        shown = await server_text(client, uri)
        assert shown["text"] == reference.text
        assert shown["version"] == version
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )



async def test_an_untitled_document_completes_with_a_folder_open(client: LanguageClient):
    uri = "untitled:Untitled-1"
    open_doc(client, uri, "def answer():\n    \n")
    result = await inline(client, uri, 1, 4)
    assert result is not None and [i.insert_text for i in result.items] == ["return 42"]
    listed = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=1, character=4),
        )
    )
    assert isinstance(listed, types.CompletionList)
    assert [item.label for item in listed.items] == ["return 42"]
    shown = await show_context(client, uri, 1, 4)
    assert shown is not None and shown["skip"] is None
    assert "def answer():\n    " in shown["prompt"]
