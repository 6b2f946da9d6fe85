"""Over stdio: an answer that writes the closer the editor typed replaces it, through the
inline item's range and the completion item's edit alike (the scripted model answers
`bar: str):` at `def foo(|)`)."""

from __future__ import annotations

from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp_client import Session, first_completion_edit, inline, loomline_client, open_doc

client = loomline_client(
    Session(
        options={"backend": "fake", "fake": {"response": "bar: str):", "chunkDelayMs": 5}},
        root_uri="file:///tmp/loomline-closers",
    )
)

URI = "file:///tmp/loomline-closers/a.py"
CURSOR = types.Position(line=0, character=8)
AFTER_THE_CLOSER = types.Position(line=0, character=9)


async def test_the_inline_item_replaces_the_typed_closer(client: LanguageClient):
    open_doc(client, URI, "def foo()\n    pass\n")
    result = await inline(client, URI, 0, 8)
    assert result is not None and len(result.items) == 1
    item = result.items[0]
    assert item.insert_text == "bar: str):"
    assert item.range == types.Range(start=CURSOR, end=AFTER_THE_CLOSER)


async def test_the_completion_items_edit_replaces_the_typed_closer(client: LanguageClient):
    """The whole answer, the closer replaced (Neovim's own popup: test_lsp_popup_closers)."""
    open_doc(client, URI, "def foo()\n    pass\n")
    edit = await first_completion_edit(client, URI, CURSOR)
    assert edit.new_text == "bar: str):"
    assert edit.range == types.Range(start=CURSOR, end=AFTER_THE_CLOSER)
