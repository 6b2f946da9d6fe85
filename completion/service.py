"""The completion pipeline: position -> context -> prompt -> stream -> post-process.

Protocol-free: the server hands in documents and positions and gets plain results back.
This module holds the request flow (refuse, analyse, wait for a pause, prepare, start or
join); the running generations live in ``generation_pool``, the counters in ``metrics``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from loomline.completion.cleanup.block_end import may_continue_past_line_end
from loomline.completion.cleanup.closers import closers_replaced
from loomline.completion.cursor import Cursor, cursor_at, skip_reason
from loomline.completion.debounce import TypingRhythm, WastePacer
from loomline.completion.engines.base import (
    Engine,
    EngineState,
    GenerationRequest,
    SamplingParams,
    affinity_key,
)
from loomline.completion.generation_pool import GenerationPool, Notify
from loomline.completion.inflight import Generation
from loomline.completion.metrics import ServiceMetrics
from loomline.completion.next_edit.history_piece import edits_piece, recent_edits
from loomline.completion.prompt import (
    SURELY_ENORMOUS_CHARS_PER_TOKEN,
    Prompt,
    PromptPiece,
    build_prompt,
    enormous_line_window,
)
from loomline.completion.refusal import OUT_OF_SYNC, Refusals
from loomline.completion.results import Completion, Skip, fit_to_document
from loomline.completion.settings import Settings, SettingsStore
from loomline.completion.superseding import SUPERSEDED, LatestRequests
from loomline.completion.templates import FimTemplate, context_layout_for, template_for
from loomline.completion.tokens import EstimatedTokens, TokenCounter
from loomline.context.analysis import PositionInfo
from loomline.context.documents import (
    Document,
    DocumentChanged,
    DocumentClosed,
    DocumentEvent,
    DocumentStore,
)
from loomline.context.languages import line_comment
from loomline.context.positions import Position, to_lf
from loomline.context.privacy import ContentPolicy
from loomline.context.redaction import redact_around, redact_text
from loomline.context.workspace_folders import WorkspaceFolders

__all__ = [
    "SUPERSEDED",
    "Completion",
    "CompletionService",
    "Skip",
    "Workspace",
]

log = logging.getLogger(__name__)

_ids = itertools.count(1)


class Workspace(Protocol):
    """What the context engine answers (see ``workspace_context.WorkspaceContext``)."""

    def analyze(self, document: Document, offset: int) -> PositionInfo:
        """The analysis of the code-point ``offset`` from the document's syntax tree."""
        ...

    def collect(self, document: Document, offset: int) -> list[PromptPiece]:
        """Cross-file context for the cursor, in priority order."""
        ...

    async def bring_up_to_date(self, document: Document) -> None:
        """Have what ``analyze`` reads ready for the document's text (a big file's parse
        runs off the event loop)."""
        ...


