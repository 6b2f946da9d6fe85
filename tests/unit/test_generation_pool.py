"""The pool of running generations alone: joining, dropping, following, and what it counts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator

import pytest

from loomline.completion.cursor import cursor_at
from loomline.completion.engines.base import GenerationRequest, GenerationStats, SamplingParams
from loomline.completion.engines.fake import FakeEngine
from loomline.completion.generation_pool import GenerationPool
from loomline.completion.inflight import Generation
from loomline.completion.metrics import ServiceMetrics
from loomline.completion.results import Skip
from loomline.completion.settings import FakeSettings
from tests.waiting import eventually

URI = "file:///work/a.py"
BEFORE, AFTER = "def f(x):\n    ", "\n"  # the cursor: def f(x):\n    █\n
BLOCK = cursor_at(BEFORE + AFTER, len(BEFORE), "python", mode="always")
REQUEST = GenerationRequest("<prompt>", SamplingParams(max_tokens=64))


class StallingEngine(FakeEngine):
    """Says its first word at once, then nothing until its stream is closed: a generation
    that cannot end by itself while a test acts on it, however slow the machine."""

    async def stream(
        self, request: GenerationRequest, stats: GenerationStats | None = None
    ) -> AsyncGenerator[str, None]:
        async with contextlib.aclosing(super().stream(request, stats)) as words:
            async for word in words:
                yield word
                await asyncio.Event().wait()  # never set: only a close ends it


def make_pool(
    response: str = "return x + 1",
    chunk_delay_ms: int = 20,
    reuse_running: bool = True,
    texts: dict[str, str] | None = None,
    stalls: bool = False,
) -> tuple[GenerationPool, FakeEngine]:
    """``texts``: the documents' current texts, as the document store would give them;
    ``stalls``: the engine stops after its first word (``StallingEngine``)."""
    settings = FakeSettings(response=response, chunk_delay_ms=0 if stalls else chunk_delay_ms)
    engine = (StallingEngine if stalls else FakeEngine)(settings)
    pool = GenerationPool(
        engine,
        ServiceMetrics(),
        reuse_running=lambda: reuse_running,
        text_of=(texts or {}).get,
    )
    return pool, engine


async def started(pool: GenerationPool, engine: FakeEngine, *, speculative: bool = True):
    await engine.start()
    generation = Generation(URI, BLOCK, speculative=speculative)
    return pool.start(generation, REQUEST, stops=())


def finished_generation(pool: GenerationPool, text: str = "return x") -> Generation:
    """A document's generation that has already said ``text`` and ended (no engine task)."""
    generation = Generation(URI, BLOCK)
    generation.publish(text, finished=True)
    pool._generations[URI] = generation
    return generation


@pytest.mark.parametrize(
    ("before", "after", "joins"),
    [
        (BEFORE + "ret", AFTER, True),  # typed what the model said: the rest is still new
        (BEFORE + "return ", AFTER, True),
        (BEFORE, AFTER, False),  # nothing typed since it finished: ask afresh
        (BEFORE + "return x", AFTER, False),  # typed all of it: nothing left to offer
        (BEFORE + "pass", AFTER, False),  # typed something else
        (BEFORE + "ret", AFTER + "y", False),  # the text after the cursor changed
        ("def g(x):\n    ret", AFTER, False),  # the text before the typed part changed
    ],
)
async def test_who_may_join_a_finished_generation(before: str, after: str, joins: bool):
    pool, _ = make_pool()
    generation = finished_generation(pool)
    assert (pool.joinable(URI, before, after) is generation) == joins
    # A generation nobody may join leaves the document's slot; one that may, stays.
    assert (pool.current(URI) is generation) == joins
    assert generation.finished_before_join == joins


async def test_a_failed_generation_is_never_joined():
    pool, _ = make_pool()
    generation = finished_generation(pool)
    generation.error = "the engine failed: boom"
    assert pool.joinable(URI, BEFORE + "ret", AFTER) is None and pool.current(URI) is None
    # An engine failure says nothing about the user's pauses: not counted as waste.
    assert pool.metrics.wasted_generations == 0 and pool.pacer.extra_s == 0.0


async def test_a_running_generation_is_joined_only_when_reuse_is_on():
    for reuse, joins in ((True, True), (False, False)):
        pool, engine = make_pool(reuse_running=reuse)
        generation = await started(pool, engine)
        assert (pool.joinable(URI, BEFORE, AFTER) is generation) == joins
        assert generation.finished_before_join is False
        pool.closed(URI)


