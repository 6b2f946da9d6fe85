"""What the completion service knows about the workspace, through the context engine.

One object follows the document store (syntax trees, which documents were edited lately: URIs
and their order, never copies of text), owns the workspace indexes (one per workspace folder)
and answers the service's questions: what the syntax tree says about a position (see
``completion.cursor``) and which context pieces to offer (a notebook cell's earlier cells
first, as the notebook store orders them).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable

from loomline.completion.prompt import PromptPiece
from loomline.completion.settings import Settings, SettingsStore
from loomline.context.analysis import PositionInfo, analyze_position
from loomline.context.documents import (
    Document,
    DocumentChanged,
    DocumentEvent,
    DocumentStore,
)
from loomline.context.index import WorkspaceIndex
from loomline.context.notebooks import NotebookStore
from loomline.context.privacy import ContentPolicy
from loomline.context.retrieval import collect_context
from loomline.context.snippets import TextOrigin
from loomline.context.syntax import SyntaxTrees
from loomline.context.workspace_folders import WorkspaceFolders

log = logging.getLogger(__name__)

RECENT_FILES = 20
# Between a notebook's cells in the prompt: a blank line, as between top-level blocks.
CELL_BREAK = "\n\n"


class WorkspaceContext:
    def __init__(
        self,
        settings: SettingsStore | Settings,
        documents: DocumentStore | None = None,
        folders: WorkspaceFolders | None = None,
        notebooks: NotebookStore | None = None,
    ) -> None:
        """``settings``: the session's store (read when needed), or fixed settings.
        ``notebooks``: the structure of the open notebooks (one following ``documents`` by
        default)."""
        self._settings = SettingsStore.of(settings)
        self.documents = documents if documents is not None else DocumentStore()
        self.folders = folders if folders is not None else WorkspaceFolders()
        self.notebooks = notebooks if notebooks is not None else NotebookStore(self.documents)
        # What may go into a prompt: every source below asks it, and so does the service.
        self.policy = ContentPolicy(self.folders, lambda: self.settings.context.exclude)
        self.trees = SyntaxTrees()
        # One index per workspace folder, by the folder's URI (built in the background)
        self._indexes: dict[str, WorkspaceIndex] = {}
        # URIs of the documents edited lately (they may have closed since), newest last
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._last_analysis: tuple[tuple[str, int, int, int], PositionInfo] | None = None
        self.documents.subscribe(self.trees)
        self.documents.subscribe(self._follow)

    @property
    def settings(self) -> Settings:
        return self._settings.current

    # ---- following documents ---------------------------------------------------------
    def _follow(self, event: DocumentEvent) -> None:
        if isinstance(event, DocumentChanged):
            uri = event.document.uri
            self._recent[uri] = None
            self._recent.move_to_end(uri)
            while len(self._recent) > RECENT_FILES:
                self._recent.popitem(last=False)

    # ---- the indexes: one per workspace folder ----------------------------------------
    @property
    def index(self) -> WorkspaceIndex | None:
        """The first folder's index (the one documents outside every folder use), or None."""
        first = next((f for f in self.folders.folders if f.path is not None), None)
        return self._indexes.get(first.uri) if first is not None else None

    def indexes(self) -> dict[str, WorkspaceIndex]:
        """The indexes built so far, by folder URI."""
        return dict(self._indexes)

    def index_for(self, uri_or_path: str) -> WorkspaceIndex | None:
        """The index of the document's own folder (the innermost one holding it); a document
        outside every folder (``untitled:``, a file elsewhere) gets the first folder's."""
        folder = self.folders.folder_for(uri_or_path)
        if folder is None:
            return self.index
        return self._indexes.get(folder.uri)

    def folder_scope(self, uri: str) -> str | None:
        """The folder (URI) whose files give the document at ``uri`` context: the innermost
        one holding it, or for a document outside every folder the first (as
        ``index_for``); None without folders."""
        folder = self.folders.folder_for(uri)
        if folder is not None:
            return folder.uri
        folders = self.folders.folders
        return folders[0].uri if folders else None

    def build_index(
        self,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> WorkspaceIndex | None:
        """Index every folder on disk, one after the other (blocking: run it in a thread);
        the first folder's index, or None when there is none or context is off."""
        for folder in self.folders.folders:
            if folder.path is not None:
                self.build_folder_index(folder.uri, progress, cancelled)
        return self.index

    def build_folder_index(
        self,
        folder_uri: str,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> WorkspaceIndex | None:
        """Index one workspace folder (blocking: run it in a thread) with its own
        ``.gitignore`` files; None when it is not a folder on disk (or no longer one of the
        workspace's), context is off, or ``cancelled`` says stop (the index is then not kept)."""
        folder = next((f for f in self.folders.folders if f.uri == folder_uri), None)
        if folder is None or folder.path is None or not self.settings.context.enabled:
            return None
        index = WorkspaceIndex(
            folder.path,
            exclude=self.settings.context.exclude,
            max_files=self.settings.context.max_index_files,
        )
        index.build(progress=progress, cancelled=cancelled)
        if cancelled is not None and cancelled():
            return None  # the folder went, or a newer index takes its place
        if all(f.uri != folder_uri for f in self.folders.folders):
            return None  # removed while it was being indexed
        self._indexes[folder_uri] = index
        return index

    def drop_index(self, folder_uri: str) -> None:
        """Forget a folder's index (the folder left the workspace, or is indexed afresh)."""
        self._indexes.pop(folder_uri, None)

    def drop_indexes(self) -> None:
        self._indexes.clear()

    def file_saved_or_changed(self, path: str) -> None:
        for index in list(self._indexes.values()):  # nested folders: each index holding it
            index.update_file(path)

    def file_deleted(self, path: str) -> None:
        for index in list(self._indexes.values()):
            index.remove_file(path)

    # ---- questions from the service --------------------------------------------------
    async def bring_up_to_date(self, document: Document) -> None:
        """Parse the document's changes since its tree was last read, if any, in a worker
        thread (a flat file of 100,000 statements takes 200 ms, whatever the edit; the event
        loop gets turns meanwhile: see ``context.syntax``)."""
        if not self.trees.is_current(document.uri):
            await asyncio.to_thread(self.trees.tree_for, document)

    def analyze(self, document: Document, offset: int) -> PositionInfo:
        """The analysis of ``offset`` in ``document`` from its syntax tree (the request's
        cursor is built from it; the transparency command asks again for the same text)."""
        key = (document.uri, document.version, len(document.text), offset)
        if self._last_analysis is None or self._last_analysis[0] != key:
            tree = self.trees.tree_for(document)
            info = analyze_position(
                document.language_id, tree, document.text, offset, document.indent_unit
            )
            self._last_analysis = (key, info)
        return self._last_analysis[1]

    def collect(self, document: Document, offset: int) -> list[PromptPiece]:
        """Context for the cursor, in priority order: a notebook cell's earlier cells first
        (kind ``cells``: the prompt puts them before the cell's own text), then what
        ``collect_context`` finds for the cell read after them (so a cell's imports count)."""
        # (Read before its text: the text is then of this change or a later one.)
        origin = TextOrigin(document, document.changes)
        allows = self.policy.allows
        cells = self.earlier_cells(document)
        skipped = {document.uri, *(cell.uri for cell in cells)}  # in the prompt already
        scope = self.folder_scope(document.uri)
        # Nothing from a file another LoRA adapter serves (a subfolder with its own adapter
        # inside this folder's index, or the first folder's files for an ``untitled:``).
        same_adapter = self.folders.same_adapter(document.uri, self.settings.engine.adapters)

        def usable(other: Document) -> bool:
            # Only the document's own folder gives it context, as its index does.
            return (other.uri not in skipped and allows(other.uri)
                    and self.folder_scope(other.uri) == scope and same_adapter(other.uri))

        # Retrieval reads lines at \n only: each text with its breaks as \n (a lone-CR file
        # would be one line), the cursor's offset in that text.
        open_documents = {_source_key(d): d.lf_text for d in self.documents if usable(d)}
        recent: dict[str, str] = {}
        for uri in self._recent:
            known = self.documents.last_known(uri)
            if known is not None and usable(known):
                recent[_source_key(known)] = known.lf_text
        head = "".join(cell.lf_text.rstrip("\n") + CELL_BREAK for cell in cells)
        pieces = collect_context(
            head + document.lf_text,
            document.path,
            document.language_id,
            len(head) + document.lf_offset(offset),
            self.index_for(document.uri),
            open_documents,
            recent,
            # (A notebook cell's text follows its earlier cells': not the document's own.)
            origin=None if head else origin,
            cursor_line=None if head else document.lines.line_of(offset),
        )
        found = [
            PromptPiece(
                source=self.folders.relative(piece.path),
                text=piece.text,
                reason=piece.reason,
                kind=piece.kind,
            )
            for piece in pieces
            # The index's files too (e.g. one ignored since, or under another adapter).
            if allows(piece.path) and same_adapter(piece.path)
        ]
        return ([self._cells_piece(document, cells, head)] if cells else []) + found

    def earlier_cells(self, document: Document) -> list[Document]:
        """The open code cells before ``document`` in its notebook (same language), in
        notebook order; empty for a document that is no cell, or a notebook kept out."""
        if not self.policy.allows(document.uri):
            return []
        earlier = []
        for cell in self.notebooks.cells_before(document.uri):
            text = self.documents.get(cell.uri)
            if (
                cell.kind == "code"
                and text is not None
                and text.language_id == document.language_id
                and self.policy.allows(cell.uri)
            ):
                earlier.append(text)
        return earlier

    def _cells_piece(self, document: Document, cells: list[Document], text: str) -> PromptPiece:
        name = self.folders.relative(document.uri)
        return PromptPiece(
            source=name,
            text=text,
            reason=f"the {len(cells)} code cell(s) before this one in {name}",
            kind="cells",
        )

def _source_key(document: Document) -> str:
    """How retrieval tells documents apart: a file by its path (as the index does), any other
    document by its URI (notebook cells share their notebook's path)."""
    return document.path if document.uri.startswith("file:") else document.uri
