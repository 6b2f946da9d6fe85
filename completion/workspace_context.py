"""What the completion service knows about the workspace, through the context engine.

One object follows the document store (syntax trees, which documents were edited lately: URIs
and their order, never copies of text), owns the workspace index and answers the service's
questions: single or multi-line, skip here or not, which context pieces to offer, and the
syntax-aware clean-up of a candidate.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable

from loomline.completion.prompt import PromptPiece
from loomline.completion.settings import Settings
from loomline.context.analysis import PositionInfo, analyze_position
from loomline.context.documents import (
    Document,
    DocumentChanged,
    DocumentEvent,
    DocumentStore,
)
from loomline.context.index import WorkspaceIndex
from loomline.context.postprocess_syntax import (
    adds_parse_errors,
    balance_brackets,
    drop_repeated_lines,
    trim_suffix_overlap,
    truncate_to_block,
)
from loomline.context.retrieval import collect_context
from loomline.context.syntax import SyntaxTrees
from loomline.context.workspace_folders import WorkspaceFolders

log = logging.getLogger(__name__)

RECENT_FILES = 20


class WorkspaceContext:
    def __init__(
        self,
        settings: Settings,
        documents: DocumentStore | None = None,
        folders: WorkspaceFolders | None = None,
    ) -> None:
        self.settings = settings
        self.documents = documents if documents is not None else DocumentStore()
        self.folders = folders if folders is not None else WorkspaceFolders()
        self.trees = SyntaxTrees()
        self.index: WorkspaceIndex | None = None
        # URIs of the documents edited lately (they may have closed since), newest last
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._last_analysis: tuple[tuple[str, int, int, int], PositionInfo] | None = None
        self.documents.subscribe(self.trees)
        self.documents.subscribe(self._follow)

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
        """Index the workspace (blocking: run it in a thread)."""
        root = self.folders.root
        if not root or not self.settings.context.enabled:
            return None
        index = WorkspaceIndex(
            root,
            exclude=self.settings.context.exclude,
            max_files=self.settings.context.max_index_files,
        )
        index.build(progress=progress, cancelled=cancelled)
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
        # One request asks twice (skip here? multi-line?): analyse each position once.
        key = (document.uri, document.version, len(document.text), offset)
        if self._last_analysis is None or self._last_analysis[0] != key:
            info = analyze_position(
                document.language_id, self.trees.tree_for(document), document.text, offset
            )
            self._last_analysis = (key, info)
        return self._last_analysis[1]

    def multiline(self, document: Document, offset: int) -> bool | None:
        try:
            return self.analyze(document, offset).multiline
        except Exception:
            log.exception("position analysis failed; using the text rule")
            return None

    def skip(self, document: Document, offset: int, settings: Settings) -> str | None:
        c = settings.completion
        if c.complete_in_comments and c.complete_in_strings:
            return None
        try:
            info = self.analyze(document, offset)
        except Exception:
            return None
        if info.in_comment and not c.complete_in_comments:
            return "the cursor is in a comment (completion.completeInComments is off)"
        if info.in_string and not c.complete_in_strings:
            return "the cursor is in a string (completion.completeInStrings is off)"
        return None

    def collect(self, document: Document, offset: int) -> list[PromptPiece]:
        open_documents = {
            _source_key(d): d.text for d in self.documents if d.uri != document.uri
        }
        recent: dict[str, str] = {}
        for uri in self._recent:
            known = self.documents.last_known(uri)
            if known is not None and known.uri != document.uri:
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
        ]

    def refine(
        self, language_id: str, prefix: str, candidate: str, suffix: str, multiline: bool
    ) -> str:
        """Syntax-aware clean-up; a candidate that breaks the file loses lines until it
        does not (or is dropped)."""
        text = drop_repeated_lines(candidate)
        if multiline:
            text = truncate_to_block(language_id, prefix, text, suffix)
        text = trim_suffix_overlap(text, suffix)
        text = balance_brackets(text, prefix, suffix, language_id)
        lines = text.split("\n")
        while lines and adds_parse_errors(language_id, prefix, "\n".join(lines), suffix):
            lines.pop()
        if language_id == "python" and lines and _compiles(prefix + suffix):
            # tree-sitter forgives indentation and block-structure errors that Python does
            # not ("unexpected indent", a `try` without `except`): check with the compiler.
            while lines and not _compiles(prefix + "\n".join(lines) + suffix):
                lines.pop()
        return "\n".join(lines).rstrip()


def _source_key(document: Document) -> str:
    """How retrieval tells documents apart: a file by its path (as the index does), any other
    document by its URI (notebook cells share their notebook's path)."""
    return document.path if document.uri.startswith("file:") else document.uri


def _compiles(source: str) -> bool:
    """Whether Python accepts ``source`` (syntax only; nothing is executed)."""
    if len(source) > 1_000_000:
        return False  # too big to check on the keystroke path: treat as unknown
    try:
        compile(source, "<completion>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True
