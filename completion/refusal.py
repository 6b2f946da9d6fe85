"""Why a document gets no completion, decided before anything is prepared or sent, and the
user told so once per document and reason (not on every keystroke)."""

from __future__ import annotations

from collections.abc import Callable

from loomline.completion.exclusion import EXCLUDED
from loomline.completion.results import Skip
from loomline.completion.settings import Settings
from loomline.context.documents import Document
from loomline.context.positions import Position
from loomline.context.privacy import ContentPolicy
from loomline.context.workspace_folders import WorkspaceFolders

Notify = Callable[[str], None]

# Why a document that lost an edit gets nothing: its text is not the editor's.
OUT_OF_SYNC = "the server's copy of the document is out of sync (an edit could not be applied)"


class Refusals:
    """The checks every request passes first: completion switched off (everywhere or for the
    language), the document excluded (``ContentPolicy``: ``.gitignore``, ``context.exclude``),
    larger than ``completion.maxFileBytes`` (UTF-8 bytes), out of sync with the editor (it lost
    an edit), or a position outside it."""

    def __init__(
        self,
        settings: Callable[[], Settings],
        folders: WorkspaceFolders,
        policy: ContentPolicy,
        notify: Notify | None,
    ) -> None:
        self._settings = settings
        self._folders = folders
        self._policy = policy
        self._notify = notify
        # (URI, reason) pairs the user was told of: why a document gets no completions
        self._told: set[tuple[str, str]] = set()

    def refuse(self, document: Document, position: Position) -> Skip | None:
        c = self._settings().completion
        if not c.enabled:
            return Skip("completion is disabled")
        if document.language_id in c.disabled_languages:
            return Skip(f"completion is disabled for {document.language_id}")
        name = self._folders.relative(document.uri)
        if self.is_excluded(document.uri):
            self._tell_once(
                document.uri,
                "excluded",
                f"{name} is ignored by .gitignore or context.exclude: "
                "it gets no completions and nothing of it is sent",
            )
            return Skip(EXCLUDED)
        if document.utf8_size > c.max_file_bytes:
            self._tell_once(
                document.uri,
                "size",
                f"{name} is {document.utf8_size:,} bytes, more than completion.maxFileBytes "
                f"({c.max_file_bytes:,}): it gets no completions",
            )
            return Skip(f"the file is larger than completion.maxFileBytes ({c.max_file_bytes})")
        if document.out_of_sync is not None:  # the user was told when it happened
            return Skip(f"{OUT_OF_SYNC}: {document.out_of_sync}")
        if not document.lines.contains(position):
            return Skip(f"position {position.line}:{position.character} is outside the document")
        return None

    def is_excluded(self, uri_or_path: str) -> bool:
        """Whether the document's content must stay on the machine."""
        return not self._policy.allows(uri_or_path)

    def _tell_once(self, uri: str, reason: str, message: str) -> None:
        if (uri, reason) in self._told or self._notify is None:
            return
        self._told.add((uri, reason))
        self._notify(message)
