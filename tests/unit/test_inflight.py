"""Generations shared across keystrokes, and the adaptive debounce, with the scripted engine."""

from __future__ import annotations

import asyncio
import time

import pytest

from loomline.completion import generation_pool
from loomline.completion.cursor import cursor_at
from loomline.completion.debounce import (
    MIN_LIFETIMES,
    TypingRhythm,
    WastePacer,
    answer_time_distribution,
    median_of,
)
from loomline.completion.engines.fake import FakeEngine
from loomline.completion.inflight import Generation, agrees, typed_since
from loomline.completion.service import Completion, CompletionService, Skip
from loomline.completion.settings import FakeSettings, Settings
from loomline.context.documents import DocumentStore
from loomline.context.positions import Position
from tests.waiting import eventually

URI = "file:///work/a.py"
TEXT = "def f(x):\n    \n"
CURSOR = Position(1, 4)


def test_typed_since_and_agrees():
    assert typed_since("a\n    ", "\n", "a\n    ret", "\n") == "ret"
    assert typed_since("a\n    ", "\n", "a\n    ret", "\nx") is None  # text after changed
    assert typed_since("a\n    ", "\n", "a\n   ", "\n") is None  # deleted before the cursor
    assert agrees("return 42", "ret", finished=True)
    assert not agrees("return 42", "rex", finished=True)
    assert agrees("ret", "return", finished=False)  # the model may still say it
    assert not agrees("ret", "return", finished=True)


def test_generation_follows_the_whole_document_text():
    generation = Generation(URI, cursor_at("def f(x):\n    \n", 14, "python"))
    generation.text = "return x"
    assert generation.typed_in("def f(x):\n    \n") == ""
    assert generation.typed_in("def f(x):\n    retu\n") == "retu"
    assert generation.typed_in("def f(x):\n    rex\n") is None
    assert generation.typed_in("def g(x):\n    ret\n") is None
    assert generation.typed_in("def f(x):\n") is None


def test_rhythm_waits_twice_the_median_gap_within_bounds():
    rhythm = TypingRhythm(min_s=0.0, max_s=0.35)
    now = 100.0
    rhythm.changed(URI, now)
    assert rhythm.quiet_needed(URI) == 0.0  # no rhythm known yet: no extra wait
    for gap in (0.1, 0.12, 0.1, 0.08, 0.1, 3.0):  # the 3 s pause is not rhythm
        now += gap
        rhythm.changed(URI, now)
    assert rhythm.quiet_needed(URI) == pytest.approx(0.2)
    assert rhythm.delay(URI, now + 0.15) == pytest.approx(0.05)
    assert rhythm.delay(URI, now + 0.5) == 0.0
    slow = TypingRhythm(max_s=0.35)
    for i in range(8):
        slow.changed("u", i * 0.4)
    assert slow.quiet_needed("u") == 0.35  # capped
    rhythm.forget(URI)
    assert rhythm.delay(URI, now) == 0.0


def test_pacer_waits_longer_after_waste_and_less_after_use():
    pacer = WastePacer(step_s=0.1, max_s=0.35)
    assert pacer.extra_s == 0.0
    pacer.wasted()
    pacer.wasted()
    assert pacer.extra_s == pytest.approx(0.2)
    for _ in range(5):
        pacer.wasted()
    assert pacer.extra_s == 0.35  # capped
    pacer.used()
    assert pacer.extra_s == pytest.approx(0.175)
    for _ in range(4):
        pacer.used()
    assert pacer.extra_s == 0.0  # back to no extra wait
    rhythm = TypingRhythm()
    rhythm.changed(URI, 10.0)
    assert rhythm.delay(URI, 10.1, extra_s=0.3) == pytest.approx(0.2)


