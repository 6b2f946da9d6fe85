"""Natural language to code: an instruction at a place in a document -> lines of code.

``start_instruction`` refuses what must not reach the model (an engine that cannot serve
now, a file that matches an exclusion pattern: nothing is sent), builds the prompt and
returns an ``InstructStream``: an async iterator of the lines of code as the model finishes
them, placed for where they go. Writing them into the document is the caller's part.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from types import TracebackType

from loomline.completion.engine_stream import not_ready, stream_into
from loomline.completion.engines.base import (
    Engine,
    GenerationRequest,
    GenerationStats,
    SamplingParams,
    affinity_key,
)
from loomline.completion.exclusion import EXCLUDED, is_excluded
from loomline.completion.instruct_answer import CodeLines
from loomline.completion.instruct_prompt import (
    STOP,
    InstructRequest,
    answer_prefix,
    build_messages,
    render_prompt,
)
from loomline.completion.instruct_targets import EditTarget
from loomline.completion.settings import Settings
from loomline.context.documents import Document
from loomline.context.privacy import ContentPolicy
from loomline.context.redaction import redact_around

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Instruction:
    """What to write and where, as plain values."""

    text: str  # what the code should do, e.g. "parse the header"
    document: Document
    target: EditTarget
    path: str  # the document's path as the model sees it (relative to the workspace)
    max_tokens: int | None = None  # None: twice completion.maxTokens, within 32..1024
    adapter: str | None = None  # the folder's LoRA adapter (WorkspaceFolders.adapter_for)


@dataclass(frozen=True, slots=True)
class Refused:
    """Nothing was sent to the model, and why (for the user)."""

    reason: str


def start_instruction(
    engine: Engine,
    instruction: Instruction,
    settings: Settings,
    policy: ContentPolicy | None = None,
) -> InstructStream | Refused:
    """The stream of code for ``instruction``, or why there is none. Nothing is sent before
    the stream is first iterated. ``policy``: the session's (``.gitignore`` and exclusion
    globs); without one the globs alone decide."""
    reason = not_ready(engine)
    if reason is not None:
        return Refused(f"the engine is not ready ({reason})")
    document = instruction.document
    if policy is not None:
        allowed = policy.allows(document.uri)
    else:
        allowed = not is_excluded(document.path, settings.context.exclude)
    if not allowed:
        return Refused(EXCLUDED)
    request = instruct_request(instruction)
    # At the end of a function stub the answer starts with the stub, for the model to continue.
    prompt = render_prompt(
        build_messages(request),
        engine.tokenizer,
        request.language,
        answer_prefix=answer_prefix(request),
    )
    max_tokens = instruction.max_tokens or min(1024, max(32, 2 * settings.completion.max_tokens))
    generation = GenerationRequest(
        prompt,
        SamplingParams(max_tokens=max_tokens, temperature=0.0, stop=STOP),
        affinity_key=affinity_key(document.uri, instruction.adapter),
        adapter=instruction.adapter,
    )
    code = CodeLines(
        instruction.target.placement,
        request.prefix,
        request.suffix,
        drop_repeated=request.selection is None,
    )
    return InstructStream(engine, generation, code)


def instruct_request(instruction: Instruction) -> InstructRequest:
    """The prompt's view of an instruction: the text around its target."""
    document, target = instruction.document, instruction.target
    start, end = document.offset_at(target.start), document.offset_at(target.end)
    # Secrets out of the text around the target; the selection is what the code replaces.
    prefix, suffix = redact_around(document.text[:start], document.text[end:], document.path)
    return InstructRequest(
        instruction=instruction.text,
        language=document.language_id,
        path=instruction.path,
        prefix=prefix,
        suffix=suffix,
        selection=document.text[start:end] if target.end != target.start else None,
    )


class InstructStream:
    """Lines of code as the model finishes them, placed for their target.

    Each step gives every line finished since the last one (one batch for many lines when
    the caller is slower than the model). The iteration ends at the end of the code, when
    the engine fails (``failure`` says why, once closed), or once ``stop()`` was called,
    also while a step is waiting. The engine runs in a task of its own from the first step
    on; close the stream (``aclose`` or ``async with``) to end it.
    """

    def __init__(self, engine: Engine, generation: GenerationRequest, code: CodeLines) -> None:
        self.generation = generation
        self.stats = GenerationStats()
        self.failure: str | None = None
        self.stopped = False
        self._engine = engine
        self._code = code
        self._batches: asyncio.Queue[list[str] | None] = asyncio.Queue()
        self._stop = asyncio.Event()
        self._producer: asyncio.Task[str | None] | None = None

    @property
    def line_count(self) -> int:
        """How many lines have been handed out so far."""
        return len(self._code.lines)

    def stop(self) -> None:
        """The user stopped it: the iteration ends (what was handed out stays theirs)."""
        self.stopped = True
        self._stop.set()

    def __aiter__(self) -> InstructStream:
        return self

    async def __anext__(self) -> list[str]:
        if self._producer is None:
            self._producer = asyncio.create_task(self._produce())
        batch = await self._next_batch()
        if batch is None:
            raise StopAsyncIteration
        return batch

    async def aclose(self) -> None:
        """Stop the engine if it still runs, and learn how it ended (``failure``)."""
        producer = self._producer
        if producer is None:
            return
        producer.cancel()
        await asyncio.wait({producer})
        if producer.cancelled():
            return
        try:
            failure = producer.result()
        except Exception as error:  # a bug past the engine: what was handed out stays
            log.exception("the code stream failed")
            failure = f"the engine failed: {error}"
        self.failure = self.failure or failure

    async def __aenter__(self) -> InstructStream:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _produce(self) -> str | None:
        """Engine chunks -> finished lines in the queue, None at the end; the failure or None."""
        try:
            failure = await stream_into(self._engine, self.generation, self.stats, self._take)
            if failure is not None:
                return failure.message
            rest = self._code.finish()
            if rest:
                self._batches.put_nowait(rest)
            return None
        finally:
            self._batches.put_nowait(None)

    def _take(self, chunk: str) -> bool:
        lines = self._code.feed(chunk)
        if lines:
            self._batches.put_nowait(lines)
        return self._code.done  # the closing fence: stop paying for tokens

    async def _next_batch(self) -> list[str] | None:
        """All lines ready now; None at the end or once stopped."""
        if self._stop.is_set():
            return None
        getter = asyncio.ensure_future(self._batches.get())
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not getter.done():
                getter.cancel()
        if not getter.done() or getter.cancelled() or self._stop.is_set():
            return None
        first = getter.result()
        if first is None:
            self._batches.put_nowait(None)  # the end stays the end for the next step
            return None
        batch = list(first)
        while not self._batches.empty():
            more = self._batches.get_nowait()
            if more is None:
                self._batches.put_nowait(None)
                break
            batch += more
        return batch
