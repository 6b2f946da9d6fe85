"""One running request per document: a newer request for the same document supersedes the
older one (cancelled with ``SUPERSEDED`` as the reason), for inline completions and next edits
alike."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

SUPERSEDED = "superseded"  # the cancel message of a superseded request's task


class LatestRequests:
    """The task of each document's latest request, by URI (``tasks``: while it runs)."""

    def __init__(self) -> None:
        self.tasks: dict[str, asyncio.Task[object]] = {}

    @contextmanager
    def claim(self, uri: str) -> Iterator[None]:
        """Run the current task as ``uri``'s latest request: cancel the one before it (if
        still running) and forget this one when it ends, unless a newer one took over."""
        task = asyncio.current_task()
        previous = self.tasks.get(uri)
        if previous is not None and previous is not task and not previous.done():
            previous.cancel(SUPERSEDED)
        if task is not None:
            self.tasks[uri] = task
        try:
            yield
        finally:
            if task is not None and self.tasks.get(uri) is task:
                del self.tasks[uri]
