"""The language server: thin handlers around the completion service."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import lsp_method

from loomline.completion.engines.base import Engine, EngineState, Unsubscribe
from loomline.completion.factory import build_completion_stack
from loomline.completion.next_edit.service import NextEditService
from loomline.completion.service import Completion, CompletionService, Skip
from loomline.completion.settings import ENGINE_SECTIONS, Settings, SettingsStore
from loomline.completion.workspace_context import WorkspaceContext
from loomline.context.documents import DocumentStore, uri_to_path
from loomline.context.notebooks import NotebookStore
from loomline.context.workspace_folders import WorkspaceFolders, adapter_display
from loomline.server import (
    code_actions,
    completion_items,
    completion_request,
    convert,
    document_sync,
    generate,
    next_edit,
    next_edit_params,
    notebook_sync,
)
from loomline.server.client_events import event_record
from loomline.server.commands import CommandProtocol
from loomline.server.folder_indexer import FolderIndexer
from loomline.server.methods import (
    ACCEPT_COMMAND,
    EVENT_NOTIFICATION,
    SHOW_CONTEXT_COMMAND,
    STATS_COMMAND,
)
from loomline.server.status import Status, StatusReporter
from loomline.server.strict_params import command_argument, strict_converter

log = logging.getLogger(__name__)

VERSION = "0.1.0"


class LoomlineProtocol(CommandProtocol, document_sync.OwnDocumentsProtocol):
    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Any:
        # Positions are UTF-16 throughout (context/positions.py): never negotiate another.
        if params.capabilities.general is not None:
            params.capabilities.general.position_encodings = None
        return (yield from super().lsp_initialize(params))

    def get_message_type(self, method: str) -> type[Any] | None:  # type: ignore[override]
        # Methods Loomline adds (copilotInlineEdit) are read as strictly as the LSP's own.
        return next_edit_params.MESSAGE_TYPES.get(method) or super().get_message_type(method)


class LoomlineServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "loomline",
            VERSION,
            protocol_cls=LoomlineProtocol,
            notebook_document_sync=notebook_sync.NOTEBOOK_SYNC,
            # A value of the wrong JSON type is invalid params, not coerced.
            converter_factory=strict_converter,
        )
        # The one owner of the settings: the service and the workspace context read it too.
        self.settings_store = SettingsStore()
        self.documents = DocumentStore()
        self.folders = WorkspaceFolders()
        # The one owner of notebook structure (cells, order, kinds); cells' text is a document.
        self.notebooks = NotebookStore(self.documents)
        self.status = StatusReporter(self)
        self.engine: Engine | None = None
        self.service: CompletionService | None = None
        self.next_edit: NextEditService | None = None
        self.events: list[dict[str, Any]] = []
        # What the client's completion items carry and how it applies them (initialize).
        self.client_formats = completion_items.ClientFormats()
        # Stops hearing the current engine's state changes.
        self._unsubscribe_engine: Unsubscribe = lambda: None
        self._engine_state: EngineState | None = None
        # It follows the documents itself (syntax trees, recently edited documents).
        self.workspace_context = WorkspaceContext(
            self.settings_store, self.documents, self.folders, self.notebooks
        )
        self.indexer = FolderIndexer(self.workspace_context, self.status)

    def edit_lost(self, message: str) -> None:
        """A document lost an edit (``document_sync``): the user hears it."""
        self.status.problem(message)

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Internal errors go to the log (with the traceback pygls logged before this), never
        into an "Error in server" pop-up: the user can do nothing about them there."""
        log.error("internal error (%s): %s", getattr(source, "__name__", source), error)

    # ---- settings and engine ----------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return self.settings_store.current

    def apply_settings(self, raw: Any) -> bool:
        """Lay client JSON over the current settings (a bad value keeps its current value and
        is reported); returns whether the engine must change."""
        changed, problems = self.settings_store.apply(raw)
        for problem in problems:
            self.status.problem(f"settings: {problem}")
        logging.getLogger("loomline").setLevel(self.settings.log_level.upper())
        return not changed.isdisjoint(ENGINE_SECTIONS)

    def show_status(
        self, state: str, message: str, progress: int | None = None, adapter: str | None = None
    ) -> None:
        self.status.send(
            Status(state, message, self.settings.model.id, self.settings.backend, progress,
                   adapter)
        )

    def _on_engine_progress(self, message: str, fraction: float | None) -> None:
        self.show_status("loading", message, None if fraction is None else int(fraction * 100))
        self.status.progress_report("model", message, fraction)

    async def start_engine(self) -> None:
        """(Re)create the engine and the service; loading continues in the background."""
        if self.engine is not None:
            self._unsubscribe_engine()
            await self.engine.close()
        if self.service is not None:
            self.service.close()
        stack = build_completion_stack(
            self.settings_store,
            self.documents,
            workspace=self.workspace_context,
            progress=self._on_engine_progress,
            notify=self.status.problem,
            tokenizer_in_background=True,
        )
        engine = self.engine = stack.engine
        self.service = stack.service
        self.next_edit = stack.next_edit
        self.show_status("loading", f"starting the {engine.name} engine")
        self.status.progress_begin("model", f"Loomline: preparing {self.settings.model.id}")
        # For as long as it is the current engine, so the editor hears when a remote engine
        # goes down and, as soon as it is back, that it is ready.
        self._engine_state = None
        self._unsubscribe_engine = engine.subscribe(
            lambda state, _message: self._on_engine_state(engine, state)
        )
        await engine.start()

    def _is_current(self, engine: Engine) -> bool:
        return self.engine is engine

    def _on_engine_state(self, engine: Engine, state: EngineState) -> None:
        if not self._is_current(engine) or state is self._engine_state or self.service is None:
            return
        self._engine_state = state
        if state is EngineState.READY:
            self.status.progress_end("model", "ready")
            self.show_status("ready", f"{self.settings.model.id} ready ({engine.name})")
        elif state is EngineState.ERROR:
            self.status.progress_end("model", "failed")
            self.show_status("error", engine.status_message)
            self.status.problem(engine.status_message, types.MessageType.Error)

    def reindex(self) -> None:
        """Index every workspace folder afresh in the background."""
        self.indexer.reindex()

    def folders_changed(self) -> None:
        """Index the folders added, drop the indexes of those removed."""
        self.indexer.follow_folders()

    def record_event(self, event: dict[str, Any]) -> None:
        """Accept/dismiss events stay on this machine: in memory, and in a file if asked."""
        event = {**event, "time": time.time()}
        self.events.append(event)
        del self.events[:-1000]
        if self.settings.record_events:
            from loomline.completion.model_store import default_cache_dir

            path = default_cache_dir() / "events.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(event) + "\n")

    async def completion_for(
        self, uri: str, position: types.Position, *, explicit: bool = False
    ) -> Completion | Skip | None:
        """The shared path of both completion methods; None when superseded (see
        ``completion_request``: an empty answer logs why)."""
        return await completion_request.completion_for(self, uri, position, explicit=explicit)


