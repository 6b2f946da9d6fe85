"""server/document_sync.py's plain functions: LSP notifications into the document store and
the workspace folders (the protocol that routes them is tested end to end)."""

from __future__ import annotations

from lsprotocol import types

from loomline.context.documents import DocumentStore
from loomline.context.workspace_folders import WorkspaceFolders
from loomline.server.document_sync import (
    change_document,
    change_folders,
    close_document,
    initial_folders,
    open_document,
)

URI = "file:///work/a.py"


def _open(documents: DocumentStore, text: str) -> None:
    open_document(
        documents,
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=URI, language_id="python", version=1, text=text
            )
        ),
    )


def _change(uri: str, version: int, *changes: types.TextDocumentContentChangeEvent):
    return types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=list(changes),
    )


def _at(line: int, character: int, end_line: int, end: int, text: str):
    return types.TextDocumentContentChangePartial(
        range=types.Range(
            start=types.Position(line, character), end=types.Position(end_line, end)
        ),
        text=text,
    )


def test_open_change_close():
    documents = DocumentStore()
    _open(documents, "s = '😀'\n")
    document = documents.get(URI)
    assert document is not None
    assert (document.language_id, document.version, document.text) == ("python", 1, "s = '😀'\n")
    # Column 7 is after the emoji in UTF-16 (it spans 5-6); changes apply in order.
    assert change_document(
        documents, _change(URI, 2, _at(0, 7, 0, 7, "x"), _at(1, 0, 1, 0, "def f():\n    "))
    )
    document = documents.get(URI)
    assert document is not None
    assert (document.version, document.text) == (2, "s = '😀x'\ndef f():\n    ")
    assert change_document(
        documents, _change(URI, 3, types.TextDocumentContentChangeWholeDocument(text="new\n"))
    )
    document = documents.get(URI)
    assert document is not None and (document.version, document.text) == (3, "new\n")
    close_document(
        documents,
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=URI)),
    )
    assert documents.get(URI) is None


def test_a_change_to_a_document_not_open_is_refused():
    documents = DocumentStore()
    assert change_document(documents, _change(URI, 2, _at(0, 0, 0, 0, "x"))) is False
    assert documents.get(URI) is None


def _initialize(**fields: object) -> types.InitializeParams:
    return types.InitializeParams(capabilities=types.ClientCapabilities(), **fields)  # type: ignore[arg-type]


def test_initial_folders_prefer_workspace_folders_then_root_uri_then_root_path():
    folders = WorkspaceFolders.of("file:///stale")
    initial_folders(
        folders,
        _initialize(
            workspace_folders=[
                types.WorkspaceFolder(uri="file:///work/a", name="a"),
                types.WorkspaceFolder(uri="file:///work/b", name="b"),
            ],
            root_uri="file:///ignored",
        ),
    )
    assert [f.uri for f in folders.folders] == ["file:///work/a", "file:///work/b"]
    initial_folders(folders, _initialize(root_uri="file:///work/c", root_path="/ignored"))
    assert [f.uri for f in folders.folders] == ["file:///work/c"]
    initial_folders(folders, _initialize(root_path="/work/d"))
    assert [(f.uri, f.path) for f in folders.folders] == [("file:///work/d", "/work/d")]
    initial_folders(folders, _initialize())
    assert folders.folders == [] and folders.root is None


def test_folders_change_removed_first_then_added():
    folders = WorkspaceFolders.of("file:///work/a", "file:///work/b")
    change_folders(
        folders,
        types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(
                added=[types.WorkspaceFolder(uri="file:///work/a", name="a")],
                removed=[types.WorkspaceFolder(uri="file:///work/a", name="a")],
            )
        ),
    )
    # Removed and added back in one event: still there, now last.
    assert [f.uri for f in folders.folders] == ["file:///work/b", "file:///work/a"]
