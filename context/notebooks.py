"""Open notebooks: which cells each has, in which order, of which kind.

The one owner of notebook structure. A cell is a text document (its text lives in the
``DocumentStore`` under the cell's URI); this store knows which notebook it belongs to and
which cells come before it. Two ways in:

- LSP notebook synchronisation (``open`` / ``splice`` / ``set_kind`` / ``close``): the
  notebook's own cell list, in the editor's order;
- cells a client sends as plain text documents (no notebook sync): URIs that differ only in
  their fragment (``vscode-notebook-cell:/p/nb.ipynb#W0sZmlsZQ==``) form one notebook, ordered
  by the cell number VS Code writes into the fragment where every cell has one, else by the
  order they were opened.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote, urlsplit

from loomline.context.documents import (
    DocumentClosed,
    DocumentEvent,
    DocumentOpened,
    DocumentStore,
)

CellKind = Literal["code", "markup"]

# VS Code's cell fragment: a letter giving the length of the cell handle, the handle in
# base 7, "s", then the notebook's scheme in base64 (``W0sZmlsZQ==``: handle 0, "file").
_VSCODE_CELL_FRAGMENT = re.compile(r"^[W-Za-fz]([0-6]+)s")
_MARKUP_LANGUAGES = frozenset({"markdown", "latex", "html", "raw", "plaintext"})


@dataclass(frozen=True, slots=True)
class NotebookCell:
    uri: str  # the cell's text document
    kind: CellKind


@dataclass(slots=True)
class Notebook:
    uri: str
    notebook_type: str
    version: int
    cells: list[NotebookCell] = field(default_factory=list)

    def index_of(self, cell_uri: str) -> int | None:
        return next((i for i, c in enumerate(self.cells) if c.uri == cell_uri), None)


def cell_group(uri: str) -> str | None:
    """The notebook a cell URI sent as a plain text document belongs to (its scheme and path,
    fragment and query left out); None for a URI without a fragment (not a cell)."""
    parts = urlsplit(uri)
    if not parts.fragment:
        return None
    return f"{parts.scheme}:{unquote(parts.path)}"


def cell_number(uri: str) -> int | None:
    """The cell number VS Code writes into a cell URI's fragment, or None when there is none."""
    match = _VSCODE_CELL_FRAGMENT.match(unquote(urlsplit(uri).fragment))
    return int(match.group(1), 7) if match else None


class NotebookStore:
    """The notebooks the editor has open, by notebook URI, and the cells sent as plain text
    documents grouped by notebook (it follows ``documents`` for those)."""

    def __init__(self, documents: DocumentStore | None = None) -> None:
        self._notebooks: dict[str, Notebook] = {}
        self._notebook_of_cell: dict[str, str] = {}
        self._documents = documents
        # Plain-text cells by group, each URI with when it opened (the order they came in)
        self._groups: dict[str, dict[str, int]] = {}
        self._opened = itertools.count()
        if documents is not None:
            documents.subscribe(self._follow)

    # ---- LSP notebook synchronisation --------------------------------------------------
    def open(
        self, uri: str, notebook_type: str, version: int, cells: Sequence[NotebookCell]
    ) -> Notebook:
        notebook = Notebook(uri, notebook_type, version, list(cells))
        self._notebooks[uri] = notebook
        self._reindex(notebook)
        return notebook

    def get(self, uri: str) -> Notebook | None:
        return self._notebooks.get(uri)

    def splice(
        self, uri: str, start: int, delete_count: int, cells: Sequence[NotebookCell]
    ) -> Notebook | None:
        """Replace ``delete_count`` cells from ``start`` with ``cells`` (LSP's
        ``NotebookCellArrayChange``; a move is a delete and an insert). None if not open."""
        notebook = self._notebooks.get(uri)
        if notebook is None:
            return None
        start = min(max(start, 0), len(notebook.cells))
        for gone in notebook.cells[start : start + max(delete_count, 0)]:
            self._notebook_of_cell.pop(gone.uri, None)
        notebook.cells[start : start + max(delete_count, 0)] = list(cells)
        self._reindex(notebook)
        return notebook

    def set_kind(self, uri: str, cell_uri: str, kind: CellKind) -> None:
        notebook = self._notebooks.get(uri)
        where = notebook.index_of(cell_uri) if notebook is not None else None
        if notebook is not None and where is not None:
            notebook.cells[where] = NotebookCell(cell_uri, kind)

    def set_version(self, uri: str, version: int) -> None:
        if (notebook := self._notebooks.get(uri)) is not None:
            notebook.version = version

    def close(self, uri: str) -> Notebook | None:
        notebook = self._notebooks.pop(uri, None)
        if notebook is not None:
            for cell in notebook.cells:
                if self._notebook_of_cell.get(cell.uri) == uri:
                    del self._notebook_of_cell[cell.uri]
        return notebook

    def _reindex(self, notebook: Notebook) -> None:
        for cell in notebook.cells:
            self._notebook_of_cell[cell.uri] = notebook.uri

    # ---- questions ---------------------------------------------------------------------
    def cells_of(self, cell_uri: str) -> list[NotebookCell] | None:
        """Every cell of the notebook ``cell_uri`` belongs to, in notebook order (a synced
        notebook's, else its plain-text group's); None for a document that is no cell."""
        notebook_uri = self._notebook_of_cell.get(cell_uri)
        if notebook_uri is not None:
            return list(self._notebooks[notebook_uri].cells)
        group = cell_group(cell_uri)
        members = self._groups.get(group) if group is not None else None
        if not members or cell_uri not in members:
            return None
        numbers = {uri: cell_number(uri) for uri in members}
        if all(n is not None for n in numbers.values()):
            ordered = sorted(members, key=lambda uri: (numbers[uri], members[uri]))
        else:
            ordered = sorted(members, key=members.__getitem__)
        return [NotebookCell(uri, self._kind_of_plain_cell(uri)) for uri in ordered]

    def cells_before(self, cell_uri: str) -> list[NotebookCell]:
        """The cells before ``cell_uri`` in its notebook, in order (empty for no cell)."""
        cells = self.cells_of(cell_uri) or []
        where = next((i for i, c in enumerate(cells) if c.uri == cell_uri), 0)
        return cells[:where]

    def _kind_of_plain_cell(self, uri: str) -> CellKind:
        document = self._documents.get(uri) if self._documents is not None else None
        if document is not None and document.language_id in _MARKUP_LANGUAGES:
            return "markup"
        return "code"

    # ---- following plain text documents ------------------------------------------------
    def _follow(self, event: DocumentEvent) -> None:
        uri = event.document.uri
        group = cell_group(uri)
        if group is None:
            return
        if isinstance(event, DocumentOpened):
            self._groups.setdefault(group, {}).setdefault(uri, next(self._opened))
        elif isinstance(event, DocumentClosed):
            members = self._groups.get(group, {})
            members.pop(uri, None)
            if not members:
                self._groups.pop(group, None)
