"""Notebooks over stdio: notebook synchronisation is advertised and followed, and a cell's
prompt starts with the notebook's earlier code cells, in notebook order; cells sent as plain
text documents are grouped by notebook."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp_client import (
    LoomlineClient,
    Session,
    inline,
    loomline_client,
    open_doc,
    progress_capabilities,
    show_context,
)

PYTHON = "python"


@pytest.fixture
def notebook_session(tmp_path: Path) -> Session:
    capabilities = progress_capabilities()
    capabilities.notebook_document = types.NotebookDocumentClientCapabilities(
        synchronization=types.NotebookDocumentSyncClientCapabilities()
    )
    options = {"backend": "fake",
               "fake": {"response": "print(var_alpha)", "chunkDelayMs": 0,
                        "recordPrompts": str(tmp_path / "prompts.jsonl")}}
    return Session(options=options, root_uri=tmp_path.as_uri(), capabilities=capabilities)


client = loomline_client("notebook_session")


def _cell_uri(notebook: Path, handle: int) -> str:
    return f"vscode-notebook-cell:{notebook}#W{handle}sZmlsZQ%3D%3D"


def _cell(uri: str, kind: types.NotebookCellKind = types.NotebookCellKind.Code) -> Any:
    return types.NotebookCell(kind=kind, document=uri)


def _item(uri: str, text: str, language: str = PYTHON) -> types.TextDocumentItem:
    return types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)


def _open_notebook(
    client: LanguageClient, notebook: Path, cells: list[tuple[str, str, str]]
) -> None:
    """``cells``: (uri, text, language) in notebook order; markdown cells are markup."""
    client.notebook_document_did_open(
        types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(
                uri=notebook.as_uri(), notebook_type="jupyter-notebook", version=1,
                cells=[_cell(uri, types.NotebookCellKind.Markup if language == "markdown"
                             else types.NotebookCellKind.Code) for uri, _, language in cells],
            ),
            cell_text_documents=[_item(uri, text, language) for uri, text, language in cells],
        )
    )


def _structure(
    client: LanguageClient, notebook: Path, version: int, start: int, delete_count: int,
    cells: list[str], opened: list[types.TextDocumentItem] | None = None,
) -> None:
    client.notebook_document_did_change(
        types.DidChangeNotebookDocumentParams(
            notebook_document=types.VersionedNotebookDocumentIdentifier(
                version=version, uri=notebook.as_uri()
            ),
            change=types.NotebookDocumentChangeEvent(
                cells=types.NotebookDocumentCellChanges(
                    structure=types.NotebookDocumentCellChangeStructure(
                        array=types.NotebookCellArrayChange(
                            start=start, delete_count=delete_count,
                            cells=[_cell(uri) for uri in cells],
                        ),
                        did_open=opened,
                    )
                )
            ),
        )
    )


def _earlier(shown: Any) -> str | None:
    """The text of the earlier cells the prompt holds, or None."""
    cells = [p["text"] for p in shown["pieces"] if p["kind"] == "cells"]
    assert len(cells) <= 1
    return cells[0] if cells else None


def _prompt_head(shown: Any) -> str:
    """The prompt up to the end of its prefix (where the cell's own text ends)."""
    prompt: str = shown["prompt"]
    return prompt[: prompt.index("<|fim_suffix|>")]


async def test_notebook_sync_is_advertised(client: LoomlineClient):
    capabilities = client.server_capabilities
    assert capabilities is not None and capabilities.notebook_document_sync is not None
    sync = capabilities.notebook_document_sync
    assert isinstance(sync, types.NotebookDocumentSyncOptions)
    (selector,) = sync.notebook_selector
    assert isinstance(selector, types.NotebookDocumentFilterWithNotebook)
    assert isinstance(selector.notebook, types.NotebookDocumentFilterNotebookType)
    assert selector.notebook.notebook_type == "jupyter-notebook"
    assert selector.cells is None  # cells of any language


async def test_a_cell_gets_the_earlier_cells_in_its_prompt(
    client: LanguageClient, tmp_path: Path
):
    notebook = tmp_path / "analysis.ipynb"
    first, notes, second = (_cell_uri(notebook, n) for n in (0, 1, 2))
    _open_notebook(client, notebook, [
        (first, "import math\nvar_alpha = math.pi * 2\n", PYTHON),
        (notes, "Notes: var_beta is **not** code", "markdown"),
        (second, "# show var_alpha\n", PYTHON),
    ])
    shown = await show_context(client, second, 1, 0)
    head = _prompt_head(shown)
    assert head.index("var_alpha = math.pi * 2") < head.index("# show var_alpha")
    assert "var_beta" not in shown["prompt"]  # markdown cells are no code
    cells = [p for p in shown["pieces"] if p["kind"] == "cells"]
    assert len(cells) == 1 and "var_alpha = math.pi * 2" in cells[0]["text"]
    # The first cell has nothing before it.
    assert _earlier(await show_context(client, first, 1, 0)) is None

    result = await inline(client, second, 1, 0)
    assert result is not None and [i.insert_text for i in result.items] == ["print(var_alpha)"]
    recorded = [json.loads(line)["prompt"]
                for line in (tmp_path / "prompts.jsonl").read_text().splitlines()]
    assert any("var_alpha = math.pi * 2\n\n# show var_alpha" in p for p in recorded)


async def test_cells_added_and_moved_keep_the_notebooks_order(
    client: LanguageClient, tmp_path: Path
):
    notebook = tmp_path / "order.ipynb"
    a, b, c = (_cell_uri(notebook, n) for n in (0, 1, 2))
    _open_notebook(client, notebook, [(a, "cell_a = 1\n", PYTHON), (b, "cell_b = 2\n", PYTHON)])
    # A new cell at the start.
    _structure(client, notebook, 2, 0, 0, [c], opened=[_item(c, "cell_c = 3\n")])
    head = _prompt_head(await show_context(client, b, 1, 0))
    assert head.index("cell_c = 3") < head.index("cell_a = 1") < head.index("cell_b = 2")
    assert _earlier(await show_context(client, a, 0, 0)) == "cell_c = 3\n\n"
    # b moved to the top: a delete and an insert, its document staying open.
    _structure(client, notebook, 3, 2, 1, [])
    _structure(client, notebook, 4, 0, 0, [b])
    assert _earlier(await show_context(client, b, 0, 0)) is None
    head = _prompt_head(await show_context(client, a, 1, 0))
    assert head.index("cell_b = 2") < head.index("cell_c = 3") < head.index("cell_a = 1")
    # A cell's text changes through the notebook's change: the next cell sees the new text.
    client.notebook_document_did_change(
        types.DidChangeNotebookDocumentParams(
            notebook_document=types.VersionedNotebookDocumentIdentifier(
                version=5, uri=notebook.as_uri()
            ),
            change=types.NotebookDocumentChangeEvent(
                cells=types.NotebookDocumentCellChanges(
                    text_content=[types.NotebookDocumentCellContentChanges(
                        document=types.VersionedTextDocumentIdentifier(uri=c, version=2),
                        changes=[types.TextDocumentContentChangeWholeDocument(
                            text="cell_c = 30\n"
                        )],
                    )]
                )
            ),
        )
    )
    assert _earlier(await show_context(client, a, 1, 0)) == "cell_b = 2\n\ncell_c = 30\n\n"
    # Closing the notebook closes its cells.
    client.notebook_document_did_close(
        types.DidCloseNotebookDocumentParams(
            notebook_document=types.NotebookDocumentIdentifier(uri=notebook.as_uri()),
            cell_text_documents=[types.TextDocumentIdentifier(uri=u) for u in (a, b, c)],
        )
    )
    assert await show_context(client, a, 0, 0) is None


async def test_cells_sent_as_plain_text_documents_are_grouped(
    client: LanguageClient, tmp_path: Path
):
    notebook = tmp_path / "plain.ipynb"
    other = tmp_path / "other.ipynb"
    second, first = _cell_uri(notebook, 5), _cell_uri(notebook, 3)
    open_doc(client, second, "# show var_alpha\n")
    open_doc(client, _cell_uri(other, 0), "var_other = 0\n")
    open_doc(client, first, "var_alpha = 41\n")  # opened later, yet first by its number
    head = _prompt_head(await show_context(client, second, 1, 0))
    assert head.index("var_alpha = 41") < head.index("# show var_alpha")
    assert "var_other" not in head
    assert _earlier(await show_context(client, first, 1, 0)) is None
