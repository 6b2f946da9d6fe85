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

from loomline.completion.engines.base import (
    Engine,
    EngineUnavailable,
    GenerationRequest,
    GenerationStats,
    SamplingParams,
)
from loomline.completion.postprocess import CursorInfo, process
from loomline.completion.prompt import Prompt, PromptPiece, build_prompt
from loomline.completion.settings import Settings
from loomline.completion.templates import FimTemplate, template_for
from loomline.completion.tokens import EstimatedTokens, TokenCounter
from loomline.context.documents import Document
from loomline.context.positions import Position

log = logging.getLogger(__name__)

SUPERSEDED = "superseded"
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


@dataclass(frozen=True, slots=True)
class _Shown:
    """The last suggestion for a document, for typed-through reuse."""

    prefix: str  # document text before the cursor when it was made
    suffix: str  # and after
    text: str


def typed_through(shown: _Shown, prefix: str, suffix: str) -> str | None:
    """The rest of a shown suggestion when the user has typed its beginning, else None."""
    if suffix != shown.suffix or not prefix.startswith(shown.prefix):
        return None
    typed = prefix[len(shown.prefix) :]
    if not typed or not shown.text.startswith(typed) or len(typed) >= len(shown.text):
        return None
    return shown.text[len(typed) :]


@dataclass(slots=True)
class Skip:
    """No completion, and why (for logs and the status line)."""

    reason: str


Notify = Callable[[str], None]


@dataclass(slots=True)
class ServiceMetrics:
    requests: int = 0
    completions: int = 0
    typed_through: int = 0
    skipped: int = 0
    cancelled: int = 0
    # The stats of recent generations, still updated by engines that are winding down.
    recent: deque[GenerationStats] = field(default_factory=lambda: deque(maxlen=64))

    def snapshot(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "completions": self.completions,
            "typedThrough": self.typed_through,
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
    )


def guess_multiline(info: CursorInfo) -> bool:
    """Text-only rule: at an empty line or after a block opener, with nothing after the cursor
    but closers, the user wants a block; in the middle of a line, the rest of that line."""
    rest = info.line_suffix.strip()
    stripped = info.line_prefix.rstrip()
    if rest:
        # Only a block between braces (`{█}`) is multi-line with text after the cursor.
        return bool(stripped) and stripped[-1] == "{" and rest[0] == "}"
    return not stripped or stripped[-1] in ":{([" or stripped.endswith("=>")


class CompletionService:
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
        self._shown: dict[str, _Shown] = {}
        self.template: FimTemplate = template_for(settings.model.id, settings.model.template)
        self.workspace_root: str | None = None

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

    def prepare(self, document: Document, position: Position) -> tuple[Prompt, CursorInfo]:
        """Everything up to the prompt: pure, quick, and what the transparency command shows."""
        offset = document.offset_at(position)
        info = cursor_info(document, offset, multiline=False)
        info = dataclasses.replace(info, multiline=self._multiline(document, offset, info))
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
        )
        return prompt, info

    # ---- the request ------------------------------------------------------------------
    async def complete(
        self,
        document: Document,
        position: Position,
        on_update: Callable[[str], None] | None = None,
    ) -> Completion | Skip:
        """One completion for the cursor; a newer request for the same document wins.

        ``on_update`` sees the cleaned text each time it changes, for streaming displays.
        """
        task = asyncio.current_task()
        previous = self._inflight.get(document.uri)
        if previous is not None and previous is not task and not previous.done():
            previous.cancel(SUPERSEDED)
        if task is not None:
            self._inflight[document.uri] = task
        self.metrics.requests += 1
        try:
            result = await self._complete(document, position, on_update)
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
        shown = self._shown.get(document.uri)
        if shown is not None:
            rest = typed_through(shown, before, after)
            if rest is not None:
                # The user is typing what we suggested: the rest is still right, no model call.
                self.metrics.typed_through += 1
                return Completion(
                    id=f"c{next(_ids)}",
                    text=rest,
                    position=position,
                    multiline="\n" in rest,
                    stats=GenerationStats(finish_reason="reused"),
                    timings_ms={"total_ms": (time.perf_counter() - started) * 1000},
                )
        prompt, info = self.prepare(document, position)
        prepared = time.perf_counter()
        c = self.settings.completion
        params = SamplingParams(
            max_tokens=c.max_tokens if info.multiline else c.single_line_max_tokens,
            temperature=c.temperature,
            stop=self.template.stop,
        )
        request = GenerationRequest(prompt.text, params, affinity_key=document.uri)
        stats = GenerationStats()
        self.metrics.recent.append(stats)
        raw = ""
        stops = self.template.stop
        try:
            stream = self.engine.stream(request, stats)
            try:
                async for chunk in stream:
                    raw += chunk
                    partial = process(raw, info, stops)
                    if on_update is not None:
                        on_update(partial.text)
                    if partial.finished:
                        break  # the completion is done: stop paying for tokens
            finally:
                await stream.aclose()
        except EngineUnavailable as error:
            self._notify(str(error))
            return Skip(str(error))
        text = process(raw, info, stops, final=True).text
        if text and info.multiline and self.workspace is not None:
            try:
                text = self.workspace.refine(
                    document.language_id, before, text, after, info.multiline
                )
            except Exception:
                log.exception("syntax clean-up failed; keeping the plain result")
        done = time.perf_counter()
        timings = {
            "prepare_ms": (prepared - started) * 1000,
            "generate_ms": (done - prepared) * 1000,
            "total_ms": (done - started) * 1000,
        }
        log.debug("completion %s: %s tokens, %s", document.uri, stats.generated_tokens, timings)
        if not text.strip():
            return Skip("the model suggested nothing useful here")
        self._shown[document.uri] = _Shown(before, after, text)
        return Completion(
            id=f"c{next(_ids)}",
            text=text,
            position=position,
            multiline=info.multiline,
            stats=stats,
            timings_ms=timings,
        )
