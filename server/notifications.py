"""Notifications dispatched without pygls' request bookkeeping, so memory stays flat.

pygls files a future for every generator or coroutine handler it runs, under a fresh id in
its table of requests, and removes it only when a *request* is answered: for a notification
the entry stays for good (about 2 KB per keystroke through its built-in ``didChange``, which
is a generator). A plain function's future is not filed. ``NotificationProtocol`` overrides
the built-in handlers of the notifications a client sends repeatedly with plain methods that
call the server's handler themselves; a coroutine handler runs as a task of its own, kept
only until it ends. ``tests/server/test_notifications.py`` holds that no entry is left behind.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Generator
from functools import partial
from typing import Any

from lsprotocol import types
from pygls.protocol import LanguageServerProtocol, lsp_method

log = logging.getLogger(__name__)


class NotificationProtocol(LanguageServerProtocol):
    """The LSP protocol with plain (non-generator) built-in notification handlers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._running_notifications: set[asyncio.Task[Any]] = set()

    def _user_handler(self, method: str, params: Any) -> None:
        """Call the server's handler for ``method``; a coroutine runs as a task of its own
        (its error is logged). A synchronous handler's error goes to pygls as before."""
        if (handler := self.fm.features.get(method)) is None:
            return
        result = handler(params)
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._running_notifications.add(task)
            task.add_done_callback(partial(self._notification_done, method))

    def _notification_done(self, method: str, task: asyncio.Task[Any]) -> None:
        self._running_notifications.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("the %s handler failed: %s", method, error, exc_info=error)

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Generator[Any, Any, None]:
        """pygls' shutdown (the server's handler, then every request still running is
        cancelled), and the notification handlers still running are cancelled too, as pygls
        cancelled them when it kept them."""
        yield from super().lsp_shutdown(*args)
        for task in list(self._running_notifications):
            task.cancel()

    @lsp_method(types.INITIALIZED)
    def lsp_initialized(self, params: types.InitializedParams) -> None:
        self._user_handler(types.INITIALIZED, params)

    @lsp_method(types.SET_TRACE)
    def lsp_set_trace(self, params: types.SetTraceParams) -> None:  # type: ignore[override]
        self.trace = params.value
        self._user_handler(types.SET_TRACE, params)

    @lsp_method(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def lsp_work_done_progress_cancel(
        self, params: types.WorkDoneProgressCancelParams
    ) -> None:
        """As pygls': the progress' cancellation future is cancelled, then the handler runs."""
        cancellation = self.progress.tokens.get(params.token)
        if cancellation is None:
            log.warning("cancel for an unknown work-done progress %s", params.token)
        else:
            cancellation.cancel()
        self._user_handler(types.WINDOW_WORK_DONE_PROGRESS_CANCEL, params)

    @lsp_method(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def lsp_workspace__did_change_configuration(
        self, params: types.DidChangeConfigurationParams
    ) -> None:
        self._user_handler(types.WORKSPACE_DID_CHANGE_CONFIGURATION, params)