server = LoomlineServer()


@server.feature(types.INITIALIZE)
def initialize(ls: LoomlineServer, params: types.InitializeParams) -> None:
    document_sync.initial_folders(ls.folders, params)
    ls.client_formats = completion_items.ClientFormats.of(params.capabilities, params.client_info)
    ls.apply_settings(params.initialization_options)


@server.feature(types.INITIALIZED)
async def initialized(ls: LoomlineServer, params: types.InitializedParams) -> None:
    await ls.start_engine()
    ls.reindex()


@server.feature(types.SHUTDOWN)
async def shutdown(ls: LoomlineServer, params: None) -> None:
    if ls.engine is not None:
        await ls.engine.close()


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(
    ls: LoomlineServer, params: types.DidChangeConfigurationParams
) -> None:
    if ls.apply_settings(params.settings):
        await ls.start_engine()


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: LoomlineServer, params: types.DidSaveTextDocumentParams) -> None:
    ls.workspace_context.file_saved_or_changed(uri_to_path(params.text_document.uri))


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: LoomlineServer, params: types.DidChangeWatchedFilesParams) -> None:
    for change in params.changes:
        path = uri_to_path(change.uri)
        if change.type == types.FileChangeType.Deleted:
            ls.workspace_context.file_deleted(path)
        else:
            ls.workspace_context.file_saved_or_changed(path)


@server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
async def inline_completion(
    ls: LoomlineServer, params: types.InlineCompletionParams
) -> types.InlineCompletionList | None:
    # Asked for (e.g. Alt+\\) rather than while typing: no debounce, always a fresh answer.
    explicit = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
    result = await ls.completion_for(params.text_document.uri, params.position, explicit=explicit)
    if isinstance(result, Skip):
        # Nothing to write at the cursor: the next edit, when it changes the cursor's line.
        item = await next_edit_item(ls, params.text_document.uri, params.position, explicit)
        return types.InlineCompletionList(items=[item] if item is not None else [])
    if not isinstance(result, Completion):
        return types.InlineCompletionList(items=[])
    # The range runs over the closers the editor typed that the text writes itself.
    start, end = convert.lsp_position(result.position), convert.lsp_position(result.range_end)
    return types.InlineCompletionList(
        items=[
            types.InlineCompletionItem(
                insert_text=result.text,
                range=types.Range(start=start, end=end),
                command=types.Command(
                    title="Accepted", command=ACCEPT_COMMAND, arguments=[result.id]
                ),
            )
        ]
    )