def test_pacer_step_and_cap_grow_with_the_engines_answer_time():
    pacer = WastePacer(step_s=0.05, max_s=1.0)
    pacer.answered(0.4)  # a fast engine: the fixed step and cap
    assert (pacer.step_s, pacer.max_s) == (0.05, 1.0)
    for _ in range(40):
        pacer.answered(4.0)  # a saturated one: answers take 4 s
    assert pacer.answer_s == pytest.approx(4.0, abs=0.01)
    assert pacer.step_s == pytest.approx(0.2, abs=0.01)
    assert pacer.max_s == pytest.approx(4.0, abs=0.01)
    for _ in range(40):
        pacer.wasted()
    assert pacer.extra_s == pytest.approx(4.0, abs=0.01)  # no pause shorter could show one
    for _ in range(40):
        pacer.answered(60.0)
    assert pacer.max_s == WastePacer.LIMIT_S  # however slow the engine
    quick = WastePacer()
    quick.unfinished(0.05)  # no estimate yet: a lower bound alone is none
    assert quick.answer_s is None
    quick.answered(0.3)
    quick.unfinished(0.1)  # stopped before any end was seen: says nothing about 0.3
    assert quick.answer_s == pytest.approx(0.3)
    quick.answered(0.4)
    quick.unfinished(2.0)  # still running after 2 s: answers take at least that
    quick.unfinished(2.5)
    quick.unfinished(3.0)
    assert quick.answer_s == pytest.approx(3.0)  # over half outlived every end: the longest
    # Single-line and multi-line answers are kept apart (a block takes longer).
    assert quick.answer_times[True] == []
    quick.answered(5.0, multiline=True)
    assert quick.answer_times[True] == [(5.0, 1.0)] and quick.answer_s == pytest.approx(3.0)
    # Old lifetimes are forgotten (the load on a shared engine changes).
    now = time.monotonic()
    quick.answered(0.2, now=now + 3600)
    assert quick.answer_times[False] == [(0.2, 1.0)]
    off = WastePacer(enabled=False)
    off.wasted()
    assert off.extra_s == 0.0


@pytest.fixture
def setup():
    settings = Settings(backend="fake")
    engine = FakeEngine(FakeSettings(response="return x + 1", chunk_delay_ms=60))
    store = DocumentStore()
    service = CompletionService(settings, engine, documents=store)
    document = store.open(URI, "python", 1, TEXT)
    return settings, engine, service, store, document


async def start_engine(engine):
    await engine.start()


async def first_chunk(service):
    for _ in range(200):
        generation = service.pool.current(URI)
        if generation is not None and generation.text:
            return generation
        await asyncio.sleep(0.005)
    raise AssertionError("no chunk")


def type_text(store, document, line, character, text, version=2):
    store.change(URI, version, [(Position(line, character), Position(line, character), text)])


async def test_typing_what_the_model_says_joins_the_running_generation(setup):
    _, engine, service, store, document = setup
    await start_engine(engine)
    first = asyncio.create_task(service.complete(document, CURSOR))
    await first_chunk(service)
    type_text(store, document, 1, 4, "ret")  # the editor: didChange, then cancels the request
    first.cancel()
    result = await service.complete(document, Position(1, 7))
    assert isinstance(result, Completion)
    assert result.text == "urn x + 1"
    assert len(engine.requests) == 1 and engine.cancelled == 0
    assert service.metrics.joined == 1
    assert service.metrics.snapshot()["wastedTokens"] == 0


async def test_a_contradicting_change_stops_the_model_at_once(setup):
    _, engine, service, store, document = setup
    await start_engine(engine)
    first = asyncio.create_task(service.complete(document, CURSOR))
    await first_chunk(service)
    type_text(store, document, 1, 4, "pass")  # not what the model says; no cancel sent
    await eventually(lambda: engine.cancelled, what="the engine stream's close")
    assert engine.cancelled == 1
    assert isinstance(await first, Skip)
    assert service.metrics.snapshot()["wastedTokens"] >= 1


async def test_a_cancel_with_nothing_typed_stops_the_model(setup):
    _, engine, service, _, document = setup
    await start_engine(engine)
    first = asyncio.create_task(service.complete(document, CURSOR))
    await first_chunk(service)
    first.cancel()
    await eventually(lambda: engine.cancelled, what="the engine stream's close")
    assert engine.cancelled == 1