async def test_dropping_an_unseen_speculative_generation_counts_it_as_waste_once():
    pool, engine = make_pool(chunk_delay_ms=200)
    generation = await started(pool, engine)
    pool.drop(generation)
    pool.drop(generation)  # it left the slot already: nothing more to count
    assert pool.metrics.wasted_generations == 1
    assert pool.pacer.extra_s == pytest.approx(pool.pacer.step_s)
    assert pool.current(URI) is None
    # Stopped before it ended: its lifetime is a lower bound for the answer time.
    assert len(pool.pacer._lifetimes[True]) == 1 and not pool.pacer._lifetimes[True][0][2]


async def test_an_explicit_generation_dropped_unseen_is_not_waste():
    pool, engine = make_pool(chunk_delay_ms=200)
    generation = await started(pool, engine, speculative=False)
    pool.drop(generation)
    assert pool.metrics.wasted_generations == 0 and pool.pacer.extra_s == 0.0


async def test_following_streams_the_rest_and_marks_it_served():
    pool, engine = make_pool()
    generation = await started(pool, engine)
    shown: list[str] = []
    result = await asyncio.wait_for(pool.follow(generation, "ret", shown.append), 2)
    assert result == "urn x + 1"
    assert shown[-1] == "urn x + 1" and len(shown) == len(set(shown)) >= 2  # each change once
    assert generation.served and generation.waiters == 0
    metrics = pool.metrics
    assert metrics.served_tokens == metrics.generated_tokens == 4
    assert metrics.snapshot()["wastedTokens"] == 0
    assert list(metrics.recent) == [generation.stats]
    assert generation.stats.finish_reason == "stop" and "generate_ms" in generation.timings_ms
    # Ended by itself: an answer time (not a lower bound), and a used pause.
    assert pool.pacer.answer_times[True] and pool.pacer.extra_s == 0.0


async def test_following_a_generation_that_went_another_way_gives_none():
    pool, engine = make_pool()
    generation = await started(pool, engine)
    assert await asyncio.wait_for(pool.follow(generation, "pass", None), 2) is None


async def test_a_blank_answer_is_a_skip():
    pool, _ = make_pool()
    generation = finished_generation(pool, "return x\n   ")
    result = await pool.follow(generation, "return x", None)
    assert isinstance(result, Skip) and "nothing useful" in result.reason
    assert generation.served  # it reached the request, even with nothing to show


async def test_cancelling_the_only_follower_stops_the_engine_and_propagates():
    # Nothing typed into it: nothing to keep it for.
    pool, engine = make_pool(stalls=True, texts={URI: BEFORE + AFTER})
    generation = await started(pool, engine)
    follower = asyncio.create_task(pool.follow(generation, "", None))
    await eventually(lambda: generation.waiters == 1, what="the follower waiting")
    follower.cancel()
    with pytest.raises(asyncio.CancelledError):
        await follower  # never swallowed
    await eventually(lambda: engine.cancelled == 1, what="the engine stream's close")
    assert engine.cancelled == 1  # the engine stream was closed
    assert generation.stats.finish_reason == "cancelled"
    assert generation.error is not None and generation.finished
    assert pool.current(URI) is None and generation.waiters == 0


async def test_a_generation_stopped_before_its_task_ran_still_ends_its_followers():
    pool, engine = make_pool()
    generation = await started(pool, engine)
    follower = asyncio.create_task(pool.follow(generation, "", None))
    # A contradicting change in the same turn of the event loop, before the engine task's
    # first step: the task is cancelled without ever running its body.
    pool.changed(URI, "def g(x):\n    " + AFTER)
    result = await asyncio.wait_for(follower, 2)
    assert isinstance(result, Skip) and "stopped" in result.reason
    assert engine.requests == []  # the engine was never asked


async def test_a_change_that_agrees_keeps_an_unwatched_generation_for_the_grace(monkeypatch):
    from loomline.completion import generation_pool

    monkeypatch.setattr(generation_pool, "ORPHAN_GRACE_S", 0.05)
    pool, engine = make_pool(stalls=True)
    generation = await started(pool, engine)
    await eventually(lambda: generation.text.startswith("return "), what='"return " said')
    assert not generation.finished
    pool.changed(URI, BEFORE + "re" + AFTER)
    assert pool.current(URI) is generation  # kept: the next request may join it
    await eventually(lambda: pool.current(URI) is None, what="the end of the grace")
    # The drop cancels the engine task; its stream closes a few turns of the loop later.
    await eventually(lambda: engine.cancelled, what="the engine stream's close")
    assert pool.current(URI) is None and engine.cancelled == 1  # nobody came


async def test_closing_the_document_stops_its_generation():
    pool, engine = make_pool(stalls=True)
    generation = await started(pool, engine)
    await eventually(lambda: engine.requests, what="the engine's request")
    pool.closed(URI)
    await eventually(lambda: engine.cancelled == 1, what="the engine stream's close")
    assert pool.current(URI) is None and engine.cancelled == 1
    assert generation.task is not None and generation.task.done()
