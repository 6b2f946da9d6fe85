"""The completion pipeline: position -> context -> prompt -> stream -> post-process.

Protocol-free: the server hands in documents and positions and gets plain results back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import fnmatch
import itertools
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from loomline.completion.debounce import TypingRhythm, WastePacer
from loomline.completion.engines.base import (
    Engine,
    EngineUnavailable,
    GenerationRequest,
    GenerationStats,
    SamplingParams,
)
from loomline.completion.inflight import Generation, agrees, typed_since
from loomline.completion.postprocess import CursorInfo, opens_block, process
from loomline.completion.prompt import Prompt, PromptPiece, build_prompt
from loomline.completion.settings import Settings
from loomline.completion.templates import FimTemplate, context_layout_for, template_for
from loomline.completion.tokens import EstimatedTokens, TokenCounter
from loomline.context.documents import Document, DocumentListener, Edit
from loomline.context.languages import line_comment
from loomline.context.positions import Position

log = logging.getLogger(__name__)

SUPERSEDED = "superseded"
# How long a generation the user is typing into waits for the editor's next request.
ORPHAN_GRACE_S = 1.0
_ids = itertools.count(1)


class Workspace(Protocol):
    """What the context engine answers (see ``workspace_context.WorkspaceContext``)."""

    def multiline(self, document: Document, offset: int) -> bool | None: ...

    def skip(self, document: Document, offset: int, settings: Settings) -> str | None:
        """A reason not to complete here (inside a comment or string), or None."""
        ...

    def collect(self, document: Document, offset: int) -> list[PromptPiece]:
        """Cross-file context for the cursor, in priority order."""
        ...

    def refine(
        self, language_id: str, prefix: str, candidate: str, suffix: str, multiline: bool
    ) -> str:
        """Syntax-aware clean-up of a finished candidate."""
        ...


@dataclass(slots=True)
class Completion:
    id: str
    text: str
    position: Position
    multiline: bool
    stats: GenerationStats
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class Skip:
    """No completion, and why (for logs and the status line)."""

    reason: str


Notify = Callable[[str], None]


@dataclass(slots=True)
class ServiceMetrics:
    requests: int = 0
    completions: int = 0
    typed_through: int = 0  # answered from a finished suggestion the user typed into
    joined: int = 0  # answered by a running generation the user typed into
    debounced: int = 0  # requests held back for a pause
    skipped: int = 0
    cancelled: int = 0
    generated_tokens: int = 0
    served_tokens: int = 0  # generated tokens of generations whose answer reached a request
    wasted_generations: int = 0  # started for a typing pause, dropped before anyone saw them
    # The stats of recent generations, still updated by engines that are winding down.
    recent: deque[GenerationStats] = field(default_factory=lambda: deque(maxlen=64))

    def snapshot(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "completions": self.completions,
            "typedThrough": self.typed_through,
            "joined": self.joined,
            "debounced": self.debounced,
            "generatedTokens": self.generated_tokens,
            "wastedTokens": self.generated_tokens - self.served_tokens,
            "wastedGenerations": self.wasted_generations,
            "skipped": self.skipped,
            "cancelled": self.cancelled,
            "recentGeneratedTokens": sum(s.generated_tokens for s in self.recent),
            "recent": [
                {
                    "promptTokens": s.prompt_tokens,
                    "cachedPromptTokens": s.cached_prompt_tokens,
                    "generatedTokens": s.generated_tokens,
                    "firstTokenMs": None if s.first_token_s is None else s.first_token_s * 1000,
                    "finishReason": s.finish_reason,
                }
                for s in list(self.recent)[-8:]
            ],
        }


def cursor_info(document: Document, offset: int, multiline: bool) -> CursorInfo:
    text = document.text
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    line_end = len(text) if line_end < 0 else line_end
    return CursorInfo(
        line_prefix=text[line_start:offset],
        line_suffix=text[offset:line_end].rstrip("\r"),
        suffix=text[offset : offset + 2000],
        multiline=multiline,
        line_above=line_above(text, line_start),
    )


def line_above(text: str, line_start: int, look_back: int = 50) -> str:
    """The nearest non-blank line ending before ``line_start`` (within ``look_back`` lines)."""
    end = line_start - 1
    for _ in range(look_back):
        if end < 0:
            break
        start = text.rfind("\n", 0, end) + 1
        line = text[start:end].rstrip("\r")
        if line.strip():
            return line
        end = start - 1
    return ""


def guess_multiline(info: CursorInfo) -> bool:
    """Text-only rule: at an empty line or after a block opener, with nothing after the cursor
    but closers, the user wants a block; in the middle of a line, the rest of that line."""
    rest = info.line_suffix.strip()
    stripped = info.line_prefix.rstrip()
    if rest:
        # Only a block between braces (`{█}`) is multi-line with text after the cursor.
        return bool(stripped) and stripped[-1] == "{" and rest[0] == "}"
    return not stripped or opens_block(stripped)


class CompletionService(DocumentListener):
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        counter: TokenCounter | None = None,
        workspace: Workspace | None = None,
        notify: Notify | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.counter: TokenCounter = counter or EstimatedTokens()
        self.workspace = workspace
        self._notify = notify or (lambda message: None)
        self._inflight: dict[str, asyncio.Task[object]] = {}
        self.metrics = ServiceMetrics()
        # The running (or last finished) generation per document, and the documents' texts
        # as the editor last sent them (when the service follows the document store).
        self._generations: dict[str, Generation] = {}
        self._texts: dict[str, str] = {}
        c = settings.completion
        self.rhythm = TypingRhythm(max_s=c.max_debounce_ms / 1000)
        self.pacer = WastePacer()
        self.template: FimTemplate = template_for(settings.model.id, settings.model.template)
        self.workspace_root: str | None = None

    def stats(self) -> dict[str, object]:
        """The counters, the pause the waste pacer adds now, and the answer time it expects."""
        answer_s = self.pacer.answer_s
        return {
            **self.metrics.snapshot(),
            "extraWaitMs": round(self.pacer.extra_s * 1000),
            "answerMs": None if answer_s is None else round(answer_s * 1000),
        }

    # ---- decisions before the model ---------------------------------------------------
    def refuse(self, document: Document, position: Position) -> Skip | None:
        c = self.settings.completion
        if not c.enabled:
            return Skip("completion is disabled")
        if document.language_id in c.disabled_languages:
            return Skip(f"completion is disabled for {document.language_id}")
        if self.is_excluded(document.path):
            return Skip("the file matches an exclusion pattern; nothing is sent")
        if len(document.text) > c.max_file_bytes:
            return Skip(f"the file is larger than completion.maxFileBytes ({c.max_file_bytes})")
        if not document.lines.contains(position):
            return Skip(f"position {position.line}:{position.character} is outside the document")
        return None

    def is_excluded(self, path: str) -> bool:
        return any(
            fnmatch.fnmatch(path, pattern)
            or fnmatch.fnmatch(path, pattern.removeprefix("**/"))
            or fnmatch.fnmatch(path.rsplit("/", 1)[-1], pattern.removeprefix("**/"))
            for pattern in self.settings.context.exclude
        )

    def relative_path(self, path: str) -> str:
        """The path the model sees: relative to the workspace, never the user's home layout."""
        if not path:
            return "untitled"
        root = self.workspace_root
        if root and os.path.commonpath([root, path]) == root:
            return os.path.relpath(path, root)
        return os.path.basename(path)

    def _multiline(self, document: Document, offset: int, info: CursorInfo) -> bool:
        mode = self.settings.completion.multiline
        if mode != "auto":
            return mode == "always"
        if self.workspace is not None:
            decided = self.workspace.multiline(document, offset)
            if decided is not None:
                return decided
        return guess_multiline(info)

    def cursor_at(self, document: Document, offset: int) -> CursorInfo:
        """What the text says about the cursor, and whether it asks for a block."""
        info = cursor_info(document, offset, multiline=False)
        return dataclasses.replace(info, multiline=self._multiline(document, offset, info))

    def prepare(
        self, document: Document, position: Position, info: CursorInfo | None = None
    ) -> tuple[Prompt, CursorInfo]:
        """Everything up to the prompt: pure, quick, and what the transparency command shows.
        ``info``: the cursor as already decided for this very text, if it was."""
        offset = document.offset_at(position)
        info = info or self.cursor_at(document, offset)
        pieces: list[PromptPiece] = []
        if self.settings.context.enabled and self.workspace is not None:
            try:
                pieces = [
                    p
                    for p in self.workspace.collect(document, offset)
                    if not self.is_excluded(p.source)
                ]
            except Exception:
                log.exception("context collection failed; completing from this file alone")
        c = self.settings.completion
        prompt = build_prompt(
            self.template,
            document.text[:offset],
            document.text[offset:],
            counter=self.counter,
            budget=c.prompt_tokens,
            suffix_share=c.suffix_share,
            path=self.relative_path(document.path),
            repo=os.path.basename(self.workspace_root) if self.workspace_root else None,
            pieces=pieces,
            context_share=self.settings.context.budget_share,
            comment=self._context_comment(document),
        )
        return prompt, info

    def _context_comment(self, document: Document) -> str | None:
        """The line-comment marker when context goes into the prefix as comments, else None."""
        layout = context_layout_for(self.settings.model.id, self.settings.context.layout)
        return line_comment(document.language_id) if layout == "comments" else None

    # ---- the request ------------------------------------------------------------------
    async def complete(
        self,
        document: Document,
        position: Position,
        on_update: Callable[[str], None] | None = None,
        *,
        explicit: bool = False,
    ) -> Completion | Skip:
        """One completion for the cursor; a newer request for the same document wins.

        ``on_update`` sees the cleaned text each time it changes, for streaming displays.
        ``explicit``: the user asked for it, so no debounce.
        """
        task = asyncio.current_task()
        previous = self._inflight.get(document.uri)
        if previous is not None and previous is not task and not previous.done():
            previous.cancel(SUPERSEDED)
        if task is not None:
            self._inflight[document.uri] = task
        self.metrics.requests += 1
        try:
            result = await self._complete(document, position, on_update, explicit)
        except asyncio.CancelledError:
            self.metrics.cancelled += 1
            raise
        else:
            if isinstance(result, Completion):
                self.metrics.completions += 1
            else:
                self.metrics.skipped += 1
            return result
        finally:
            if task is not None and self._inflight.get(document.uri) is task:
                del self._inflight[document.uri]

    async def _complete(
        self,
        document: Document,
        position: Position,
        on_update: Callable[[str], None] | None,
        explicit: bool,
    ) -> Completion | Skip:
        started = time.perf_counter()
        refused = self.refuse(document, position)
        if refused is not None:
            return refused
        if self.workspace is not None:
            reason = self.workspace.skip(document, document.offset_at(position), self.settings)
            if reason is not None:
                return Skip(reason)
        offset = document.offset_at(position)
        # A snapshot: the document may change while the model works.
        before, after = document.text[:offset], document.text[offset:]
        result: str | Skip | None = None
        for _attempt in range(2):
            joinable = self._joinable(document.uri, before, after)
            reused = joinable is not None
            if joinable is None:
                # Decided once for the wait and the prompt: the text is still the snapshot's
                # when the generation starts (a change during the wait ends the request).
                info = None
                if not explicit and self.settings.completion.adaptive_debounce:
                    self.rhythm.max_s = self.settings.completion.max_debounce_ms / 1000
                    info = self.cursor_at(document, offset)
                    delay = self.rhythm.delay(
                        document.uri,
                        time.monotonic(),
                        self.pacer.extra_s,
                        self.pacer.answer_times[info.multiline],
                    )
                    if delay > 0:
                        self.metrics.debounced += 1
                        await asyncio.sleep(delay)
                        if document.text != before + after:
                            return Skip("the text changed while waiting for a pause")
                joinable = self._start(document, position, before, after, explicit, info)
            generation = joinable
            typed = before[len(generation.before) :]
            result = await self._follow(generation, typed, on_update)
            if result is not None:
                break
            # The model went another way than the user typed: ask afresh, once.
        if result is None:
            return Skip("the suggestion no longer matches the text")
        if isinstance(result, Skip):
            return result
        if reused:
            if generation.finished_before_join:
                self.metrics.typed_through += 1
            else:
                self.metrics.joined += 1
        timings = dict(generation.timings_ms)
        timings["total_ms"] = (time.perf_counter() - started) * 1000
        return Completion(
            id=f"c{next(_ids)}",
            text=result,
            position=position,
            multiline=generation.info.multiline,
            stats=generation.stats,
            timings_ms=timings,
        )

    # ---- generations shared between requests ------------------------------------------
    def _joinable(self, uri: str, before: str, after: str) -> Generation | None:
        """The document's current generation if this request can use it, else None."""
        generation = self._generations.get(uri)
        if generation is None:
            return None
        typed = typed_since(generation.before, generation.after, before, after)
        usable = (
            typed is not None
            and generation.error is None
            and agrees(generation.text, typed, generation.finished)
            and (not generation.finished or len(typed) < len(generation.text))
            # Asking again where nothing was typed since a finished one: a fresh answer.
            and not (generation.finished and not typed)
            and (self.settings.completion.reuse_running or generation.finished)
        )
        if usable:
            generation.finished_before_join = generation.finished
            return generation
        self._drop(generation)
        return None

    def _drop(self, generation: Generation) -> None:
        uri = generation.uri
        if self._generations.get(uri) is generation:
            del self._generations[uri]
            # Leaving the document's slot happens once: count its outcome here. (An engine
            # failure says nothing about the user's pauses.)
            if generation.speculative and not generation.served and generation.error is None:
                self.metrics.wasted_generations += 1
                self.pacer.wasted()
            if not generation.finished:
                self.pacer.unfinished(
                    time.perf_counter() - generation.started_at, generation.info.multiline
                )
        generation.stop()

    def _start(
        self,
        document: Document,
        position: Position,
        before: str,
        after: str,
        explicit: bool = False,
        info: CursorInfo | None = None,
    ) -> Generation:
        prepared_at = time.perf_counter()
        prompt, info = self.prepare(document, position, info)
        c = self.settings.completion
        params = SamplingParams(
            max_tokens=c.max_tokens if info.multiline else c.single_line_max_tokens,
            temperature=c.temperature,
            # A single line ends at the newline: first, so that a remote engine (which takes
            # only a few stop strings) stops there itself instead of running on until the
            # stream is closed.
            stop=self.template.stop if info.multiline else ("\n", *self.template.stop),
        )
        request = GenerationRequest(prompt.text, params, affinity_key=document.uri)
        generation = Generation(document.uri, before, after, info, speculative=not explicit)
        generation.timings_ms["prepare_ms"] = (time.perf_counter() - prepared_at) * 1000
        self.metrics.recent.append(generation.stats)
        self._generations[document.uri] = generation
        generation.task = asyncio.create_task(
            self._generate(generation, request, document.language_id)
        )
        return generation

    async def _generate(
        self, generation: Generation, request: GenerationRequest, language_id: str
    ) -> None:
        """Run the engine for a generation, whoever waits for it; publish every step."""
        started = time.perf_counter()
        info, stops, stats = generation.info, self.template.stop, generation.stats
        raw = ""
        try:
            stream = self.engine.stream(request, stats)
            try:
                async for chunk in stream:
                    raw += chunk
                    partial = process(raw, info, stops)
                    if partial.finished:
                        break  # the completion is done: stop paying for tokens
                    generation.publish(partial.text)
            finally:
                await stream.aclose()
        except EngineUnavailable as error:
            self._notify(str(error))
            generation.fail(str(error))
            return
        except asyncio.CancelledError:
            generation.fail("stopped: the text changed or the request was cancelled")
            raise
        except Exception as error:  # a broken engine must not leave requests waiting
            log.exception("the engine failed")
            generation.fail(f"the engine failed: {error}")
            return
        finally:
            self.metrics.generated_tokens += stats.generated_tokens
        self.pacer.answered(time.perf_counter() - started, info.multiline)
        text = process(raw, info, stops, final=True).text
        if text and info.multiline and self.workspace is not None:
            try:
                text = self.workspace.refine(
                    language_id, generation.before, text, generation.after, info.multiline
                )
            except Exception:
                log.exception("syntax clean-up failed; keeping the plain result")
        generation.timings_ms["generate_ms"] = (time.perf_counter() - started) * 1000
        log.debug("completion %s: %s tokens", generation.uri, stats.generated_tokens)
        generation.publish(text, finished=True)

    async def _follow(
        self,
        generation: Generation,
        typed: str,
        on_update: Callable[[str], None] | None,
    ) -> str | Skip | None:
        """Wait for a generation: the text after ``typed``, a Skip, or None if it diverged."""
        generation.waiters += 1
        generation.keep()
        try:
            shown = None
            while True:
                if generation.error is not None:
                    return Skip(generation.error)
                if not agrees(generation.text, typed, generation.finished):
                    return None
                if on_update is not None and generation.text.startswith(typed):
                    rest = generation.text[len(typed) :]
                    if rest != shown:
                        on_update(rest)
                        shown = rest
                if generation.finished:
                    break
                await generation.next_update()
        finally:
            generation.waiters -= 1
            if generation.waiters == 0 and not generation.finished:
                self._orphaned(generation)
        if not generation.served:
            # Its answer reached a request in time (even if there is nothing to show).
            generation.served = True
            self.metrics.served_tokens += generation.stats.generated_tokens
            if generation.speculative:
                self.pacer.used()
        rest = generation.text[len(typed) :]
        if not rest.strip():
            return Skip("the model suggested nothing useful here")
        return rest

    def _orphaned(self, generation: Generation) -> None:
        """The last request waiting for a generation went away (cancelled or superseded).

        Stop it, unless the user has typed into it: then the editor asks again at the new
        cursor in a moment, so it keeps running a little while for that request to join.
        """
        text = self._texts.get(generation.uri)
        typed = generation.typed_in(text) if text is not None else None
        if not typed or not self._confirmed(generation, typed):
            self._drop(generation)
            return
        generation.expire_later(ORPHAN_GRACE_S, lambda: self._drop(generation))

    def _confirmed(self, generation: Generation, typed: str) -> bool:
        """Whether to keep a generation nobody waits for: the model has already said what the
        user typed. (Betting on text it has not produced yet wasted more than it saved.)"""
        return self.settings.completion.reuse_running and generation.text.startswith(typed)

    # ---- document events (a DocumentListener) -----------------------------------------
    def opened(self, document: Document) -> None:
        self._texts[document.uri] = document.text

    def changed(self, document: Document, edits: list[Edit]) -> None:
        """Learn the typing rhythm; stop a generation the change contradicts right away."""
        self._texts[document.uri] = document.text
        self.rhythm.changed(document.uri, time.monotonic())
        generation = self._generations.get(document.uri)
        if generation is not None and not generation.finished:
            typed = generation.typed_in(document.text)
            unwanted = generation.waiters == 0 and not self._confirmed(generation, typed or "")
            if typed is None or unwanted:
                self._drop(generation)
            elif generation.waiters == 0:
                generation.expire_later(ORPHAN_GRACE_S, lambda: self._drop(generation))

    def closed(self, document: Document) -> None:
        self._texts.pop(document.uri, None)
        self.rhythm.forget(document.uri)
        generation = self._generations.pop(document.uri, None)
        if generation is not None:
            generation.stop()
