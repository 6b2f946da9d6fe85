"""The deadline of next edits: ``nextEdit.deadlineMs`` bounds them (typed or asked for), not
the completions' deadlines, and at the deadline the whole lines the model wrote count, as a
completion keeps its whole lines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from loomline.completion.engines.base import GenerationRequest, GenerationStats
from loomline.completion.engines.fake import FakeEngine
from loomline.completion.next_edit.service import NextEdit, NextEditService
from loomline.completion.results import Skip
from loomline.completion.service import CompletionService
from loomline.completion.settings import FakeSettings, Settings, SettingsStore, parse_settings
from loomline.context.documents import DocumentStore
from loomline.context.positions import Position

URI = "file:///work/point.py"
# The user adds the parameter z; the next edit stores it. Neither heuristic has a guess for
# an insertion, so what comes back is the model's or nothing.
BEFORE = ("class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n"
          "\n    def norm(self):\n        return self.x\n")
EDITED = BEFORE.replace("x, y):", "x, y, z):")
EXPECTED = EDITED.replace("self.y = y\n", "self.y = y\n        self.z = z\n")
# The model's rewrite as far as its new line and the blank line after it.
FIRST_LINES = "class Point:\n    def __init__(self, x, y, z):\n        self.x = x\n" \
    "        self.y = y\n        self.z = z\n\n"
WHOLE = EXPECTED + "```"


class ScriptedEngine(FakeEngine):
    """Writes ``first`` at once, then, after ``pause`` seconds (None: never), ``rest``."""

    def __init__(self, first: str, rest: str = "", pause: float | None = None) -> None:
        super().__init__(FakeSettings(chunk_delay_ms=0))
        self.first, self.rest, self.pause = first, rest, pause
        self.stopped = asyncio.Event()

    async def stream(
        self, request: GenerationRequest, stats: GenerationStats | None = None
    ) -> AsyncGenerator[str, None]:
        self.requests.append(request)
        try:
            if self.first:
                yield self.first
            if self.pause is None:
                await asyncio.Event().wait()
            await asyncio.sleep(self.pause)
            yield self.rest
        finally:
            self.stopped.set()


async def _suggest(engine: FakeEngine, options: dict[str, object], *,
                   explicit: bool) -> NextEdit | Skip:
    settings, problems = parse_settings({"backend": "fake", **options})
    assert problems == []
    settings.completion.adaptive_debounce = False
    settings.next_edit.debounce_ms = 0
    await engine.start()
    documents = DocumentStore()
    service = NextEditService(
        CompletionService(SettingsStore(settings), engine, documents=documents),
        documents.history)
    documents.open(URI, "python", 1, BEFORE)
    documents.change(URI, 2, [(Position(1, 27), Position(1, 27), ", z")])
    document = documents.get(URI)
    assert document is not None and document.text == EDITED
    return await service.suggest(document, Position(1, 30), explicit=explicit)


def _applied(result: NextEdit | Skip) -> str:
    assert isinstance(result, NextEdit), result
    assert result.source == "model"
    lines = EDITED.split("\n")

    def offset(p: Position) -> int:
        return sum(len(line) + 1 for line in lines[:p.line]) + p.character

    return EDITED[:offset(result.start)] + result.text + EDITED[offset(result.end):]


@pytest.mark.parametrize("explicit", [False, True])
async def test_next_edits_are_bounded_by_their_own_deadline_not_the_completions(
    explicit: bool,
) -> None:
    # The model takes longer than either completion deadline allows, well within its own.
    engine = ScriptedEngine("", WHOLE, pause=0.3)
    result = await _suggest(engine, {
        "completion": {"deadlineMs": 100, "explicitDeadlineMs": 100},
        "nextEdit": {"deadlineMs": 300_000}}, explicit=explicit)
    assert _applied(result) == EXPECTED


@pytest.mark.parametrize("explicit", [False, True])
async def test_at_the_deadline_the_lines_the_model_wrote_count(explicit: bool) -> None:
    engine = ScriptedEngine(FIRST_LINES)  # then nothing, ever
    result = await _suggest(engine, {"nextEdit": {"deadlineMs": 100}}, explicit=explicit)
    assert _applied(result) == EXPECTED
    assert engine.stopped.is_set()  # the stream was closed at the deadline


async def test_at_the_deadline_without_a_whole_line_there_is_none() -> None:
    engine = ScriptedEngine("class Po")
    result = await _suggest(engine, {"nextEdit": {"deadlineMs": 100}}, explicit=False)
    assert isinstance(result, Skip) and "within 100 ms" in result.reason


def test_the_default_deadline() -> None:
    assert Settings().next_edit.deadline_ms == 30_000
