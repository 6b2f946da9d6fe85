"""What the editor is told about the engine: a status notification, progress, throttled errors."""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lsprotocol import types

from loomline.server.methods import STATUS_NOTIFICATION

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

log = logging.getLogger(__name__)

_tokens = itertools.count(1)


@dataclass(slots=True)
class Status:
    state: str  # loading, ready, thinking, error, disabled
    message: str
    model: str
    backend: str
    progress: int | None = None
    # The LoRA adapter the last completion used, as shown to users (None: the base model).
    adapter: str | None = None


class StatusReporter:
    """Sends ``loomline/status`` and LSP work-done progress; throttles repeated problems."""

    def __init__(self, server: LanguageServer, throttle_s: float = 60.0) -> None:
        self._server = server
        self._throttle_s = throttle_s
        self._last_shown: dict[str, float] = {}
        self._progress_tokens: dict[str, str] = {}  # what is in progress -> its token
        self.current: Status | None = None
        self._adapter: str | None = None  # the adapter of the last completion (shown form)

    def adapter_used(self, adapter: str | None, where: str) -> None:
        """Note the LoRA adapter (shown form, None: the base model) a completion in ``where``
        (a workspace-relative name) uses: one INFO line each time it changes."""
        if adapter == self._adapter:
            return
        self._adapter = adapter
        log.info("completions in %s use %s", where,
                 f"the LoRA adapter '{adapter}'" if adapter else "the base model (no LoRA adapter)")

    def send(self, status: Status) -> None:
        self.current = status
        params: dict[str, str | int] = {
            "state": status.state,
            "message": status.message,
            "model": status.model,
            "backend": status.backend,
        }
        if status.progress is not None:
            params["progress"] = status.progress
        if status.adapter is not None:
            params["adapter"] = status.adapter
        try:
            self._server.protocol.notify(STATUS_NOTIFICATION, params)
        except Exception:  # the transport may be closing; status is best effort
            log.debug("could not send status", exc_info=True)

    def problem(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        """Tell the user once per throttle window; always log."""
        log.warning("%s", message)
        now = time.monotonic()
        if now - self._last_shown.get(message, -1e9) < self._throttle_s:
            return
        self._last_shown[message] = now
        try:
            self._server.window_show_message(
                types.ShowMessageParams(type=kind, message=f"Loomline: {message}")
            )
        except Exception:
            log.debug("could not show message", exc_info=True)

    # ---- work-done progress -----------------------------------------------------------
    def _client_supports_progress(self) -> bool:
        try:
            window = self._server.client_capabilities.window
        except Exception:
            return False
        return bool(window and window.work_done_progress)

    def progress_begin(self, key: str, title: str) -> None:
        if key in self._progress_tokens or not self._client_supports_progress():
            return
        token = f"loomline-{key}-{next(_tokens)}"
        self._progress_tokens[key] = token
        try:
            self._server.work_done_progress.create(token)
            self._server.work_done_progress.begin(
                token, types.WorkDoneProgressBegin(title=title, percentage=0, cancellable=False)
            )
        except Exception:
            log.debug("work-done progress unavailable", exc_info=True)
            self._progress_tokens.pop(key, None)

    def progress_report(self, key: str, message: str, fraction: float | None) -> None:
        token = self._progress_tokens.get(key)
        if token is None:
            return
        percentage = None if fraction is None else max(0, min(100, int(fraction * 100)))
        try:
            self._server.work_done_progress.report(
                token,
                types.WorkDoneProgressReport(message=message, percentage=percentage),
            )
        except Exception:
            log.debug("progress report failed", exc_info=True)

    def progress_end(self, key: str, message: str) -> None:
        token = self._progress_tokens.pop(key, None)
        if token is None:
            return
        try:
            self._server.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
        except Exception:
            log.debug("progress end failed", exc_info=True)
        # pygls keeps a future per token until told otherwise: one per engine start.
        self._server.work_done_progress.tokens.pop(token, None)