async def next_edit_item(
    ls: LoomlineServer, uri: str, lsp_position: types.Position, explicit: bool
) -> types.InlineCompletionItem | None:
    document = ls.documents.get(uri)
    if document is None or ls.next_edit is None or not ls.settings.next_edit.enabled:
        return None
    if ls.documents.history.latest(uri) is None:
        return None  # no recent edit here to continue
    position = convert.position_in(document, lsp_position)
    result = await next_edit.suggest(ls, document, position, explicit=explicit)
    return next_edit.inline_item(document, position, result) if not isinstance(result, Skip) \
        else None


@server.feature(
    types.TEXT_DOCUMENT_COMPLETION,
    types.CompletionOptions(
        trigger_characters=[".", "(", " ", "\n", ":", "="], resolve_provider=False
    ),
)
async def completion(ls: LoomlineServer, params: types.CompletionParams) -> types.CompletionList:
    result = await ls.completion_for(params.text_document.uri, params.position)
    document = ls.documents.get(params.text_document.uri)
    if isinstance(result, Completion) and document is None:
        completion_request.log_empty(params.text_document.uri, "the document closed meanwhile")
    if not isinstance(result, Completion) or document is None:
        return types.CompletionList(is_incomplete=True, items=[])
    item = completion_items.completion_item(
        document,
        result.position,
        result.text,
        end=result.range_end,
        formats=ls.client_formats,
        command=types.Command(title="Accepted", command=ACCEPT_COMMAND, arguments=[result.id]),
    )
    if item is None:
        completion_request.log_empty(params.text_document.uri, "the answer writes no text")
    return types.CompletionList(is_incomplete=True, items=[item] if item is not None else [])


@server.command(ACCEPT_COMMAND)
def accept(ls: LoomlineServer, *args: Any) -> None:
    ls.record_event({"type": "accept", "completionId": str(args[0]) if args else None})


@server.feature(EVENT_NOTIFICATION)
def on_event(ls: LoomlineServer, params: Any) -> None:
    event = event_record(params)
    if event is not None:
        ls.record_event(event)


@server.command(STATS_COMMAND)
def stats(ls: LoomlineServer, *args: Any) -> dict[str, Any]:
    """Counters of recent work, for troubleshooting ("why did nothing show?") and tests."""
    engine = ls.engine
    return {
        "engine": engine.name if engine else None,
        "state": engine.state.value if engine else None,
        "message": engine.status_message if engine else None,
        **(ls.service.stats() if ls.service else {}),
        **(ls.next_edit.counters.snapshot() if ls.next_edit else {}),
    }


@server.command(SHOW_CONTEXT_COMMAND)
def show_context(ls: LoomlineServer, *args: Any) -> dict[str, Any] | None:
    """The exact prompt a completion here would send, and where each piece came from."""
    where = command_argument(args, types.TextDocumentPositionParams, SHOW_CONTEXT_COMMAND)
    document = ls.documents.get(where.text_document.uri)
    if document is None or ls.service is None:
        return None
    position = convert.position_in(document, where.position)
    prompt, info = ls.service.prepare(document, position)
    refused = ls.service.refuse(document, position)
    return {
        "prompt": prompt.text,
        "template": prompt.template,
        "skip": refused.reason if refused else None,
        # The LoRA adapter a completion here uses (its name only), None for the base model.
        "adapter": adapter_display(ls.service.adapter_for(document.uri)),
        "promptTokens": prompt.tokens,
        "multiline": info.multiline,
        "tokenizer": ls.service.counter.name,
        "pieces": [
            {
                "source": p.piece.source,
                "reason": p.piece.reason,
                "kind": p.piece.kind,
                "text": p.piece.text,
                "tokens": p.tokens,
            }
            for p in prompt.pieces
        ],
        "dropped": [{"source": p.source, "reason": p.reason} for p in prompt.dropped],
        "nextEdit": next_edit.context_json(ls, document, position),
    }


# The features that live in modules of their own.
document_sync.register(server, server)
code_actions.register(server, server.documents)
generate.register(server, server)
next_edit.register(server, server)
