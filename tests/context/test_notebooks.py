"""NotebookStore: the one owner of notebook structure, synced or grouped from cell URIs."""

from __future__ import annotations

from loomline.context.documents import DocumentStore
from loomline.context.notebooks import NotebookCell, NotebookStore, cell_group, cell_number

NB = "file:///work/nb.ipynb"


def _cell_uri(handle: int, path: str = "/work/nb.ipynb") -> str:
    """A cell URI as VS Code writes it (handle in base 7 after a length letter)."""
    digits = ""
    n = handle
    while True:
        digits = "0123456"[n % 7] + digits
        n //= 7
        if n == 0:
            break
    return f"vscode-notebook-cell:{path}#{'WXYZabcdef'[len(digits) - 1]}{digits}sZmlsZQ%3D%3D"


def test_vscode_cell_numbers_and_groups():
    assert cell_number("vscode-notebook-cell:/p/nb.ipynb#W0sZmlsZQ%3D%3D") == 0
    assert cell_number(_cell_uri(8)) == 8  # "X11": two base-7 digits
    assert cell_number(_cell_uri(60)) == 60
    assert cell_number("vscode-notebook-cell:/p/nb.ipynb#cell-3") is None
    group = "vscode-notebook-cell:/work/nb.ipynb"
    assert cell_group(_cell_uri(1)) == cell_group(_cell_uri(9)) == group
    assert cell_group(_cell_uri(1, "/other.ipynb")) != cell_group(_cell_uri(1))
    assert cell_group("file:///work/a.py") is None


def test_synced_structure_keeps_the_editors_order():
    store = NotebookStore()
    a, b, c, md = "cell:a", "cell:b", "cell:c", "cell:md"
    store.open(NB, "jupyter-notebook", 1, [NotebookCell(a, "code"), NotebookCell(md, "markup")])
    assert store.cells_before(md) == [NotebookCell(a, "code")]
    store.splice(NB, 2, 0, [NotebookCell(b, "code"), NotebookCell(c, "code")])
    assert [cell.uri for cell in store.cells_before(c)] == [a, md, b]
    # A move: c taken out, put back first.
    store.splice(NB, 3, 1, [])
    store.splice(NB, 0, 0, [NotebookCell(c, "code")])
    assert store.cells_before(c) == []
    assert [cell.uri for cell in store.cells_before(b)] == [c, a, md]
    store.set_kind(NB, md, "code")
    assert store.cells_before(b)[-1] == NotebookCell(md, "code")
    store.close(NB)
    assert store.cells_of(b) is None


def test_plain_text_cells_grouped_by_notebook_in_cell_order():
    documents = DocumentStore()
    store = NotebookStore(documents)
    second, first, third = _cell_uri(8), _cell_uri(2), _cell_uri(9)
    other = _cell_uri(0, "/work/other.ipynb")
    for uri in (second, other, first, third):  # opened out of order
        documents.open(uri, "python", 1, "x = 1\n")
    documents.open("file:///work/a.py", "python", 1, "")
    assert [c.uri for c in store.cells_before(third)] == [first, second]
    assert store.cells_before(other) == []
    assert store.cells_of("file:///work/a.py") is None
    documents.close(first)
    assert [c.uri for c in store.cells_before(third)] == [second]


def test_plain_text_cells_without_numbers_go_in_the_order_opened():
    documents = DocumentStore()
    store = NotebookStore(documents)
    uris = [f"notebook-cell:/work/nb.ipynb#cell-{name}" for name in ("b", "a", "c")]
    for uri in uris:
        documents.open(uri, "python", 1, "")
    documents.open("notebook-cell:/work/nb.ipynb#notes", "markdown", 1, "# notes")
    assert [c.uri for c in store.cells_before(uris[2])] == uris[:2]
    assert store.cells_of(uris[0])[-1] == NotebookCell(  # type: ignore[index]
        "notebook-cell:/work/nb.ipynb#notes", "markup"
    )
