"""The pool's limits, whatever the engine: the deadline and the length cap (engine-agnostic:
the fake engine and scripted ones that ignore max_tokens or never answer)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator

from loomline.completion.cursor import cursor_at
from loomline.completion.engines.base import (
    EngineUnavailable,
    GenerationRequest,
    GenerationStats,
    SamplingParams,
)
from loomline.completion.engines.fake import FakeEngine
from loomline.completion.generation_pool import (
    CHARS_PER_TOKEN_CAP,
    GenerationPool,
    answer_char_cap,
)
from loomline.completion.inflight import Generation
from loomline.completion.metrics import ServiceMetrics
from loomline.completion.results import Skip
from loomline.completion.settings import FakeSettings

URI = "file:///work/a.py"
BEFORE, AFTER = "def f(x):\n    ", "\n"
BLOCK = cursor_at(BEFORE + AFTER, len(BEFORE), "python", mode="always")
LINE = cursor_at("total = \n", len("total = "), "python", mode="never")


class ScriptedEngine:
    """Yields ``first`` after ``delay_s``, then ``then`` every ``every_s`` for ever (it ignores
    max_tokens); counts the chunks read and whether the stream was closed."""

    name = "scripted"

    def __init__(self, first: str, then: str = "", *, delay_s: float = 0.0,
                 every_s: float = 0.0) -> None:
        self.first, self.then, self.delay_s, self.every_s = first, then, delay_s, every_s
        self.chunks = 0
        self.closed = False

    async def stream(self, request: GenerationRequest,
                     stats: GenerationStats | None = None) -> AsyncGenerator[str, None]:
        try:
            await asyncio.sleep(self.delay_s)
            self.chunks += 1
            yield self.first
            while True:
                await asyncio.sleep(self.every_s)
                self.chunks += 1
                yield self.then
        finally:
            self.closed = True


def _pool(engine: object, deadlines: list[bool] | None = None,
          seconds: float = 0.3) -> GenerationPool:
    def deadline_s(explicit: bool) -> float:
        if deadlines is not None:
            deadlines.append(explicit)
        return seconds

    return GenerationPool(engine, ServiceMetrics(),  # type: ignore[arg-type]
                          reuse_running=lambda: True, deadline_s=deadline_s)


async def _run(pool: GenerationPool, cursor=BLOCK, max_tokens: int = 64, *,
               speculative: bool = True) -> tuple[Generation, str | Skip | None, float]:
    generation = Generation(URI, cursor, speculative=speculative)
    request = GenerationRequest("<prompt>", SamplingParams(max_tokens=max_tokens))
    started = time.perf_counter()
    pool.start(generation, request, stops=())
    result = await asyncio.wait_for(pool.follow(generation, "", None), 5)
    return generation, result, time.perf_counter() - started


async def test_a_drip_ends_at_the_deadline_with_its_whole_lines() -> None:
    engine = ScriptedEngine("x = 1\n    y = 2\n    w", " w", every_s=0.05)
    generation, result, took = await _run(_pool(engine, seconds=0.3))
    assert result == "x = 1\n    y = 2"
    assert generation.stats.finish_reason == "deadline"
    assert 0.25 < took < 1.5 and engine.closed


async def test_the_fake_engine_is_held_to_the_deadline_too() -> None:
    engine = FakeEngine(FakeSettings(response="return " + "x " * 400, chunk_delay_ms=20))
    await engine.start()
    generation, result, took = await _run(_pool(engine, seconds=0.2), cursor=LINE,
                                          max_tokens=4096)
    # Half a line (`return x x x`, or `pow(radius,`) is withheld: worse than no answer.
    assert isinstance(result, Skip) and "did not finish a line" in result.reason
    assert generation.stats.finish_reason == "deadline" and took < 1.5
    assert engine.cancelled == 1  # its stream was closed


async def test_a_single_line_finished_before_the_deadline_is_kept() -> None:
    engine = ScriptedEngine("sum(values)\n", "more = 2\n", every_s=0.05)
    _generation, result, _took = await _run(_pool(engine, seconds=0.2), cursor=LINE)
    assert result == "sum(values)"


async def test_nothing_by_the_deadline_is_an_empty_answer_with_the_reason() -> None:
    engine = ScriptedEngine("late = 1\n", delay_s=10)
    generation, result, took = await _run(_pool(engine, seconds=0.2))
    assert isinstance(result, Skip) and "deadline (200 ms)" in result.reason
    assert generation.error == result.reason and took < 1.5 and engine.closed


async def test_typed_and_asked_for_requests_get_their_own_deadlines() -> None:
    asked: list[bool] = []
    engine = FakeEngine(FakeSettings(response="return x", chunk_delay_ms=0))
    await engine.start()
    pool = _pool(engine, asked)
    await _run(pool, speculative=True)
    pool.drop(pool.current(URI))  # type: ignore[arg-type]
    await _run(pool, speculative=False)
    assert asked == [False, True]


async def test_an_engine_ignoring_max_tokens_is_read_no_further_than_the_cap() -> None:
    line = "z = 1  # " + "q" * 54 + "\n    "  # 64 characters a line
    engine = ScriptedEngine(line, line)
    generation, result, took = await _run(_pool(engine, seconds=5), max_tokens=8)
    cap = answer_char_cap(8)
    assert cap == 8 * CHARS_PER_TOKEN_CAP
    assert engine.chunks == cap // len(line) + 1 and engine.closed
    assert generation.stats.finish_reason == "length"
    assert isinstance(result, str) and len(result) <= cap
    assert result.split("\n")[0] == line.split("\n")[0]
    assert took < 1.5


async def test_one_unending_line_past_the_cap_is_no_answer() -> None:
    engine = ScriptedEngine("x" * 1000, "x" * 1000)
    _generation, result, _took = await _run(_pool(engine, seconds=5), max_tokens=8)
    assert isinstance(result, Skip) and "ignored max_tokens" in result.reason
    assert engine.chunks == 1


class BreaksMidAnswer:
    """Sends ``text`` then fails as an engine that lost its connection does."""

    name = "breaks"

    def __init__(self, text: str) -> None:
        self.text = text

    async def stream(self, request: GenerationRequest,
                     stats: GenerationStats | None = None) -> AsyncGenerator[str, None]:
        yield self.text
        raise EngineUnavailable("lost the connection to the engine")


async def test_a_stream_that_breaks_keeps_its_whole_lines_and_tells_the_user() -> None:
    told: list[str] = []
    pool = _pool(BreaksMidAnswer("x = 1\n    y = "))
    pool._notify = told.append
    generation, result, _took = await _run(pool)
    assert result == "x = 1" and generation.error is None
    assert told == ["lost the connection to the engine"]
    pool = _pool(BreaksMidAnswer("x = "))
    pool._notify = told.append
    _generation, result, _took = await _run(pool)
    assert isinstance(result, Skip) and result.reason == "lost the connection to the engine"
