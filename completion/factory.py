"""One way to build the completion stack, for the language server and ``loomline complete``.

Both get the same engine (chosen by settings), the same workspace context and the same
service, and the service counts prompt tokens the same way: with the estimate until the
engine is ready, then with the engine's own tokenizer (``adopt_tokenizer``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from loomline.completion.engines import create_engine
from loomline.completion.engines.base import Engine, EngineState
from loomline.completion.generation_pool import Notify
from loomline.completion.model_store import ProgressCallback
from loomline.completion.next_edit.service import NextEditService
from loomline.completion.service import CompletionService
from loomline.completion.settings import Settings, SettingsStore
from loomline.completion.tokens import EstimatedTokens, counter_for
from loomline.completion.workspace_context import WorkspaceContext
from loomline.context.documents import DocumentStore
from loomline.context.redaction import preload as preload_secret_detector
from loomline.context.workspace_folders import WorkspaceFolders


@dataclass(frozen=True, slots=True)
class CompletionStack:
    engine: Engine
    workspace: WorkspaceContext
    service: CompletionService
    next_edit: NextEditService


def build_completion_stack(
    settings: SettingsStore | Settings,
    documents: DocumentStore,
    *,
    folders: WorkspaceFolders | None = None,
    workspace: WorkspaceContext | None = None,
    progress: ProgressCallback | None = None,
    notify: Notify | None = None,
    tokenizer_in_background: bool = False,
) -> CompletionStack:
    """The engine the settings choose, the workspace context over ``documents`` and the
    service on both, which follows ``documents`` from now on (those open included).

    ``settings``: the session's store (read when needed), or fixed settings.
    ``workspace``: the caller's, kept across engine restarts (it holds the index); else a
    new one for ``folders``. ``progress`` hears the engine's preparation (message, fraction
    or None); ``notify`` gets messages for the user. Nothing is started: the caller awaits
    ``stack.engine.start()``, and ``close``s the service (it stops following ``documents``)
    when it replaces the stack. ``tokenizer_in_background``: a tokenizer file is read on a
    thread when the engine is ready (a server's event loop must not wait for it); else at
    once, so the first prompt is counted with it (``loomline complete``).
    """
    store = SettingsStore.of(settings)  # one store shared by the context and the service
    engine = create_engine(store.current, progress=progress, notify=notify)
    preload_secret_detector()  # while the engine starts
    if workspace is None:
        workspace = WorkspaceContext(store, documents, folders)
    # It follows the documents: typing rhythm, and generations the user types into.
    service = CompletionService(
        store,
        engine,
        documents=documents,
        folders=workspace.folders,
        counter=EstimatedTokens(),
        workspace=workspace,
        notify=notify,
        policy=workspace.policy,
    )
    # Subscribed first, so the counter is the model's before anyone else hears "ready".
    def on_state(state: EngineState, _message: str) -> None:
        if state is not EngineState.READY:
            return
        if tokenizer_in_background:
            adopt_tokenizer_in_background(service, engine)
        else:
            adopt_tokenizer(service, engine)

    engine.subscribe(on_state)
    # Next edits share the service's engine, settings, refusals and typing rhythm, and read
    # the edit history the document store keeps.
    next_edit = NextEditService(service, documents.history)
    return CompletionStack(engine, workspace, service, next_edit)


def adopt_tokenizer(service: CompletionService, engine: Engine) -> None:
    """Count ``service``'s prompt tokens with ``engine``'s tokenizer (call when it is ready).

    A loaded tokenizer is always taken; tokenizer files in the model directory are loaded
    once (a remote engine that reconnects does not reload them).
    """
    tokenizer = engine.tokenizer
    if tokenizer is not None or service.counter.name == "estimate":
        service.counter = counter_for(tokenizer, engine.model_dir)


def adopt_tokenizer_in_background(
    service: CompletionService, engine: Engine
) -> threading.Thread | None:
    """``adopt_tokenizer``, with a tokenizer file read on a thread (returned; None when
    nothing is read): parsing a model's ``tokenizer.json`` takes seconds on a busy machine,
    and engines announce "ready" on the event loop, where every request would wait for it
    (the estimate counts until then)."""
    if engine.tokenizer is not None or engine.model_dir is None:
        adopt_tokenizer(service, engine)
        return None
    if service.counter.name != "estimate":
        return None
    reader = threading.Thread(
        target=adopt_tokenizer, args=(service, engine), name="loomline-tokenizer", daemon=True
    )
    reader.start()
    return reader
