"""``loomline.generate`` and ``loomline.rewriteSelection``: code from an instruction, streamed
into the document.

The argument is ``GenerateArgs`` (``generate_args.py``). With a range the instruction
rewrites the selection (the range is replaced); without one the code is inserted at
``position``. The code itself comes from ``completion.instruct`` (readiness, exclusion,
prompt, the engine's stream); this module only turns it into LSP: each batch of finished
lines goes into the document through ``workspace/applyEdit`` (``DocumentWriter``), clients
without applyEdit get one edit back in the result. Work-done progress is cancellable, as is
the request itself; what was applied stays and a final message says so.

Result: ``{applied, text, cancelled?, edit?, error?}``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any, Protocol

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from loomline.completion.engines.base import Engine
from loomline.completion.instruct import Instruction, InstructStream, Refused, start_instruction
from loomline.completion.instruct_answer import join_placed
from loomline.completion.instruct_targets import EditTarget, edit_target
from loomline.completion.refusal import OUT_OF_SYNC
from loomline.completion.settings import Settings
from loomline.context.documents import DocumentStore
from loomline.context.privacy import ContentPolicy
from loomline.context.workspace_folders import WorkspaceFolders
from loomline.server.commands import add_request_command
from loomline.server.document_writer import DocumentWriter
from loomline.server.generate_args import (
    DEFAULT_REWRITE_INSTRUCTION,
    GenerateArgs,
    position_json,
)
from loomline.server.methods import GENERATE_COMMAND, REWRITE_SELECTION_COMMAND
from loomline.server.status import StatusReporter
from loomline.server.work_progress import CancellableProgress

log = logging.getLogger(__name__)


class Host(Protocol):
    """What the commands read of Loomline's server (``app.LoomlineServer`` is one)."""

    documents: DocumentStore
    folders: WorkspaceFolders
    engine: Engine | None
    status: StatusReporter

    @property
    def settings(self) -> Settings:
        """The current settings (read-only: the server's settings store owns them)."""
        ...


def register(server: LanguageServer, host: Host) -> None:
    """Add both commands to ``server``; ``host`` is Loomline's state (the same server)."""
    add_request_command(server, GENERATE_COMMAND, functools.partial(run_generate, server, host))
    add_request_command(
        server,
        REWRITE_SELECTION_COMMAND,
        functools.partial(
            run_generate, server, host, default_instruction=DEFAULT_REWRITE_INSTRUCTION
        ),
    )


async def run_generate(
    server: LanguageServer,
    host: Host,
    params: types.ExecuteCommandParams,
    default_instruction: str | None = None,
) -> dict[str, Any]:
    """The command: check its argument, start the code stream, write it; the result."""
    parsed = GenerateArgs.parse(params.arguments, default_instruction)
    if isinstance(parsed, str):
        return _error(host, f"generate: {parsed}")
    document = host.documents.get(parsed.uri)
    if document is None:
        return _error(host, f"generate: {parsed.uri} is not open")
    if host.engine is None:
        return _error(host, "generate: the server is not initialized")
    if document.out_of_sync is not None:  # its positions are not the editor's
        return _error(host, f"generate: {OUT_OF_SYNC}: {document.out_of_sync}")
    target = edit_target(document, parsed.start, parsed.end)
    instruction = Instruction(
        parsed.instruction,
        document,
        target,
        path=host.folders.relative(document.uri),
        max_tokens=parsed.max_tokens,
        adapter=host.folders.adapter_for(document.uri, host.settings.engine.adapters),
    )
    policy = ContentPolicy(host.folders, lambda: host.settings.context.exclude)
    stream = start_instruction(host.engine, instruction, host.settings, policy)
    if isinstance(stream, Refused):
        return _error(host, f"generate: {stream.reason}")
    writing = asyncio.ensure_future(
        _write(server, host, document.uri, target, stream, params.work_done_token)
    )
    try:
        return await asyncio.shield(writing)
    except asyncio.CancelledError:
        # $/cancelRequest: stop as the progress's cancel does; what was written stays, the
        # last edits and the final message still go out, then the request ends cancelled.
        stream.stop()
        await writing
        raise