class CompletionService:
    """Completions for documents of ``documents`` (the store it follows: typing rhythm, and
    generations the user types into), named to the model as ``folders`` says."""

    def __init__(
        self,
        settings: SettingsStore | Settings,
        engine: Engine,
        *,
        documents: DocumentStore | None = None,
        folders: WorkspaceFolders | None = None,
        counter: TokenCounter | None = None,
        workspace: Workspace | None = None,
        notify: Notify | None = None,
        policy: ContentPolicy | None = None,
    ) -> None:
        """``settings``: the session's store (read at each decision), or fixed settings.
        ``policy``: what may go into a prompt (the workspace context's, to share its cache;
        by default one for ``folders`` and the settings' exclusion globs)."""
        self._settings = SettingsStore.of(settings)
        self.counter: TokenCounter = counter or EstimatedTokens()
        self.workspace = workspace
        self.documents = documents
        self.folders = folders if folders is not None else WorkspaceFolders()
        self.policy = policy or ContentPolicy(self.folders, lambda: self.settings.context.exclude)
        self.refusals = Refusals(lambda: self.settings, self.folders, self.policy, notify)
        self._inflight = LatestRequests()
        self.metrics = ServiceMetrics()
        self.pool = GenerationPool(
            engine,
            self.metrics,
            # Read at each decision: the settings may change while generations run.
            reuse_running=lambda: self.settings.completion.reuse_running,
            text_of=self._text_of,
            notify=notify,
            deadline_s=self._deadline_s,
        )
        self.rhythm = TypingRhythm(
            max_s=lambda: self.settings.completion.max_debounce_ms / 1000
        )
        if documents is not None:
            documents.subscribe(self.on_document)

    def close(self) -> None:
        """Stop following the documents (a new service takes over)."""
        if self.documents is not None:
            self.documents.unsubscribe(self.on_document)

    @property
    def settings(self) -> Settings:
        return self._settings.current

    def _deadline_s(self, explicit: bool) -> float:
        c = self.settings.completion
        return (c.explicit_deadline_ms if explicit else c.deadline_ms) / 1000

    @property
    def template(self) -> FimTemplate:
        model = self.settings.model
        return template_for(model.id, model.template)

    @property
    def engine(self) -> Engine:
        return self.pool.engine

    @property
    def pacer(self) -> WastePacer:
        """The waste pacer (fed by the pool; read here for the pause before asking)."""
        return self.pool.pacer

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
        """Why ``document`` gets no completion at ``position`` (the user is told once), or
        None (see ``Refusals``)."""
        return self.refusals.refuse(document, position)

    def is_excluded(self, uri_or_path: str) -> bool:
        return self.refusals.is_excluded(uri_or_path)

    def edits_allowed_for(self, document: Document) -> Callable[[str], bool]:
        """Whose recent edits may go into a prompt for ``document`` (by URI): not an excluded
        file's, nor one that another LoRA adapter serves."""
        same_adapter = self.folders.same_adapter(document.uri, self.settings.engine.adapters)
        return lambda uri: not self.is_excluded(uri) and same_adapter(uri)

    def adapter_for(self, uri: str) -> str | None:
        """The LoRA adapter ``engine.adapters`` chooses for the folder of the document at
        ``uri``, or None (the base model)."""
        return self.folders.adapter_for(uri, self.settings.engine.adapters)

    def _tree_workspace(self, document: Document) -> Workspace | None:
        """The workspace whose syntax tree the cursor's analysis comes from, None where the
        text rules decide. (A syntax tree rows at \n only: with lone CRs its lines are not the
        document's.)"""
        return None if document.has_lone_cr else self.workspace

    def cursor_at(self, document: Document, offset: int) -> Cursor:
        """The cursor of a request, analysed once: what the wait for a pause, the prompt and
        the clean-up of the answer read. Without a syntax tree the text rules decide."""
        analysis = None
        if (workspace := self._tree_workspace(document)) is not None:
            try:
                analysis = workspace.analyze(document, offset)
            except Exception:
                log.exception("position analysis failed; using the text rules")
        mode = self.settings.completion.multiline
        # The cursor's text has \n line breaks only: what prompts and clean-up are made of.
        return cursor_at(document.lf_text, document.lf_offset(offset), document.language_id,
                         analysis, mode, document.indent_unit)

    def prepare(
        self, document: Document, position: Position, cursor: Cursor | None = None
    ) -> tuple[Prompt, Cursor]:
        """Everything up to the prompt: pure, quick, and what the transparency command shows.
        ``cursor``: the request's cursor, if it was made already (its text is the prompt's)."""
        offset = document.offset_at(position)
        cursor = cursor or self.cursor_at(document, offset)
        pieces: list[PromptPiece] = []
        if self.settings.context.enabled and self.workspace is not None:
            try:
                # Each source keeps excluded files out (the workspace asks ``policy``).
                pieces = self.workspace.collect(document, offset)
            except Exception:
                log.exception("context collection failed; completing from this file alone")
        pieces += self._edit_history_pieces(document)
        before, after, pieces = self._sendable(document, cursor, pieces)
        c = self.settings.completion
        prompt = build_prompt(
            self.template,
            before,
            after,
            counter=self.counter,
            budget=c.prompt_tokens,
            suffix_share=c.suffix_share,
            path=self.folders.relative(document.uri),
            repo=self.folders.name,
            pieces=pieces,
            context_share=self.settings.context.budget_share,
            comment=self._context_comment(document),
        )
        return prompt, cursor

    def _edit_history_pieces(self, document: Document) -> list[PromptPiece]:
        """The user's recent edits as a piece (``context.editHistory``), last in priority and
        so closest to the cursor; excluded files and files another LoRA adapter serves never
        contribute."""
        if not self.settings.context.edit_history or self.documents is None:
            return []
        events = recent_edits(self.documents.history, self.edits_allowed_for(document),
                              self.folders.relative)
        piece = edits_piece(events)
        return [piece] if piece is not None else []

    def _sendable(
        self, document: Document, cursor: Cursor, pieces: list[PromptPiece]
    ) -> tuple[str, str, list[PromptPiece]]:
        """The prefix, suffix and pieces as they may leave the machine: nothing of an excluded
        document (not even for the transparency command), secrets redacted from the rest. The
        document and the cursor stay as they are."""
        if self.is_excluded(document.uri):
            return "", "", []
        # No token averages 32 characters: the windows never need more of the text than that.
        c = self.settings.completion
        budget = c.prompt_tokens
        # Of an enormous cursor line, only what a prompt can hold (and a margin) is read. Both
        # steps read no further from the cursor than those 32 characters a token and one more
        # (which tells an enormous line): only that much of each side is cut from the text.
        reach = SURELY_ENORMOUS_CHARS_PER_TOKEN * budget + 1
        before, after = enormous_line_window(cursor.before_tail(reach), cursor.after_head(reach),
                                             budget, c.suffix_share)
        before, after = redact_around(before, after, document.path,
                                      keep_chars=SURELY_ENORMOUS_CHARS_PER_TOKEN * budget)
        return before, after, [
            replace(p, text=redact_text(to_lf(p.text), p.source)) for p in pieces
        ]

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
        with self._inflight.claim(document.uri):
            self.metrics.requests += 1
            try:
                result = await self._complete(document, position, on_update, explicit)
            except asyncio.CancelledError:
                self.metrics.cancelled += 1
                raise
        if isinstance(result, Completion):
            self.metrics.completions += 1
        else:
            self.metrics.skipped += 1
        return result

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
        # A column inside a surrogate pair means the character's start.
        position = document.position_at(document.offset_at(position))
        if (workspace := self._tree_workspace(document)) is not None:
            # The syntax tree is parsed when first read after changes: in a worker thread,
            # while the event loop takes the next keystrokes.
            version = document.version
            await workspace.bring_up_to_date(document)
            if document.version != version:
                return Skip("the text changed while its syntax tree was parsed")
        # Decided once for the wait, the prompt and the clean-up; its text is a snapshot (the
        # document may change while the model works).
        cursor = self.cursor_at(document, document.offset_at(position))
        c = self.settings.completion
        reason = skip_reason(cursor, c.complete_in_comments, c.complete_in_strings)
        if reason is not None:
            return Skip(reason)
        before, after = cursor.before, cursor.after
        adapter = self.adapter_for(document.uri)
        result: str | Skip | None = None
        for _attempt in range(2):
            joinable = self.pool.joinable(document.uri, before, after, adapter)
            reused = joinable is not None
            if joinable is None:
                # Known down: the answer is empty whenever asked, so not after a pause.
                waits = (not explicit and self.settings.completion.adaptive_debounce
                         and self.engine.state is not EngineState.ERROR)
                # (The cursor's own text is ``before + after``: no copy of the document.)
                if waits and not await self._paused(document, cursor, cursor.text):
                    return Skip("the text changed while waiting for a pause")
                joinable = self._start(document, position, cursor, explicit, adapter)
            generation = joinable
            typed = before[len(generation.before) :]
            result = await self.pool.follow(generation, typed, on_update)
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
        if document.out_of_sync is not None:  # it lost an edit while the model worked
            return Skip(f"{OUT_OF_SYNC}: {document.out_of_sync}")
        replaced = cursor.after[: closers_replaced(result, cursor)]
        landing = fit_to_document(result, before, after, position, document, replaced)
        if landing is None:
            return Skip("the text changed while the model worked")
        timings = dict(generation.timings_ms)
        timings["total_ms"] = (time.perf_counter() - started) * 1000
        return Completion(
            id=f"c{next(_ids)}",
            text=landing.text,
            position=landing.position,
            multiline=generation.cursor.multiline,
            stats=generation.stats,
            timings_ms=timings,
            end=landing.end,
        )

    async def _paused(self, document: Document, cursor: Cursor, text: str) -> bool:
        """Hold a typed request until the user's pause is long enough to ask (see
        ``debounce``); False if the document no longer reads ``text`` after the wait."""
        delay = self.rhythm.delay(
            document.uri,
            time.monotonic(),
            self.pacer.extra_s,
            self.pacer.answer_times[cursor.multiline],
        )
        if delay <= 0:
            return True
        self.metrics.debounced += 1
        await asyncio.sleep(delay)
        return document.lf_text == text

    def _start(
        self,
        document: Document,
        position: Position,
        cursor: Cursor,
        explicit: bool = False,
        adapter: str | None = None,
    ) -> Generation:
        prepared_at = time.perf_counter()
        prompt, cursor = self.prepare(document, position, cursor)
        c = self.settings.completion
        multiline_stream = cursor.multiline or may_continue_past_line_end(cursor)
        params = SamplingParams(
            max_tokens=c.max_tokens if multiline_stream else c.single_line_max_tokens,
            temperature=c.temperature,
            # A single line ends at the newline: first, so that a remote engine (which takes
            # only a few stop strings) stops there itself instead of running on until the
            # stream is closed.
            # (Unless a block may follow before the typed closers: the clean-up ends it.)
            stop=self.template.stop if multiline_stream else ("\n", *self.template.stop),
        )
        request = GenerationRequest(
            prompt.text, params, affinity_key=affinity_key(document.uri, adapter), adapter=adapter
        )
        generation = Generation(document.uri, cursor, adapter=adapter, speculative=not explicit)
        generation.timings_ms["prepare_ms"] = (time.perf_counter() - prepared_at) * 1000
        return self.pool.start(generation, request, stops=self.template.stop)

    # ---- following the documents ------------------------------------------------------
    def on_document(self, event: DocumentEvent) -> None:
        """Learn the typing rhythm; stop a generation a change contradicts right away."""
        uri = event.document.uri
        if isinstance(event, DocumentChanged):
            self.pool.changed(uri, event.document.lf_text)
            self.rhythm.changed(uri, time.monotonic())
        elif isinstance(event, DocumentClosed):
            self.pool.closed(uri)
            self.rhythm.forget(uri)

    def _text_of(self, uri: str) -> str | None:
        document = self.documents.get(uri) if self.documents is not None else None
        return document.lf_text if document is not None else None
