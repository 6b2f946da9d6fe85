"""One completion request as both completion methods make it (inline and the popup): the
document and the engine's state checked, the status the editor shows meanwhile, the service's
answer. Every request that ends without a completion logs why, once, at DEBUG (``no
completion for URI: REASON``): refused, excluded, too big, engine down, cancelled, superseded,
past the deadline, nothing left after the clean-up, ... (the reasons are the ``Skip``s')."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from lsprotocol import types

from loomline.completion.engines.base import Engine, EngineState
from loomline.completion.service import SUPERSEDED, Completion, CompletionService, Skip
from loomline.completion.settings import Settings
from loomline.context.documents import DocumentStore
from loomline.context.workspace_folders import WorkspaceFolders, adapter_display
from loomline.server import convert
from loomline.server.status import StatusReporter

log = logging.getLogger(__name__)

SUPERSEDED_REASON = "a newer request for the document took its place"
CANCELLED_REASON = "the request was cancelled"
NOT_INITIALIZED = "the server is not initialized"


class Host(Protocol):
    """What a completion request reads of Loomline's server (``app.LoomlineServer``)."""

    documents: DocumentStore
    folders: WorkspaceFolders
    service: CompletionService | None
    engine: Engine | None
    status: StatusReporter

    @property
    def settings(self) -> Settings: ...

    def show_status(self, state: str, message: str, progress: int | None = None,
                    adapter: str | None = None) -> None: ...


def log_empty(uri: str, reason: str) -> None:
    """The one line an answer without a completion leaves in the log."""
    log.debug("no completion for %s: %s", uri, reason)


async def completion_for(
    host: Host, uri: str, position: types.Position, *, explicit: bool = False
) -> Completion | Skip | None:
    """The completion at ``position`` of the document at ``uri``, a ``Skip`` saying why there
    is none, or None when a newer request for the document superseded it; logged once when
    empty (also when cancelled: the ``CancelledError`` goes on)."""
    try:
        result = await _complete(host, uri, position, explicit)
    except asyncio.CancelledError:
        log_empty(uri, CANCELLED_REASON)
        raise
    if result is None:
        log_empty(uri, SUPERSEDED_REASON)
    elif isinstance(result, Skip):
        log_empty(uri, result.reason)
    return result


async def _complete(
    host: Host, uri: str, position: types.Position, explicit: bool
) -> Completion | Skip | None:
    document = host.documents.get(uri)
    if document is None:
        return Skip("the document is not open (unknown document)")
    service = host.service
    if service is None:
        return Skip(NOT_INITIALIZED)
    engine = host.engine
    if engine is not None and engine.state is not EngineState.READY:
        host.show_status(
            "loading" if engine.state is not EngineState.ERROR else "error",
            engine.status_message,
        )
        return Skip(f"the engine cannot serve now: {engine.status_message}")
    adapter = adapter_display(service.adapter_for(uri))
    host.status.adapter_used(adapter, host.folders.relative(uri))
    host.show_status("thinking", "completing", adapter=adapter)
    try:
        return await service.complete(document, convert.position_in(document, position),
                                      explicit=explicit)
    except asyncio.CancelledError as error:
        task = asyncio.current_task()
        if error.args and error.args[0] == SUPERSEDED and task is not None:
            task.uncancel()
            return None
        raise
    finally:
        if host.engine is engine and engine is not None and engine.state is EngineState.READY:
            with_adapter = f", LoRA adapter {adapter}" if adapter else ""
            host.show_status("ready", f"{host.settings.model.id} ready ({engine.name})"
                             f"{with_adapter}", adapter=adapter)
