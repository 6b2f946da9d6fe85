"""What the completion service knows about the workspace, through the context engine.

One object follows the document store (syntax trees, which documents were edited lately: URIs
and their order, never copies of text), owns the workspace index and answers the service's
questions: what the syntax tree says about a position (see ``completion.cursor``) and which
context pieces to offer.
"""

from __future__ import annotations

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
from loomline.context.privacy import ContentPolicy
from loomline.context.retrieval import collect_context
from loomline.context.syntax import SyntaxTrees
from loomline.context.workspace_folders import WorkspaceFolders

log = logging.getLogger(__name__)

RECENT_FILES = 20


class WorkspaceContext:
    def __init__(
        self,
        settings: SettingsStore | Settings,
        documents: DocumentStore | None = None,
        folders: WorkspaceFolders | None = None,
    ) -> None:
        """``settings``: the session's store (read when needed), or fixed settings."""
        self._settings = SettingsStore.of(settings)
        self.documents = documents if documents is not None else DocumentStore()
        self.folders = folders if folders is not None else WorkspaceFolders()
        # What may go into a prompt: every source below asks it, and so does the service.
        self.policy = ContentPolicy(self.folders, lambda: self.settings.context.exclude)
        self.trees = SyntaxTrees()
        self.index: WorkspaceIndex | None = None
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

    # ---- the index -------------------------------------------------------------------
    def build_index(
        self,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> WorkspaceIndex | None:
        """Index the workspace's first folder (blocking: run it in a thread); None when there
        is none, context is off, or ``cancelled`` says stop (the index is then not kept)."""
        root = self.folders.root
        if not root or not self.settings.context.enabled:
            return None
        index = WorkspaceIndex(
            root,
            exclude=self.settings.context.exclude,
            max_files=self.settings.context.max_index_files,
        )
        index.build(progress=progress, cancelled=cancelled)
        if cancelled is not None and cancelled():
            return None  # a newer index (another folder) takes its place
        self.index = index
        return index

    def file_saved_or_changed(self, path: str) -> None:
        if self.index is not None:
            self.index.update_file(path)

    def file_deleted(self, path: str) -> None:
        if self.index is not None:
            self.index.remove_file(path)

    # ---- questions from the service --------------------------------------------------
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
        allows = self.policy.allows
        open_documents = {
            _source_key(d): d.text
            for d in self.documents
            if d.uri != document.uri and allows(d.uri)
        }
        recent: dict[str, str] = {}
        for uri in self._recent:
            known = self.documents.last_known(uri)
            if known is not None and known.uri != document.uri and allows(known.uri):
                recent[_source_key(known)] = known.text
        pieces = collect_context(
            document.text,
            document.path,
            document.language_id,
            offset,
            self.index,
            open_documents,
            recent,
        )
        return [
            PromptPiece(
                source=self.folders.relative(piece.path),
                text=piece.text,
                reason=piece.reason,
                kind=piece.kind,
            )
            for piece in pieces
            if allows(piece.path)  # the index's files too (e.g. one ignored since)
        ]


def _source_key(document: Document) -> str:
    """How retrieval tells documents apart: a file by its path (as the index does), any other
    document by its URI (notebook cells share their notebook's path)."""
    return document.path if document.uri.startswith("file:") else document.uri
