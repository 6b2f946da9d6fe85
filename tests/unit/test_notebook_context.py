"""The workspace context of a notebook cell: the earlier code cells first, then cross-file
context found for the cell read after them (an import in an earlier cell counts)."""

from __future__ import annotations

from pathlib import Path

from loomline.completion.settings import Settings
from loomline.completion.workspace_context import WorkspaceContext
from loomline.context.notebooks import NotebookCell
from loomline.context.workspace_folders import WorkspaceFolders


def test_a_cell_gets_earlier_cells_and_their_imports(tmp_path: Path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "tools.py").write_text("def scale(value, factor):\n    return value\n")
    workspace = WorkspaceContext(Settings(), folders=WorkspaceFolders.of(str(tmp_path)))
    workspace.build_index()
    notebook = tmp_path / "nb.ipynb"
    cells = [f"vscode-notebook-cell:{notebook}#W{n}sZmlsZQ%3D%3D" for n in range(4)]
    texts = ["from lib.tools import scale\n", "Some *notes*", "%%sql\nselect 1", "scale("]
    languages = ["python", "markdown", "sql", "python"]
    workspace.notebooks.open(notebook.as_uri(), "jupyter-notebook", 1, [
        NotebookCell(uri, "markup" if language == "markdown" else "code")
        for uri, language in zip(cells, languages, strict=True)
    ])
    for uri, text, language in zip(cells, texts, languages, strict=True):
        workspace.documents.open(uri, language, 1, text)
    current = workspace.documents.get(cells[3])
    assert current is not None
    assert [d.uri for d in workspace.earlier_cells(current)] == [cells[0]]  # python code only
    pieces = workspace.collect(current, len("scale("))
    assert pieces[0].kind == "cells"
    assert pieces[0].text == "from lib.tools import scale\n\n"
    assert pieces[0].source == "nb.ipynb"
    found = [(p.source, p.text, p.reason) for p in pieces[1:] if p.kind == "definition"]
    assert ("lib/tools.py", "def scale(value, factor):",
            "definition of `scale` imported from lib/tools.py") in found
    # The earlier cell is in the prefix already: no snippet of it.
    assert all(cells[0] not in p.source and p.source != "nb.ipynb" for p in pieces[1:])


def test_a_plain_document_gets_no_cells_piece(tmp_path: Path):
    workspace = WorkspaceContext(Settings(), folders=WorkspaceFolders.of(str(tmp_path)))
    document = workspace.documents.open((tmp_path / "a.py").as_uri(), "python", 1, "x = 1\n")
    assert workspace.earlier_cells(document) == []
    assert all(p.kind != "cells" for p in workspace.collect(document, 0))
