"""Cancellable work-done progress for one long command, on the client's token or our own."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

log = logging.getLogger(__name__)

_tokens = itertools.count(1)


class CancellableProgress:
    """Work-done progress whose cancel button calls ``on_cancel``.

    Every step degrades quietly: a client that refuses a token, or cannot show progress,
    simply sees none.
    """

    def __init__(self, ls: LanguageServer, on_cancel: Callable[[], None]) -> None:
        self._ls = ls
        self._on_cancel = on_cancel
        self.token: types.ProgressToken | None = None

    async def begin(self, title: str, given: types.ProgressToken | None) -> None:
        """Begin on ``given`` (the request's workDoneToken), else on a token we create."""
        progress = self._ls.work_done_progress
        token = given
        if token is None and _supports_progress(self._ls):
            token = f"loomline-generate-{next(_tokens)}"
            try:
                await asyncio.wait_for(progress.create_async(token), 5)
            except Exception:
                log.debug("the client refused a progress token", exc_info=True)
                progress.tokens.pop(token, None)
                token = None
        if token is None:
            return
        self.token = token
        try:
            progress.begin(
                token, types.WorkDoneProgressBegin(title=title, cancellable=True, percentage=0)
            )
        except Exception:
            log.debug("progress begin failed", exc_info=True)
            self.token = None
            return
        cancelled = progress.tokens.get(token)
        if cancelled is not None:
            _on_cancelled(cancelled, self._on_cancel)

    def report(self, message: str) -> None:
        if self.token is not None:
            try:
                self._ls.work_done_progress.report(
                    self.token, types.WorkDoneProgressReport(message=message)
                )
            except Exception:
                log.debug("progress report failed", exc_info=True)

    def end(self, message: str) -> None:
        if self.token is None:
            return
        token, self.token = self.token, None
        try:
            self._ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
        except Exception:
            log.debug("progress end failed", exc_info=True)
        self._ls.work_done_progress.tokens.pop(token, None)


def _supports_progress(ls: LanguageServer) -> bool:
    try:
        window = ls.client_capabilities.window
    except Exception:
        return False
    return bool(window and window.work_done_progress)


def _on_cancelled(future: Future[Any], callback: Callable[[], None]) -> None:
    """Call ``callback`` on the event loop once ``future`` (pygls' token future) is cancelled."""
    loop = asyncio.get_running_loop()

    def done(f: Future[Any]) -> None:
        if f.cancelled():
            loop.call_soon_threadsafe(callback)

    future.add_done_callback(done)
