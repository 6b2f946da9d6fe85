"""Next edit suggestions: after a change and a pause, the change the user will likely make
next, inside an editable window around the cursor.

Protocol-free, like the completion service whose machinery it shares: the refusals (switched
off, excluded, too large), the typing rhythm and waste pacer for the wait, the engine, the
token counter. The flow: refuse -> supersede the document's previous request -> wait for a
pause -> prompt (``prompt.build_next_edit_prompt``) -> stream, stopping once the window's
end is written -> read the answer -> review (``postprocess``) -> one edit, or a reason.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass, field

from loomline.completion.engine_stream import not_ready, stream_into
from loomline.completion.engines.base import (
    EngineState,
    GenerationRequest,
    GenerationStats,
    SamplingParams,
    affinity_key,
)
from loomline.completion.next_edit.answer_fit import covered_part
from loomline.completion.next_edit.formats import NextEditFormat, read_answer
from loomline.completion.next_edit.heuristics import cheap_next_edit
from loomline.completion.next_edit.postprocess import (
    SuggestedEdit,
    completed,
    cut_at_window_end,
    reproduces_window_end,
    review,
)
from loomline.completion.next_edit.prompt import (
    NextEditPrompt,
    build_next_edit_prompt,
    empty_prompt,
)
from loomline.completion.next_edit.window import EditWindow
from loomline.completion.results import Skip
from loomline.completion.service import CompletionService
from loomline.completion.superseding import LatestRequests
from loomline.context.documents import Document
from loomline.context.edit_history import EditHistory
from loomline.context.positions import Position, with_line_ending

log = logging.getLogger(__name__)

_ids = itertools.count(1)
# Tokens the model may write beyond the window's own (the edit may add lines; the answer's
# closing fence): at least this many, or a quarter of the window's.
EXTRA_TOKENS = 64


def max_answer_tokens(window_tokens: int) -> int:
    """The token budget of a rewrite of a window of ``window_tokens`` tokens."""
    return window_tokens + max(EXTRA_TOKENS, window_tokens // 4)


@dataclass(slots=True)
class NextEdit:
    """Replace ``start`` .. ``end`` (LSP positions of the document at ``version``) with
    ``text`` (in the document's line ending). ``source``: ``model``, or the heuristic
    (``heuristics.cheap_next_edit``) offered when the model had nothing: ``rename`` (the
    next use of a name the user just renamed) or ``repeat`` (the last one-token change made
    again at the next occurrence)."""

    id: str
    uri: str
    version: int
    start: Position
    end: Position
    text: str
    source: str = "model"
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class NextEditCounters:
    requests: int = 0
    suggestions: int = 0
    skipped: int = 0
    cancelled: int = 0
    stopped_at_window_end: int = 0
    # Of the answers streamed: tokens generated, and the tokens of their windows.
    generated_tokens: int = 0
    window_tokens: int = 0

    def snapshot(self) -> dict[str, int]:
        return {
            "nextEditRequests": self.requests,
            "nextEditSuggestions": self.suggestions,
            "nextEditSkipped": self.skipped,
            "nextEditCancelled": self.cancelled,
            "nextEditStoppedAtWindowEnd": self.stopped_at_window_end,
            "nextEditGeneratedTokens": self.generated_tokens,
            "nextEditWindowTokens": self.window_tokens,
        }


def _touches(edit: SuggestedEdit, lines: frozenset[int]) -> bool:
    return any(edit.start[0] <= line <= edit.end[0] for line in lines)


def whole_answer(
    fmt: NextEditFormat, window: EditWindow, text: str
) -> tuple[str, ...] | Skip:
    """The whole window as the model's ``text`` rewrites it. Only an answer that wrote its
    end marker is whole as it stands (up to the window's end: lines run on past it are
    dropped); without the marker, whether the model stopped by itself (an engine keeps a
    stop string out of the text) or was cut, an unfinished last line is never kept and the
    window's lines the answer did not reach stay as they are."""
    answer = read_answer(fmt, text)  # complete only with the end marker
    lines = cut_at_window_end(window, answer.lines)
    if answer.complete or reproduces_window_end(window, lines):
        return lines
    whole = completed(window, lines)
    if whole is None and lines:
        whole = covered_part(window, lines)
    return whole if whole is not None else Skip("the model's answer was cut short")


class NextEditService:
    """Next edits for the documents ``completions`` serves, from the ``history`` of edits
    their store keeps."""

    def __init__(self, completions: CompletionService, history: EditHistory) -> None:
        self.completions = completions
        self.history = history
        self.counters = NextEditCounters()
        self._inflight = LatestRequests()
        self.last: NextEdit | None = None  # the latest suggestion (for inline completions)

    def refuse(self, document: Document, position: Position) -> Skip | None:
        if not self.completions.settings.next_edit.enabled:
            return Skip("next edit suggestions are disabled")
        return self.completions.refuse(document, position)

    def prepare(self, document: Document, position: Position) -> NextEditPrompt:
        """The prompt a next-edit request here would send (pure; also for showContext)."""
        c = self.completions
        if c.is_excluded(document.uri):  # nothing of it leaves the machine, not even on show
            return empty_prompt(c.settings)
        return build_next_edit_prompt(
            document,
            position,
            settings=c.settings,
            history=self.history,
            allows=c.edits_allowed_for(document),
            relative=c.folders.relative,
            counter=c.counter,
        )

    async def suggest(
        self, document: Document, position: Position, *, explicit: bool = False
    ) -> NextEdit | Skip:
        """The next edit for the cursor at ``position``; a newer request for the same
        document cancels this one (``CancelledError`` with ``SUPERSEDED``)."""
        with self._inflight.claim(document.uri):
            self.counters.requests += 1
            try:
                result = await self._suggest(document, position, explicit)
            except asyncio.CancelledError:
                self.counters.cancelled += 1
                raise
        if isinstance(result, NextEdit):
            self.counters.suggestions += 1
            self.last = result
        else:
            self.counters.skipped += 1
            log.debug("no next edit for %s: %s", document.uri, result.reason)
        return result

    async def _suggest(
        self, document: Document, position: Position, explicit: bool
    ) -> NextEdit | Skip:
        started = time.perf_counter()
        refused = self.refuse(document, position)
        if refused is not None:
            return refused
        version = document.version
        if not explicit and not await self._paused(document):
            return Skip("the text changed while waiting for a pause")
        prompt = self.prepare(document, position)
        # Ready before the model answers: what is offered when it has nothing, fails or
        # runs out of time.
        fallback = cheap_next_edit(document.lf_text, prompt.last_edit, prompt.window,
                                   document.language_id)
        if fallback is not None and _touches(fallback[0], prompt.redacted_lines):
            fallback = None
        prepared = time.perf_counter()
        busy = not_ready(self.completions.engine)
        answer = Skip(busy) if busy is not None else await self._generate(prompt, document.uri)
        if document.version != version:
            return Skip("the text changed while the model worked")
        reviewed = self._reviewed(prompt, answer, document)
        source = "model"
        if isinstance(reviewed, str):
            if fallback is None:
                return Skip(reviewed)
            log.debug("next edit from the %s heuristic: %s", fallback[1], reviewed)
            reviewed, source = fallback
        timings = {"prepare_ms": (prepared - started) * 1000,
                   "total_ms": (time.perf_counter() - started) * 1000}
        return self._landed(document, reviewed, source, timings)

    @staticmethod
    def _reviewed(
        prompt: NextEditPrompt, answer: tuple[str, ...] | Skip, document: Document
    ) -> SuggestedEdit | str:
        """The model's edit, or why there is none."""
        if isinstance(answer, Skip):
            return answer.reason
        reviewed = review(prompt.window, answer, last_edit=prompt.last_edit,
                          text=document.lf_text, language_id=document.language_id)
        if not isinstance(reviewed, str) and _touches(reviewed, prompt.redacted_lines):
            return "the suggestion touches a line whose secret was redacted"
        return reviewed

    async def _paused(self, document: Document) -> bool:
        """Hold a request until the pause after the last change is long enough (the setting's
        floor, or what the typing rhythm asks, whichever is longer); False when the text
        changed meanwhile."""
        c = self.completions
        if c.engine.state is EngineState.ERROR:
            return True  # known down: the answer is the fallback whenever asked
        version = document.version
        floor = c.settings.next_edit.debounce_ms / 1000
        now = time.monotonic()
        since = now - (c.rhythm.last_change(document.uri) or now - floor)
        delay = max(floor - since,
                    c.rhythm.delay(document.uri, now, c.pacer.extra_s, c.pacer.answer_times[True]))
        if delay > 0:
            await asyncio.sleep(delay)
        return document.version == version

    async def _generate(self, prompt: NextEditPrompt, uri: str) -> tuple[str, ...] | Skip:
        """The window as the model rewrote it (whole), or why there is none."""
        c = self.completions
        window_tokens = c.counter.count(prompt.window.text)
        params = SamplingParams(max_tokens=max_answer_tokens(window_tokens), temperature=0.0,
                                stop=prompt.format.stop)
        # The folder's LoRA adapter, as for its completions.
        adapter = c.adapter_for(uri)
        request = GenerationRequest(prompt.text, params, affinity_key=affinity_key(uri, adapter),
                                    adapter=adapter)
        stats = GenerationStats()
        pieces: list[str] = []
        at_window_end = False

        def take(chunk: str) -> bool:
            nonlocal at_window_end
            pieces.append(chunk)
            text = "".join(pieces)
            answer = read_answer(prompt.format, text)
            if answer.complete:
                return True
            at_window_end = reproduces_window_end(prompt.window, answer.lines)
            return at_window_end

        deadline = c.settings.next_edit.deadline_ms / 1000
        try:
            async with asyncio.timeout(deadline):
                failure = await stream_into(c.engine, request, stats, take)
        except TimeoutError:
            # As a completion's deadline keeps its whole lines: the window as far as the
            # model wrote it (the edit is mostly near the top, where the cursor is), the
            # rest as it is.
            cut = whole_answer(prompt.format, prompt.window, "".join(pieces))
            if isinstance(cut, Skip) or not cut:
                return Skip(f"the model did not finish the window within "
                            f"{deadline * 1000:.0f} ms")
            log.debug("next edit: the model's answer cut at %.0f ms", deadline * 1000)
            return cut
        finally:
            self.counters.generated_tokens += stats.generated_tokens
            self.counters.window_tokens += window_tokens
        if failure is not None:
            return Skip(failure.message)
        if at_window_end:
            self.counters.stopped_at_window_end += 1
        return whole_answer(prompt.format, prompt.window, "".join(pieces))

    def _landed(
        self, document: Document, edit: SuggestedEdit, source: str, timings: dict[str, float]
    ) -> NextEdit:
        """The edit in the document's coordinates (UTF-16 columns, its own line ending)."""
        lines = document.lines

        def position(point: tuple[int, int]) -> Position:
            line = min(point[0], lines.line_count - 1)
            return document.position_at(lines.line_start(line) + point[1])

        return NextEdit(
            id=f"n{next(_ids)}",
            uri=document.uri,
            version=document.version,
            start=position(edit.start),
            end=position(edit.end),
            text=with_line_ending(edit.text, document.line_ending),
            source=source,
            timings_ms=timings,
        )
