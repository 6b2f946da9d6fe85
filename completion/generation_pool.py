"""The running generations, one per document, shared by the requests that join them.

A generation outlives the request that started it while the user types what it says (see
``inflight``). The pool decides when a request may join one, runs each on the engine, follows
it for a request, and drops it when the text contradicts it or nobody waits for it any more.
Leaving the pool is where a generation's outcome is known (used, wasted, stopped early), so
the pool is the only thing that feeds the waste pacer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from loomline.completion.cleanup.streaming import StreamingCleanup
from loomline.completion.debounce import WastePacer
from loomline.completion.engines.base import (
    Engine,
    EngineRequestError,
    EngineUnavailable,
    GenerationRequest,
)
from loomline.completion.inflight import Generation, agrees, typed_since
from loomline.completion.metrics import ServiceMetrics
from loomline.completion.results import Skip
from loomline.completion.settings import CompletionSettings
from loomline.context.positions import LineBreaksAsLf

log = logging.getLogger(__name__)

# How long a generation the user is typing into waits for the editor's next request.
ORPHAN_GRACE_S = 1.0
STOPPED = "stopped: the text changed or the request was cancelled"
# Why a generation was cut short by us (its stats' ``finish_reason``).
DEADLINE = "deadline"
LENGTH_CAPPED = "length"
# Characters one token may stand for, at most: beyond ``max_tokens`` times this, the engine
# is ignoring ``max_tokens`` and we stop reading (a 20 MB answer stalled every request).
CHARS_PER_TOKEN_CAP = 16


def answer_char_cap(max_tokens: int) -> int:
    """The most characters read from an answer of at most ``max_tokens`` tokens."""
    return max(1, max_tokens) * CHARS_PER_TOKEN_CAP


def _why_empty(cut_short: str, deadline_s: float) -> str:
    if cut_short == DEADLINE:
        return f"the engine did not finish a line within the deadline ({deadline_s * 1000:.0f} ms)"
    if cut_short == LENGTH_CAPPED:
        return "the engine ignored max_tokens and sent nothing usable"
    return cut_short  # the engine's failure


def _default_deadline_s(explicit: bool) -> float:
    defaults = CompletionSettings()
    return (defaults.explicit_deadline_ms if explicit else defaults.deadline_ms) / 1000

Notify = Callable[[str], None]


class GenerationPool:
    """The running (or last finished) generation per document URI.

    ``reuse_running`` is read at each decision (the settings may change): whether a request
    may join a generation that is still running. ``text_of`` gives a document's current text
    (None when unknown: then a generation nobody waits for is not kept). ``notify`` tells the
    user when the engine is unavailable. ``deadline_s(explicit)`` is read at each start:
    the seconds a generation may take (longer for one the user asked for).
    """

    def __init__(
        self,
        engine: Engine,
        metrics: ServiceMetrics,
        *,
        reuse_running: Callable[[], bool],
        text_of: Callable[[str], str | None] | None = None,
        notify: Notify | None = None,
        deadline_s: Callable[[bool], float] = _default_deadline_s,
    ) -> None:
        self.engine = engine
        self._deadline_s = deadline_s
        self.metrics = metrics
        self.pacer = WastePacer()
        self._reuse_running = reuse_running
        self._notify = notify or (lambda message: None)
        # A refused request is told as the user's message (which logs it), else logged here.
        self._refused: Notify = notify or (lambda message: log.warning("%s", message))
        self._generations: dict[str, Generation] = {}
        # A document's current text, asked of its owner (the document store) when needed.
        self._text_of = text_of or (lambda uri: None)

    def current(self, uri: str) -> Generation | None:
        """The document's running (or last finished) generation, if any."""
        return self._generations.get(uri)

    def generations(self) -> list[Generation]:
        return list(self._generations.values())

    # ---- joining, starting and dropping ------------------------------------------------
    def joinable(
        self, uri: str, before: str, after: str, adapter: str | None = None
    ) -> Generation | None:
        """The document's current generation if this request can use it, else None.
        ``adapter``: the request's LoRA adapter (an answer of another adapter is no use)."""
        generation = self._generations.get(uri)
        if generation is None:
            return None
        typed = typed_since(generation.before, generation.after, before, after)
        usable = (
            typed is not None
            and generation.adapter == adapter
            and generation.error is None
            and agrees(generation.text, typed, generation.finished)
            and (not generation.finished or len(typed) < len(generation.text))
            # Asking again where nothing was typed since a finished one: a fresh answer.
            and not (generation.finished and not typed)
            and (self._reuse_running() or generation.finished)
        )
        if usable:
            generation.finished_before_join = generation.finished
            return generation
        self.drop(generation)
        return None

    def drop(self, generation: Generation) -> None:
        """Stop a generation and, if it still held its document's slot, count its outcome."""
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
                    time.perf_counter() - generation.started_at, generation.cursor.multiline
                )
        generation.stop()

    def start(
        self,
        generation: Generation,
        request: GenerationRequest,
        *,
        stops: tuple[str, ...],
    ) -> Generation:
        """Make ``generation`` its document's current one and run ``request`` for it.

        ``stops``: the template's stop strings, for post-processing the stream."""
        self.metrics.recent.append(generation.stats)
        self._generations[generation.uri] = generation
        generation.task = asyncio.create_task(
            self._generate(generation, request, stops)
        )
        generation.task.add_done_callback(lambda _task: self._ended(generation))
        return generation

    @staticmethod
    def _ended(generation: Generation) -> None:
        """End a generation whose task ended without saying so: a task cancelled before its
        first step never runs its body, and its followers would wait for ever."""
        if not generation.finished:
            generation.fail(STOPPED)

    async def _generate(
        self,
        generation: Generation,
        request: GenerationRequest,
        stops: tuple[str, ...],
    ) -> None:
        """Run the engine for a generation, whoever waits for it; publish every step. It ends
        by its deadline and after ``max_tokens`` worth of text, whatever the engine does."""
        started = time.perf_counter()
        cursor, stats = generation.cursor, generation.stats
        deadline_s = self._deadline_s(not generation.speculative)
        request = replace(request, deadline=time.monotonic() + deadline_s)
        cleanup = StreamingCleanup(cursor, stops)
        cap = answer_char_cap(request.params.max_tokens)
        cut_short: str | None = None  # why we stopped reading before the engine finished
        timer = asyncio.timeout(deadline_s)
        try:
            try:
                async with timer:
                    cut_short = await self._read(generation, request, cleanup, cap)
            except TimeoutError:
                if not timer.expired():
                    raise  # the engine's own, not our deadline: a broken engine
                cut_short = DEADLINE
        except EngineUnavailable as error:
            self._notify(str(error))
            if not cleanup.length:
                generation.fail(str(error))
                return
            cut_short = str(error)  # it broke mid-answer: its whole lines may still serve
        except EngineRequestError as error:
            # The request's fault (HTTP 400...): one warning line and the server's words for
            # the user, never a traceback; nothing of an answer to keep.
            self._refused(str(error))
            generation.fail(str(error))
            return
        except asyncio.CancelledError:
            generation.fail(STOPPED)
            raise
        except Exception as error:  # a broken engine must not leave requests waiting
            log.exception("the engine failed")
            generation.fail(f"the engine failed: {error}")
            return
        finally:
            self.metrics.generated_tokens += stats.generated_tokens
        self.pacer.answered(time.perf_counter() - started, cursor.multiline)
        generation.timings_ms["generate_ms"] = (time.perf_counter() - started) * 1000
        if cut_short is None:
            text = cleanup.final()
        else:
            text = self._cut_short(generation, cleanup, cut_short, deadline_s, cap)
            if not text:
                generation.fail(_why_empty(cut_short, deadline_s))
                return
        log.debug("completion %s: %s tokens", generation.uri, stats.generated_tokens)
        generation.publish(text, finished=True)

    async def _read(
        self,
        generation: Generation,
        request: GenerationRequest,
        cleanup: StreamingCleanup,
        cap: int,
    ) -> str | None:
        """Stream the engine's answer into ``cleanup``, publishing the cleaned text; None when
        the answer ended (the engine or the clean-up said so), else why we stopped reading."""
        stream = self.engine.stream(request, generation.stats)
        line_breaks = LineBreaksAsLf()  # answers are read as prompts are made: \n breaks
        try:
            async for chunk in stream:
                partial = cleanup.feed(line_breaks.feed(chunk))
                if partial is not None:
                    if partial.finished:
                        return None  # the completion is done: stop paying for tokens
                    generation.publish(partial.text)
                if cleanup.length > cap:
                    return LENGTH_CAPPED  # an engine that ignores max_tokens
        finally:
            await stream.aclose()
        return None

    @staticmethod
    def _cut_short(
        generation: Generation, cleanup: StreamingCleanup, why: str, deadline_s: float, cap: int
    ) -> str:
        """The usable part of an answer that ended early (``why``: our deadline, our length
        cap, or the engine's failure): whole lines only (an unfinished single line is withheld),
        cleaned; the reason goes to the stats and the log."""
        reasons = {DEADLINE: f"the {deadline_s * 1000:.0f} ms deadline",
                   LENGTH_CAPPED: f"over {cap} characters for max_tokens"}
        if why in reasons:
            generation.stats.finish_reason = why
        text = cleanup.final(whole_lines=True, limit=cap)
        log.info(
            "completion %s cut short (%s) after %d characters, %.0f ms: %d characters kept",
            generation.uri, reasons.get(why, why), cleanup.length,
            (time.perf_counter() - generation.started_at) * 1000, len(text),
        )
        return text

    # ---- following one for a request ---------------------------------------------------
    async def follow(
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
        text = self._text_of(generation.uri)
        typed = generation.typed_in(text) if text is not None else None
        if not typed or not self._confirmed(generation, typed):
            self.drop(generation)
            return
        generation.expire_later(ORPHAN_GRACE_S, lambda: self.drop(generation))

    def _confirmed(self, generation: Generation, typed: str) -> bool:
        """Whether to keep a generation nobody waits for: the model has already said what the
        user typed. (Betting on text it has not produced yet wasted more than it saved.)"""
        return self._reuse_running() and generation.text.startswith(typed)

    # ---- document events -----------------------------------------------------------------
    def changed(self, uri: str, text: str) -> None:
        """Stop a generation the change (the document's new ``text``) contradicts right away."""
        generation = self._generations.get(uri)
        if generation is not None and not generation.finished:
            typed = generation.typed_in(text)
            unwanted = generation.waiters == 0 and not self._confirmed(generation, typed or "")
            if typed is None or unwanted:
                self.drop(generation)
            elif generation.waiters == 0:
                generation.expire_later(ORPHAN_GRACE_S, lambda: self.drop(generation))

    def closed(self, uri: str) -> None:
        generation = self._generations.pop(uri, None)
        if generation is not None:
            generation.stop()
