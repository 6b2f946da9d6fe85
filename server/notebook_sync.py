"""LSP notebook synchronisation: the structure goes to the ``NotebookStore``, each cell's text
to the ``DocumentStore`` (a cell is a text document under its own URI)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from lsprotocol import types

from loomline.context.documents import DocumentStore
from loomline.context.notebooks import CellKind, NotebookCell, NotebookStore
from loomline.server import convert

log = logging.getLogger(__name__)

# Jupyter notebooks, cells of any language (no ``cells`` filter: every cell is synced).
NOTEBOOK_SYNC = types.NotebookDocumentSyncOptions(
    notebook_selector=[
        types.NotebookDocumentFilterWithNotebook(
            notebook=types.NotebookDocumentFilterNotebookType(notebook_type="jupyter-notebook")
        )
    ],
    save=False,
)


def _cell(cell: types.NotebookCell) -> NotebookCell:
    kind: CellKind = "code" if cell.kind == types.NotebookCellKind.Code else "markup"
    return NotebookCell(cell.document, kind)


def _open_cells(documents: DocumentStore, items: Sequence[types.TextDocumentItem] | None) -> None:
    for item in items or []:
        documents.open(item.uri, item.language_id, item.version, item.text)


def open_notebook(
    notebooks: NotebookStore, documents: DocumentStore, params: types.DidOpenNotebookDocumentParams
) -> None:
    notebook = params.notebook_document
    notebooks.open(
        notebook.uri, notebook.notebook_type, notebook.version, [_cell(c) for c in notebook.cells]
    )
    _open_cells(documents, params.cell_text_documents)


def change_notebook(
    notebooks: NotebookStore,
    documents: DocumentStore,
    params: types.DidChangeNotebookDocumentParams,
) -> None:
    """Cells added, removed or moved (structure), their kinds (data), their text (content),
    in the order the LSP gives them."""
    uri = params.notebook_document.uri
    if notebooks.get(uri) is None:
        log.info("change to a notebook that is not open: %s", uri)
        return
    notebooks.set_version(uri, params.notebook_document.version)
    cells = params.change.cells
    if cells is None:
        return
    if (structure := cells.structure) is not None:
        array = structure.array
        notebooks.splice(
            uri, array.start, array.delete_count, [_cell(c) for c in array.cells or []]
        )
        _open_cells(documents, structure.did_open)
        for closed in structure.did_close or []:
            documents.close(closed.uri)
    for data in cells.data or []:
        notebooks.set_kind(uri, data.document, _cell(data).kind)
    for content in cells.text_content or []:
        changes = convert.content_changes(content.changes)
        if documents.change(content.document.uri, content.document.version, changes) is None:
            log.info("change to a cell that is not open: %s", content.document.uri)


def close_notebook(
    notebooks: NotebookStore,
    documents: DocumentStore,
    params: types.DidCloseNotebookDocumentParams,
) -> None:
    notebooks.close(params.notebook_document.uri)
    for cell in params.cell_text_documents:
        documents.close(cell.uri)
