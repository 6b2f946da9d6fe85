"""OwnDocumentsProtocol: pygls keeps no copy of the documents and leaves the params as sent
(it clamped columns in place in the params our handler then read)."""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from loomline.server.app import LoomlineServer

URI = "file:///w/a.py"


def _run(handler: Any) -> list[Any]:
    """Run a built-in handler: pygls' own are generators (run them and what they hand to user
    handlers); the notification overrides are plain methods, already run by the call."""
    return [] if handler is None else list(handler)


def _initialized() -> LoomlineServer:
    server = LoomlineServer()
    _run(server.protocol.lsp_initialize(
        types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri="file:///w")
    ))
    return server


def test_text_sync_is_still_advertised_and_notebook_sync_is_not() -> None:
    server = _initialized()
    capabilities = server.protocol.server_capabilities
    sync = capabilities.text_document_sync
    assert isinstance(sync, types.TextDocumentSyncOptions)
    assert sync.open_close and sync.change == types.TextDocumentSyncKind.Incremental
    assert capabilities.notebook_document_sync is None


def test_pygls_applies_no_document_notification_and_leaves_the_params_alone() -> None:
    server = _initialized()
    protocol = server.protocol
    _run(protocol.lsp_text_document__did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=URI, language_id="python", version=1,
                                             text="abc")
    )))
    past_the_end = types.Position(line=0, character=10)
    change = types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=2),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(start=past_the_end, end=past_the_end), text="X"
        )],
    )
    _run(protocol.lsp_text_document__did_change(change))
    # pygls used to clamp the column in place (to 3), so our handler read another edit.
    assert change.content_changes[0].range.start.character == 10  # type: ignore[union-attr]
    assert protocol.workspace.text_documents == {}
    # A change or close of a document that is not open raises nowhere (pygls' KeyError).
    _run(protocol.lsp_text_document__did_close(types.DidCloseTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri="file:///w/never.py")
    )))



def test_the_document_text_command_shows_the_stores_copy() -> None:
    from loomline.context.documents import DocumentStore
    from loomline.server.document_sync import document_snapshot

    store = DocumentStore()
    store.open(URI, "python", 3, "if x:\r\n\ty = 1\r\n")
    assert document_snapshot(store, {"textDocument": {"uri": URI}}) == {
        "text": "if x:\r\n\ty = 1\r\n",
        "version": 3,
        "languageId": "python",
        "lineEnding": "\r\n",
        "indentUnit": "\t",
        "inSync": True,
    }
    for malformed in (None, {}, {"textDocument": 3}, {"textDocument": {"uri": 7}}, "x"):
        assert document_snapshot(store, malformed) is None
    assert document_snapshot(store, {"textDocument": {"uri": "file:///w/closed.py"}}) is None