async def _write(
    server: LanguageServer,
    host: Host,
    uri: str,
    target: EditTarget,
    stream: InstructStream,
    work_done_token: types.ProgressToken | None,
) -> dict[str, Any]:
    progress = CancellableProgress(server, stream.stop)
    await progress.begin("Loomline: generating", work_done_token)
    if not _supports_apply_edit(server):
        return await _collect(host, uri, target, stream, progress)
    writer = DocumentWriter(server.workspace_apply_edit_async, host.documents, uri, target)
    failure = await _stream_edits(writer, stream, progress)
    return await _finish(server, host, writer, stream, progress, failure)


async def _stream_edits(
    writer: DocumentWriter, stream: InstructStream, progress: CancellableProgress
) -> str | None:
    """Each batch of lines into the document as it comes; why it stopped early, or None."""
    async with stream:
        async for batch in stream:
            text = join_placed(batch, writer.target.placement, first=not writer.history)
            problem = await writer.write(text)
            if problem is not None:
                return problem
            progress.report(f"{stream.line_count} lines")
    return stream.failure


async def _finish(
    server: LanguageServer,
    host: Host,
    writer: DocumentWriter,
    stream: InstructStream,
    progress: CancellableProgress,
    failure: str | None,
) -> dict[str, Any]:
    """The rest of the line after the code, the final message, and the result."""
    applied, cancelled = bool(writer.history), stream.stopped
    trailing = writer.target.placement.trailing
    # Keep the rest of the line apart from the code, also after a stop.
    if applied and trailing and failure is None and await writer.write(trailing) is not None:
        failure = "the client refused the last edit"
    lines = stream.line_count
    if cancelled:
        message = f"stopped; kept {lines} line{'s' if lines != 1 else ''}"
        progress.end(message)
        _show(server, f"Loomline: generation {message}")
    elif failure is not None:
        progress.end(f"failed: {failure}")
        if not applied:
            return _error(host, f"generate: {failure}")
        _show(server, f"Loomline: generation stopped: {failure}; kept {lines} lines")
    else:
        progress.end(f"done: {lines} lines" if applied else "the model wrote no code")
        if not applied:
            _show(server, "Loomline: the model wrote no code for this instruction")
    extra: dict[str, Any] = {}
    if cancelled:
        extra["cancelled"] = True
    if failure is not None:
        extra["error"] = failure
    return _result(applied, writer.written, **extra)


async def _collect(
    host: Host,
    uri: str,
    target: EditTarget,
    stream: InstructStream,
    progress: CancellableProgress,
) -> dict[str, Any]:
    """For a client without applyEdit: the whole code, as one edit in the result."""
    collected: list[str] = []
    async with stream:
        async for batch in stream:
            collected += batch
    failure, cancelled = stream.failure, stream.stopped
    text = join_placed(collected, target.placement, first=True)
    text = text + target.placement.trailing if text else ""
    progress.end("stopped" if cancelled else (failure or "done"))
    if failure and not text:
        return _error(host, f"generate: {failure}")
    edit = (
        {
            "changes": {
                uri: [
                    {
                        "range": {
                            "start": position_json(target.start),
                            "end": position_json(target.end),
                        },
                        "newText": text,
                    }
                ]
            }
        }
        if text
        else None
    )
    return _result(False, text, edit=edit, **({"cancelled": True} if cancelled else {}))


def _result(applied: bool, text: str, **extra: Any) -> dict[str, Any]:
    return {"applied": applied, "text": text, **extra}


def _error(host: Host, message: str) -> dict[str, Any]:
    host.status.problem(message)
    return _result(False, "", error=message)


def _supports_apply_edit(server: LanguageServer) -> bool:
    try:
        workspace = server.client_capabilities.workspace
    except Exception:
        return False
    return bool(workspace and workspace.apply_edit)


def _show(server: LanguageServer, message: str) -> None:
    try:
        server.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Info, message=message)
        )
    except Exception:
        log.debug("could not show message", exc_info=True)
