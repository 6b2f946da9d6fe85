"""``loomline.generate``: code from an instruction, streamed into the document.

Argument: ``{textDocument: {uri}, position?, range?, instruction, maxTokens?}``. With a
range the instruction rewrites the selection (the range is replaced); without one the code
is inserted at ``position``. Each finished line goes into the document through
``workspace/applyEdit``, every edit relative to the document as the previous one left it;
clients without applyEdit get one edit back in the result. Work-done progress is
cancellable, as is the request itself; what was applied stays and a final message says so.

Result: ``{applied, text, cancelled?, edit?, error?}``.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
from collections.abc import Callable, Generator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types

from loomline.completion.engines.base import (
    EngineState,
    EngineUnavailable,
    GenerationRequest,
    GenerationStats,
    SamplingParams,
)
from loomline.completion.instruct_answer import CodeLines, join_placed
from loomline.completion.instruct_prompt import (
    STOP,
    InstructRequest,
    answer_prefix,
    build_messages,
    render_prompt,
)
from loomline.completion.instruct_targets import Placement, placement_for
from loomline.context.documents import Document
from loomline.context.positions import Position, utf16_length
from loomline.server.app import LoomlineServer, server
from loomline.server.methods import GENERATE_COMMAND, REWRITE_SELECTION_COMMAND

log = logging.getLogger(__name__)

DEFAULT_REWRITE_INSTRUCTION = "Improve this code"
RESYNC_WAIT_S = 2.0  # how long a lagging didChange may take before we call it a conflict
_tokens = itertools.count(1)


# ---- the request's own params (pygls hands command handlers only the arguments) --------------
@dataclass(frozen=True, slots=True)
class _RequestInfo:
    work_done_token: types.ProgressToken | None
    msg_id: Any


_request: contextvars.ContextVar[_RequestInfo | None] = contextvars.ContextVar(
    "loomline_execute_command", default=None
)


def _remember_execute_command_params(ls: LoomlineServer) -> None:
    """Wrap pygls' built-in executeCommand handler so ours sees the workDoneToken and the id.

    The command coroutine is created inside the built-in handler, so it inherits the
    context variable set here. (A ``LoomlineProtocol`` override would do the same.)
    """
    table = ls.protocol.fm.builtin_features
    original = table.get(types.WORKSPACE_EXECUTE_COMMAND)
    if original is None or getattr(original, "_loomline", False):
        return

    def execute_command(params: types.ExecuteCommandParams) -> Generator[Any, Any, Any]:
        _request.set(_RequestInfo(params.work_done_token, ls.protocol.msg_id))
        return (yield from original(params))

    execute_command._loomline = True  # type: ignore[attr-defined]
    table[types.WORKSPACE_EXECUTE_COMMAND] = execute_command


_remember_execute_command_params(server)


# ---- arguments --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class GenerateArgs:
    uri: str
    instruction: str
    start: Position
    end: Position | None  # None: insert at ``start``; else rewrite start..end
    max_tokens: int | None = None


def _position(raw: Any) -> Position | None:
    if not isinstance(raw, dict):
        return None
    line, character = raw.get("line"), raw.get("character")
    if not isinstance(line, int) or not isinstance(character, int) or line < 0 or character < 0:
        return None
    return Position(line, character)


def parse_args(args: tuple[Any, ...], default_instruction: str | None = None) -> GenerateArgs | str:
    """The command's argument object, or what is wrong with it."""
    arg = args[0] if args else None
    if not isinstance(arg, dict):
        return "expected one argument {textDocument: {uri}, position | range, instruction}"
    uri = (
        (arg.get("textDocument") or {}).get("uri")
        if isinstance(arg.get("textDocument"), dict)
        else None
    )
    if not isinstance(uri, str) or not uri:
        return "textDocument.uri is missing"
    instruction = arg.get("instruction")
    if not isinstance(instruction, str) or not instruction.strip():
        if default_instruction is None:
            return "the instruction is empty"
        instruction = default_instruction
    raw_range = arg.get("range")
    start = end = None
    if isinstance(raw_range, dict):
        start, end = _position(raw_range.get("start")), _position(raw_range.get("end"))
        if start is None or end is None:
            return "range must have start and end positions"
        if (end.line, end.character) < (start.line, start.character):
            start, end = end, start
        if start == end:
            end = None  # an empty selection: insert there
    else:
        start = _position(arg.get("position"))
        if start is None:
            return "position or range is missing"
    max_tokens = arg.get("maxTokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens <= 0:
        max_tokens = None
    return GenerateArgs(uri, instruction.strip(), start, end, max_tokens)


# ---- where the code goes, and keeping track of it ------------------------------------------
@dataclass(slots=True)
class Target:
    """The place in the document and what has been written there so far."""

    uri: str
    start: Position
    end: Position  # end of the original range (== start when inserting)
    original: str  # the text of the range (the selection), "" when inserting
    line_before: str  # the line's text before ``start``
    placement: Placement
    written: str = ""  # everything applied so far, starting at ``start``
    history: list[str] = field(default_factory=list)  # states the client may still show

    def written_end(self) -> Position:
        return end_of(self.start, self.written)

    def next_range(self) -> types.Range:
        """Where the next piece goes: the original range first, then after what was written."""
        if not self.history:
            start, end = self.start, self.end
        else:
            start = end = self.written_end()
        return types.Range(start=_lsp(start), end=_lsp(end))

    def consistent(self, document: Document) -> bool:
        """Whether the server's copy still shows what we wrote (or an earlier state of it)."""
        offset = document.offset_at(self.start)
        if document.position_at(offset) != self.start:
            return False
        text = document.text
        if text[offset - len(self.line_before) : offset] != self.line_before:
            return False
        states = [self.original, *self.history]
        return any(text.startswith(state, offset) for state in states)


def end_of(start: Position, text: str) -> Position:
    lines = text.split("\n")
    if len(lines) == 1:
        return Position(start.line, start.character + utf16_length(text))
    return Position(start.line + len(lines) - 1, utf16_length(lines[-1]))


def _lsp(p: Position) -> types.Position:
    return types.Position(line=p.line, character=p.character)


def make_target(document: Document, args: GenerateArgs) -> Target:
    lines = document.lines
    start = lines.clamp(args.start)
    end = lines.clamp(args.end) if args.end is not None else start
    start_offset, end_offset = document.offset_at(start), document.offset_at(end)
    line_start = document.text.rfind("\n", 0, start_offset) + 1
    line_end = document.text.find("\n", end_offset)
    line_end = len(document.text) if line_end < 0 else line_end
    line_before = document.text[line_start:start_offset]
    line_after = document.text[end_offset:line_end]
    selection = document.text[start_offset:end_offset] if args.end is not None else None
    return Target(
        uri=document.uri,
        start=start,
        end=end,
        original=selection or "",
        line_before=line_before,
        placement=placement_for(line_before, line_after, selection),
    )


def instruct_request(
    ls: LoomlineServer, document: Document, target: Target, instruction: str
) -> InstructRequest:
    start = document.offset_at(target.start)
    end = document.offset_at(target.end)
    path = ls.service.relative_path(document.path) if ls.service else document.path
    return InstructRequest(
        instruction=instruction,
        language=document.language_id,
        path=path,
        prefix=document.text[:start],
        suffix=document.text[end:],
        selection=document.text[start:end] if target.end != target.start else None,
    )


# ---- progress -----------------------------------------------------------------------------------
class _Progress:
    """Work-done progress on the client's token or one we create; its cancel calls ``on_cancel``."""

    def __init__(self, ls: LoomlineServer, on_cancel: Callable[[], None]) -> None:
        self._ls = ls
        self._on_cancel = on_cancel
        self.token: types.ProgressToken | None = None

    async def begin(self, title: str, given: types.ProgressToken | None) -> None:
        ls = self._ls
        token = given
        if token is None and _supports_progress(ls):
            token = f"loomline-generate-{next(_tokens)}"
            try:
                await asyncio.wait_for(ls.work_done_progress.create_async(token), 5)
            except Exception:
                log.debug("the client refused a progress token", exc_info=True)
                ls.work_done_progress.tokens.pop(token, None)
                token = None
        if token is None:
            return
        self.token = token
        try:
            ls.work_done_progress.begin(
                token, types.WorkDoneProgressBegin(title=title, cancellable=True, percentage=0)
            )
        except Exception:
            log.debug("progress begin failed", exc_info=True)
            self.token = None
            return
        future = ls.work_done_progress.tokens.get(token)
        if future is not None:
            _on_cancelled(future, self._on_cancel)

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


def _supports_progress(ls: LoomlineServer) -> bool:
    try:
        window = ls.client_capabilities.window
    except Exception:
        return False
    return bool(window and window.work_done_progress)


def _supports_apply_edit(ls: LoomlineServer) -> bool:
    try:
        workspace = ls.client_capabilities.workspace
    except Exception:
        return False
    return bool(workspace and workspace.apply_edit)


def _on_cancelled(future: Future[Any], callback: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()

    def done(f: Future[Any]) -> None:
        if f.cancelled():
            loop.call_soon_threadsafe(callback)

    future.add_done_callback(done)


# ---- the generation ----------------------------------------------------------------------------
def _result(applied: bool, text: str, **extra: Any) -> dict[str, Any]:
    return {"applied": applied, "text": text, **extra}


def _error(ls: LoomlineServer, message: str) -> dict[str, Any]:
    ls.status.problem(message)
    return _result(False, "", error=message)


async def run_generate(
    ls: LoomlineServer, args: tuple[Any, ...], default_instruction: str | None = None
) -> dict[str, Any]:
    parsed = parse_args(args, default_instruction)
    if isinstance(parsed, str):
        return _error(ls, f"generate: {parsed}")
    document = ls.documents.get(parsed.uri)
    if document is None:
        return _error(ls, f"generate: {parsed.uri} is not open")
    engine = ls.engine
    if engine is None or ls.service is None:
        return _error(ls, "generate: the server is not initialized")
    if engine.state is not EngineState.READY:
        return _error(ls, f"generate: the engine is not ready ({engine.status_message})")
    if ls.service.is_excluded(document.path):
        return _error(ls, "generate: the file matches an exclusion pattern; nothing is sent")

    info = _request.get()
    target = make_target(document, parsed)
    request = instruct_request(ls, document, target, parsed.instruction)
    messages = build_messages(request)
    # At the end of a function stub the answer starts with the stub, for the model to continue.
    prompt = render_prompt(
        messages,
        getattr(engine, "tokenizer", None),
        request.language,
        answer_prefix=answer_prefix(request),
    )
    max_tokens = parsed.max_tokens or min(1024, max(32, 2 * ls.settings.completion.max_tokens))
    generation = GenerationRequest(
        prompt,
        SamplingParams(max_tokens=max_tokens, temperature=0.0, stop=STOP),
        affinity_key=document.uri,
    )
    code = CodeLines(
        target.placement, request.prefix, request.suffix, drop_repeated=request.selection is None
    )
    stop = asyncio.Event()
    stop_reason: list[str] = []

    def cancel(reason: str = "cancelled") -> None:
        if not stop.is_set():
            stop_reason.append(reason)
            stop.set()

    progress = _Progress(ls, cancel)
    await progress.begin("Loomline: generating", info.work_done_token if info else None)
    if info is not None and info.msg_id is not None:
        request_future = ls.protocol._request_futures.get(info.msg_id)
        if request_future is not None:
            _on_cancelled(request_future, cancel)

    streaming = _supports_apply_edit(ls)
    queue: asyncio.Queue[list[str] | None] = asyncio.Queue()
    stats = GenerationStats()
    producer = asyncio.create_task(_produce(engine, generation, stats, code, queue))
    applied_any = False
    failure: str | None = None
    collected: list[str] = []
    try:
        while True:
            batch = await _next_batch(queue, stop)
            if batch is None:
                break
            if not streaming:
                collected += batch
                continue
            text = join_placed(batch, target.placement, first=not target.history)
            problem = await _apply(ls, document.uri, target, text)
            if problem is not None:
                failure = problem
                break
            applied_any = True
            progress.report(f"{len(code.lines)} lines")
    except asyncio.CancelledError:
        cancel("cancelled")
        progress.end("stopped")
        raise
    finally:
        producer.cancel()
        try:
            await producer
        except asyncio.CancelledError:
            pass
        except EngineUnavailable as error:
            failure = failure or str(error)
        except Exception as error:  # the engine broke mid-way: keep what was applied
            log.exception("generation failed")
            failure = failure or f"the engine failed: {error}"

    cancelled = bool(stop_reason)
    if not streaming:
        text = join_placed(collected, target.placement, first=True)
        text = text + target.placement.trailing if text else ""
        message = "stopped" if cancelled else (failure or "done")
        progress.end(message)
        if failure and not text:
            return _error(ls, f"generate: {failure}")
        edit = (
            {
                "changes": {
                    target.uri: [
                        {
                            "range": {
                                "start": _pos_dict(target.start),
                                "end": _pos_dict(target.end),
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

    # Keep the rest of the line apart from the code, also after a stop.
    trailing = target.placement.trailing
    if (
        applied_any
        and trailing
        and failure is None
        and await _apply(ls, document.uri, target, trailing) is not None
    ):
        failure = "the client refused the last edit"
    lines = len(code.lines)
    if cancelled:
        message = f"stopped; kept {lines} line{'s' if lines != 1 else ''}"
        progress.end(message)
        _show(ls, f"Loomline: generation {message}")
    elif failure is not None:
        progress.end(f"failed: {failure}")
        if not applied_any:
            return _error(ls, f"generate: {failure}")
        _show(ls, f"Loomline: generation stopped: {failure}; kept {lines} lines")
    else:
        progress.end(f"done: {lines} lines" if applied_any else "the model wrote no code")
        if not applied_any:
            _show(ls, "Loomline: the model wrote no code for this instruction")
    extra: dict[str, Any] = {}
    if cancelled:
        extra["cancelled"] = True
    if failure is not None:
        extra["error"] = failure
    return _result(applied_any, target.written, **extra)


async def _produce(
    engine: Any,
    generation: GenerationRequest,
    stats: GenerationStats,
    code: CodeLines,
    queue: asyncio.Queue[list[str] | None],
) -> None:
    """Engine chunks -> finished lines on ``queue``; None at the end. Cancel to stop."""
    try:
        stream = engine.stream(generation, stats)
        try:
            async for chunk in stream:
                lines = code.feed(chunk)
                if lines:
                    queue.put_nowait(lines)
                if code.done:
                    break  # the closing fence: stop paying for tokens
        finally:
            await stream.aclose()
        rest = code.finish()
        if rest:
            queue.put_nowait(rest)
    finally:
        queue.put_nowait(None)


async def _next_batch(
    queue: asyncio.Queue[list[str] | None], stop: asyncio.Event
) -> list[str] | None:
    """All lines ready now (one edit for many when the client is slower than the model)."""
    if stop.is_set():
        return None
    getter = asyncio.ensure_future(queue.get())
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        if not getter.done():
            getter.cancel()
    if not getter.done() or getter.cancelled() or stop.is_set():
        return None
    first = getter.result()
    if first is None:
        return None
    batch = list(first)
    while not queue.empty():
        more = queue.get_nowait()
        if more is None:
            queue.put_nowait(None)
            break
        batch += more
    return batch


async def _apply(ls: LoomlineServer, uri: str, target: Target, text: str) -> str | None:
    """One applyEdit after what was written; None when applied, else why not."""
    if not text:
        return None
    deadline = asyncio.get_running_loop().time() + RESYNC_WAIT_S
    while True:
        document = ls.documents.get(uri)
        if document is None:
            return "the document was closed"
        if target.consistent(document):
            break
        if asyncio.get_running_loop().time() > deadline:
            return "the document changed during generation"
        await asyncio.sleep(0.02)
    edit_range = target.next_range()
    params = types.ApplyWorkspaceEditParams(
        edit=types.WorkspaceEdit(changes={uri: [types.TextEdit(range=edit_range, new_text=text)]}),
    )
    # Shielded: once sent, the edit's outcome must be known to keep our view right.
    result = await asyncio.shield(ls.workspace_apply_edit_async(params))
    if not result.applied:
        reason = f": {result.failure_reason}" if result.failure_reason else ""
        return f"the client refused the edit{reason}"
    target.written += text
    target.history.append(target.written)
    return None


def _pos_dict(p: Position) -> dict[str, int]:
    return {"line": p.line, "character": p.character}


def _show(ls: LoomlineServer, message: str) -> None:
    try:
        ls.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Info, message=message)
        )
    except Exception:
        log.debug("could not show message", exc_info=True)


# ---- the commands ------------------------------------------------------------------------------
@server.command(GENERATE_COMMAND)
async def generate(ls: LoomlineServer, *args: Any) -> dict[str, Any]:
    return await run_generate(ls, args)


@server.command(REWRITE_SELECTION_COMMAND)
async def rewrite_selection(ls: LoomlineServer, *args: Any) -> dict[str, Any]:
    """Like generate with a range; the instruction defaults to "Improve this code"."""
    return await run_generate(ls, args, default_instruction=DEFAULT_REWRITE_INSTRUCTION)
