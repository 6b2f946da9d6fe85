"""Document synchronisation without pygls' own copy of the documents.

pygls' built-in ``didOpen`` / ``didChange`` / ``didClose`` handlers keep every document in its
workspace too. Nothing here reads that copy, and keeping it costs twice: it splits lines with
``str.splitlines()`` (form feed, U+2028 ... end a line there, not in the LSP) and, applying a
change, rewrites ``position.character`` in place in the very params our handler receives
afterwards. The protocol below hands the params to our handlers untouched and applies nothing
itself: ``DocumentStore`` is the one owner of the text. Notebooks (``notebook_sync``) go the
same way: their structure to the ``NotebookStore``, their cells' text to the documents.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol, runtime_checkable

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import lsp_method

from loomline.context.documents import DocumentStore
from loomline.context.notebooks import NotebookStore
from loomline.context.workspace_folders import WorkspaceFolders
from loomline.server import convert, notebook_sync
from loomline.server.methods import DOCUMENT_TEXT_COMMAND
from loomline.server.notifications import NotificationProtocol

log = logging.getLogger(__name__)


class OwnDocumentsProtocol(NotificationProtocol):
    """A protocol whose document and folder notifications reach the server's handlers only
    (pygls' own workspace, created at ``initialize``, stays as it was: nobody reads it). The
    overrides are plain methods, not generators: see ``notifications``."""

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        self._user_handler(types.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        self._user_handler(types.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        self._user_handler(types.TEXT_DOCUMENT_DID_CLOSE, params)

    def unreadable_notification(self, method: str, params: Any, problem: str) -> None:
        """A notification whose params could not be read (``transport.MessageGate``): a
        ``didChange`` of an open document is a lost edit (line -1, say), never dropped in
        silence."""
        if method != types.TEXT_DOCUMENT_DID_CHANGE or not isinstance(params, dict):
            return
        identifier = params.get("textDocument")
        uri = identifier.get("uri") if isinstance(identifier, dict) else None
        host = self._server
        if isinstance(uri, str) and isinstance(host, LostEditHost):
            lose_edit(host, uri, f"its params were invalid ({problem})")

    # pygls would keep its own copy of the notebooks and their cells too.
    @lsp_method(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def lsp_notebook_document__did_open(
        self, params: types.DidOpenNotebookDocumentParams
    ) -> None:
        self._user_handler(types.NOTEBOOK_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def lsp_notebook_document__did_change(
        self, params: types.DidChangeNotebookDocumentParams
    ) -> None:
        self._user_handler(types.NOTEBOOK_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def lsp_notebook_document__did_close(
        self, params: types.DidCloseNotebookDocumentParams
    ) -> None:
        self._user_handler(types.NOTEBOOK_DOCUMENT_DID_CLOSE, params)

    @lsp_method(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def lsp_workspace__did_change_workspace_folders(
        self, params: types.DidChangeWorkspaceFoldersParams
    ) -> None:
        self._user_handler(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS, params)


@runtime_checkable
class LostEditHost(Protocol):
    """Who hears of an edit the document store could not apply."""

    documents: DocumentStore
    folders: WorkspaceFolders

    def edit_lost(self, message: str) -> None:
        """Tell the user (once per document and loss)."""
        ...


class Host(LostEditHost, Protocol):
    """What document sync reads and calls of Loomline's server (``app.LoomlineServer``)."""

    notebooks: NotebookStore

    def folders_changed(self) -> None:
        """Index the folders added, drop the indexes of those removed."""
        ...


def register(server: LanguageServer, host: Host) -> None:
    """The document and folder notifications, and ``loomline.documentText``, on ``server``."""

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        open_document(host.documents, params)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        before = host.documents.get(uri)
        was_lost = before.out_of_sync if before is not None else None
        if not change_document(host.documents, params):
            log.info("change to a document that is not open: %s", uri)
        elif before is not None and before.out_of_sync and not was_lost:
            tell_lost(host, uri, before.out_of_sync)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        close_document(host.documents, params)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def did_open_notebook(params: types.DidOpenNotebookDocumentParams) -> None:
        notebook_sync.open_notebook(host.notebooks, host.documents, params)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def did_change_notebook(params: types.DidChangeNotebookDocumentParams) -> None:
        notebook_sync.change_notebook(host.notebooks, host.documents, params)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def did_close_notebook(params: types.DidCloseNotebookDocumentParams) -> None:
        notebook_sync.close_notebook(host.notebooks, host.documents, params)

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_workspace_folders(params: types.DidChangeWorkspaceFoldersParams) -> None:
        change_folders(host.folders, params)
        host.folders_changed()

    @server.command(DOCUMENT_TEXT_COMMAND)
    def document_text(*args: Any) -> dict[str, Any] | None:
        return document_snapshot(host.documents, args[0] if args else None)


def document_snapshot(documents: DocumentStore, argument: Any) -> dict[str, Any] | None:
    """``loomline.documentText``: the server's copy of a document, to check against the
    editor's. ``{textDocument: {uri}}`` -> ``{text, version, languageId, lineEnding,
    indentUnit}``, or None for a document that is not open (or a malformed argument)."""
    identifier = argument.get("textDocument") if isinstance(argument, dict) else None
    uri = identifier.get("uri") if isinstance(identifier, dict) else None
    document = documents.get(uri) if isinstance(uri, str) else None
    if document is None:
        return None
    return {
        "text": document.text,
        "version": document.version,
        "languageId": document.language_id,
        "lineEnding": document.line_ending,
        "indentUnit": document.indent_unit,
        # False after an edit that could not be applied, until the editor sends the whole text.
        "inSync": document.out_of_sync is None,
    }


def lose_edit(host: LostEditHost, uri: str, reason: str) -> None:
    """The open document at ``uri`` lost an edit for ``reason``: out of sync, the user told."""
    document = host.documents.get(uri)
    if document is None:
        log.info("unreadable change to a document that is not open: %s", uri)
        return
    was_lost = document.out_of_sync
    host.documents.lose(uri, reason)
    if not was_lost and document.out_of_sync:
        tell_lost(host, uri, document.out_of_sync)


def tell_lost(host: LostEditHost, uri: str, reason: str) -> None:
    name = host.folders.relative(uri)
    host.edit_lost(
        f"an edit to {name} could not be applied: {reason}. The server's copy of {name} is out "
        "of sync: it gets no completions until the editor sends its whole text (close and "
        "reopen it)"
    )


def open_document(documents: DocumentStore, params: types.DidOpenTextDocumentParams) -> None:
    item = params.text_document
    documents.open(item.uri, item.language_id, item.version, item.text)


def change_document(documents: DocumentStore, params: types.DidChangeTextDocumentParams) -> bool:
    """Apply the changes as sent; False for a document that is not open."""
    identifier = params.text_document
    changes = convert.content_changes(params.content_changes)
    return documents.change(identifier.uri, identifier.version, changes) is not None


def close_document(documents: DocumentStore, params: types.DidCloseTextDocumentParams) -> None:
    documents.close(params.text_document.uri)


def initial_folders(folders: WorkspaceFolders, params: types.InitializeParams) -> None:
    """The workspace folders ``initialize`` names (else its root URI, else its root path)."""
    folders.clear()
    if params.workspace_folders:
        for folder in params.workspace_folders:
            folders.add(folder.uri)
    elif params.root_uri:
        folders.add(params.root_uri)
    elif params.root_path:
        folders.add(params.root_path)


def change_folders(
    folders: WorkspaceFolders, params: types.DidChangeWorkspaceFoldersParams
) -> None:
    for removed in params.event.removed:
        folders.remove(removed.uri)
    for added in params.event.added:
        folders.add(added.uri)