async def test_a_generation_nobody_joins_is_stopped_after_the_grace(setup, monkeypatch):
    _, engine, service, store, document = setup
    # A grace long beside the few steps between the cancel and the check below; the model
    # says one more word, then nothing for a minute: only the grace's end can stop it.
    monkeypatch.setattr(generation_pool, "ORPHAN_GRACE_S", 0.5)
    engine.settings.chunk_delay_ms = 200
    await start_engine(engine)
    first = asyncio.create_task(service.complete(document, CURSOR))
    generation = await first_chunk(service)
    engine.settings.chunk_delay_ms = 60_000  # from its third word on (the second is due)
    type_text(store, document, 1, 4, "re")
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)  # the request has gone
    assert engine.cancelled == 0  # kept for a request at the new cursor
    assert service.pool.current(URI) is generation
    await eventually(lambda: engine.cancelled, what="the end of the grace")
    assert engine.cancelled == 1 and not generation.text.endswith("1")


async def test_typed_through_a_finished_answer_needs_no_model(setup):
    _, engine, service, store, document = setup
    await start_engine(engine)
    first = await service.complete(document, CURSOR)
    assert isinstance(first, Completion) and first.text == "return x + 1"
    type_text(store, document, 1, 4, "return ")
    second = await service.complete(document, Position(1, 11))
    assert isinstance(second, Completion) and second.text == "x + 1"
    assert len(engine.requests) == 1 and service.metrics.typed_through == 1
    # Asked again where nothing was typed since the answer was made: a fresh answer.
    store.change(URI, 3, [TEXT])
    await service.complete(document, CURSOR)
    assert len(engine.requests) == 2


async def test_reuse_can_be_switched_off(setup):
    settings, engine, service, store, document = setup
    settings.completion.reuse_running = False
    await start_engine(engine)
    first = asyncio.create_task(service.complete(document, CURSOR))
    await first_chunk(service)
    type_text(store, document, 1, 4, "ret")
    first.cancel()
    # The scripted model answers the new prompt as a model would (after "ret": "urn ..."):
    # "return ..." again would break the line, and the clean-up withholds such answers.
    engine.settings.response = "urn x + 1"
    result = await service.complete(document, Position(1, 7))
    assert len(engine.requests) == 2 and isinstance(result, Completion)


async def test_fast_typing_holds_the_request_until_a_pause(setup):
    _, engine, service, store, document = setup
    await start_engine(engine)
    now = 50.0
    for i in range(8):  # 100 ms between keys
        service.rhythm.changed(URI, now + i * 0.1)
    service.rhythm.changed(URI, time.monotonic())  # the last key: just now (a long gap: no rhythm)
    request = asyncio.create_task(service.complete(document, CURSOR))
    # The request entered its pause (the model is asked only after it): nothing asked yet.
    await eventually(lambda: service.metrics.debounced, what="the request's pause")
    assert engine.requests == []  # still waiting for the pause
    type_text(store, document, 1, 4, "x")  # the user typed on: no model call at all
    result = await request
    assert isinstance(result, Skip) and engine.requests == []
    assert service.metrics.debounced == 1
    engine.settings.response = " = x + 1"  # a model's answer after "x" (see above)
    explicit = await service.complete(document, Position(1, 5), explicit=True)
    assert isinstance(explicit, Completion) and len(engine.requests) == 1


async def test_an_engine_that_raises_gives_a_skip_not_a_hang(setup):
    _, engine, service, _, document = setup
    await start_engine(engine)

    async def broken(request, stats=None):
        raise RuntimeError("boom")
        yield ""  # pragma: no cover

    engine.stream = broken  # type: ignore[method-assign]
    result = await asyncio.wait_for(service.complete(document, CURSOR), 2)
    assert isinstance(result, Skip) and "boom" in result.reason
    # Asking again drops the failed generation: an engine failure is not a wasted pause.
    await asyncio.wait_for(service.complete(document, CURSOR), 2)
    assert service.metrics.wasted_generations == 0 and service.pacer.extra_s == 0.0


async def test_no_bet_on_text_the_model_has_not_said_yet(setup):
    _, engine, service, store, document = setup
    engine.settings.chunk_delay_ms = 200
    await start_engine(engine)
    first = asyncio.create_task(service.complete(document, CURSOR))
    await first_chunk(service)  # "return " so far
    type_text(store, document, 1, 4, "return x")  # may become right, but not said yet
    first.cancel()
    await eventually(lambda: engine.cancelled, what="the engine stream's close")
    assert engine.cancelled == 1


