"""The workspace indexes, built in the background: one per workspace folder, each in a
thread with work-done progress of its own, started and dropped as folders come and go."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from loomline.completion.workspace_context import WorkspaceContext
from loomline.server.status import StatusReporter

log = logging.getLogger(__name__)


class FolderIndexer:
    """Keeps one index task per workspace folder on disk (the indexes themselves belong to
    ``workspace``)."""

    def __init__(self, workspace: WorkspaceContext, status: StatusReporter) -> None:
        self._workspace = workspace
        self._status = status
        self._tasks: dict[str, asyncio.Task[None]] = {}  # by folder URI

    def reindex(self) -> None:
        """Index every folder afresh (runs still going are cancelled)."""
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()
        self._workspace.drop_indexes()
        self.follow_folders()

    def follow_folders(self) -> None:
        """Index the folders that have no index yet; cancel and drop those that went."""
        present = {f.uri for f in self._workspace.folders.folders if f.path is not None}
        for uri in [uri for uri in self._tasks if uri not in present]:
            self._tasks.pop(uri).cancel()
        for uri in self._workspace.indexes():
            if uri not in present:
                self._workspace.drop_index(uri)
        for uri in present:
            if uri not in self._tasks:
                self._tasks[uri] = asyncio.create_task(self.index_folder(uri))

    async def index_folder(self, folder_uri: str) -> None:
        """Build one folder's index in a thread, with work-done progress."""
        workspace = self._workspace
        if not workspace.settings.context.enabled:
            return
        folders = workspace.folders.folders
        name = next((f.name for f in folders if f.uri == folder_uri), folder_uri)
        key = f"index {folder_uri}"
        self._status.progress_begin(key, f"Loomline: indexing {name}")
        loop = asyncio.get_running_loop()
        cancelled = threading.Event()

        def progress(done: int, total: int) -> None:
            if total and (done % 50 == 0 or done == total):
                loop.call_soon_threadsafe(
                    self._status.progress_report, key, f"{done}/{total} files", done / total
                )

        started = time.perf_counter()
        try:
            index = await asyncio.to_thread(
                workspace.build_folder_index, folder_uri, progress, cancelled.is_set
            )
        except asyncio.CancelledError:
            cancelled.set()
            self._status.progress_end(key, "cancelled")
            raise
        except Exception:
            log.exception("indexing %s failed; completing without its index", name)
            self._status.progress_end(key, "failed")
            return
        elapsed = time.perf_counter() - started
        message = "not indexed"
        if index is not None:
            message = (
                f"indexed {index.file_count} files, {index.definition_count} definitions "
                f"of {name} in {elapsed:.1f} s"
            )
        log.info("%s", message)
        self._status.progress_end(key, message)