async def test_wasted_generations_lengthen_the_pause_needed_and_used_ones_shorten_it(setup):
    _, engine, service, store, document = setup
    await start_engine(engine)
    first = asyncio.create_task(service.complete(document, CURSOR))
    await first_chunk(service)
    type_text(store, document, 1, 4, "pass")  # contradicts: stopped, nobody saw it
    assert isinstance(await first, Skip)
    assert service.metrics.wasted_generations == 1
    assert service.pacer.extra_s == pytest.approx(service.pacer.step_s)
    # The next request waits for the longer pause (the user just typed) ...
    service.rhythm.changed(URI, time.monotonic())
    engine.settings.response = "  # nothing else"  # a model's answer after "pass"
    request = asyncio.create_task(service.complete(document, Position(1, 8)))
    await eventually(lambda: service.metrics.debounced, what="the request's pause")
    assert len(engine.requests) == 1  # still waiting
    result = await request
    assert isinstance(result, Completion) and len(engine.requests) == 2
    assert service.metrics.debounced == 1
    # ... and an answer that was used halves the extra wait.
    assert service.pacer.extra_s == pytest.approx(service.pacer.step_s / 2)
    assert service.metrics.snapshot()["wastedGenerations"] == 1
    assert service.stats()["extraWaitMs"] == round(service.pacer.extra_s * 1000)
    assert service.stats()["answerMs"] == round(service.pacer.answer_s * 1000)  # measured


async def test_explicit_requests_neither_wait_nor_count_as_waste(setup):
    _, engine, service, store, document = setup
    await start_engine(engine)
    service.pacer.extra_s = 1.0
    first = asyncio.create_task(service.complete(document, CURSOR, explicit=True))
    await first_chunk(service)
    type_text(store, document, 1, 4, "pass")
    assert isinstance(await first, Skip)
    assert service.metrics.wasted_generations == 0 and service.pacer.extra_s == 1.0


def _rhythm_with_gaps(gaps: list[float]) -> TypingRhythm:
    rhythm = TypingRhythm()
    now = 100.0
    rhythm.changed(URI, now)
    for gap in gaps:
        now += gap
        rhythm.changed(URI, now)
    return rhythm


def test_a_slow_engine_is_asked_once_a_pause_will_likely_outlast_its_answer():
    # Heavy-tailed pauses: most end soon, the long ones go on.
    rhythm = _rhythm_with_gaps([0.15] * 40 + [0.5] * 10 + [2.0, 4.0, 8.0, 16.0])
    assert rhythm.worth_asking_after(0.3, []) == 0.3  # engine speed unknown
    assert rhythm.worth_asking_after(0.3, [(0.1, 1.0)]) == 0.3  # a fast engine: at once
    # Answers take 1 s: 4 of the 14 pauses past 0.3 s outlast one; of those past 2 s, 3 of 4.
    assert rhythm.worth_asking_after(0.3, [(1.0, 1.0)]) == 2.0
    # Answers take 20 s: no pause seen would show one, so wait until the user has clearly
    # stopped (longer than any pause so far), but never more than MAX_HOLD_S.
    assert rhythm.worth_asking_after(0.3, [(20.0, 1.0)]) == 5.0
    bounded = _rhythm_with_gaps([0.15] * 20 + [1.0] * 10 + [3.0] * 10)
    assert bounded.worth_asking_after(0.3, [(2.5, 1.0)]) == 0.3  # half the pauses outlast it
    assert bounded.worth_asking_after(0.3, [(3.0, 1.0)]) == 3.0  # none does: the longest pause
    few = _rhythm_with_gaps([0.15] * 20 + [2.0] * 3)
    assert few.worth_asking_after(0.3, [(5.0, 1.0)]) == 0.3  # too few pauses to judge
    # The delay before asking: the pause needed is the later of the two.
    last = rhythm._last[URI]
    assert rhythm.delay(URI, last + 0.5, answer_times=[(1.0, 1.0)]) == pytest.approx(1.5)
    assert rhythm.delay(URI, last + 0.5, answer_times=[(0.1, 1.0)]) == 0.0
    # Breaks (the user went away) are not pauses.
    away = _rhythm_with_gaps([0.15] * 20 + [60.0] * 10)
    assert away.worth_asking_after(0.3, [(5.0, 1.0)]) == 0.3


def test_the_chance_an_answer_is_seen_counts_every_answer_time():
    rhythm = _rhythm_with_gaps([0.15] * 40 + [0.5] * 10 + [2.0, 4.0, 8.0, 16.0])
    # Answers take 1 s: past 0.3 s, 4 of the 14 pauses last that long again; wait till 2 s.
    assert rhythm.worth_asking_after(0.3, [(1.0, 1.0)]) == 2.0
    # But 30% of them take 0.1 s, which all 14 outlast: 0.3 * 14 + 0.7 * 4 = half of 14.
    assert rhythm.worth_asking_after(0.3, [(0.1, 0.3), (1.0, 0.7)]) == 0.3
    # A floor above most pauses does not switch the rule off: the pauses are still known.
    assert rhythm.worth_asking_after(1.0, [(10.0, 1.0)]) == 5.0  # not 1.0: none would show
    assert rhythm.worth_asking_after(20.0, [(4.0, 1.0)]) == 20.0  # no pause this long


def test_answer_times_treat_stopped_generations_as_lower_bounds():
    assert answer_time_distribution([]) == []
    # Nothing ended: too few lower bounds say nothing, enough say "at least the longest".
    assert answer_time_distribution([(1.0, False)] * (MIN_LIFETIMES - 1)) == []
    assert answer_time_distribution([(1.0, False), (3.0, False)] * MIN_LIFETIMES) == [
        (3.0, 1.0)
    ]
    # Stopped early (before any end) shifts nothing; the ends share the whole probability.
    times = answer_time_distribution([(0.1, False), (0.5, True), (0.7, True)])
    assert times == [(0.5, pytest.approx(0.5)), (0.7, pytest.approx(0.5))]
    assert median_of(times) == 0.5
    # Stopped late: half the generations outlived every end seen.
    times = answer_time_distribution([(0.5, True), (2.0, False), (0.6, True), (3.0, False)])
    assert [s for s, _ in times] == [0.5, 0.6, 3.0]
    assert sum(p for _, p in times) == pytest.approx(1.0)
    assert median_of(times) == 0.6
    # Kaplan-Meier: a stop at 1 s leaves 2 of 3 at risk, so the end at 2 s weighs more.
    times = answer_time_distribution([(0.5, True), (1.0, False), (2.0, True), (4.0, True)])
    assert times == [
        (0.5, pytest.approx(0.25)), (2.0, pytest.approx(0.375)), (4.0, pytest.approx(0.375))
    ]


async def test_a_slow_engine_is_asked_only_once_the_pause_outlasts_the_users_usual_ones(setup):
    _, engine, service, _store, document = setup
    await start_engine(engine)
    now = time.monotonic()
    # This user's pauses (learnt in another file): never longer than 0.3 s.
    for i in range(12):
        service.rhythm.changed("file:///other.py", now - 5 + i * 0.3)
    # Answers take 2 s: none of those pauses would show one. (The cursor is in an empty
    # block: a multi-line request; a single-line answer time would not apply.)
    service.pacer.answer_times[True] = [(2.0, 1.0)]
    service.rhythm.changed(URI, time.monotonic())
    request = asyncio.create_task(service.complete(document, CURSOR))
    await eventually(lambda: service.metrics.debounced, what="the request's pause")
    assert engine.requests == []  # held (the typing rhythm alone would have asked at once)
    result = await request  # asked once the pause is longer than any seen: the user stopped
    assert isinstance(result, Completion) and len(engine.requests) == 1
    assert service.metrics.debounced == 1


async def test_a_cancelled_or_superseded_request_raises_and_is_counted_once(setup):
    _, engine, service, _, document = setup
    await start_engine(engine)
    first = asyncio.create_task(service.complete(document, CURSOR))
    await first_chunk(service)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first  # never swallowed into a Skip
    assert (service.metrics.requests, service.metrics.cancelled) == (1, 1)
    # A newer request for the same document supersedes the older one (and joins its model).
    older = asyncio.create_task(service.complete(document, CURSOR))
    await first_chunk(service)
    newer = await service.complete(document, CURSOR)
    with pytest.raises(asyncio.CancelledError):
        await older
    assert isinstance(newer, Completion) and newer.text == "return x + 1"
    assert (service.metrics.cancelled, service.metrics.joined) == (2, 1)
    assert service._inflight.tasks == {}
