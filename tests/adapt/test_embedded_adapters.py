"""The embedded engine with LoRA adapters (tiny random model, real peft): each request runs
under its own adapter without reloading the base, KV caches never cross adapters, adapters it
cannot serve get the base model and one message, a retrained adapter is reloaded."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")

from loomline.completion.engines.base import (
    GenerationRequest,
    GenerationStats,
    SamplingParams,
)
from loomline.completion.engines.embedded import EmbeddedEngine
from loomline.completion.settings import DEFAULT_MODEL_ID, Settings
from tests.adapt.tiny_model import write_adapter, write_model

PROMPT = "def main ( ) : x = 1 + y if a else b for c in z : print ( x ) return"
KEY = "file:///w/a.py"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    adapters = tmp_path / "cache" / "adapters"
    write_adapter(adapters / "team-a", seed=1, base_model=DEFAULT_MODEL_ID)
    write_adapter(adapters / "b", seed=2)  # no manifest: nothing to check it against
    return tmp_path / "cache"


@pytest.fixture
async def engine(model_dir: Path, cache: Path) -> AsyncIterator[tuple[EmbeddedEngine, list[str]]]:
    messages: list[str] = []
    settings = Settings.model_validate(
        {"model": {"path": str(model_dir), "cacheDir": str(cache), "threads": 1}}
    )
    engine = EmbeddedEngine(settings, notify=messages.append)
    await engine.wait_ready(timeout=120)
    yield engine, messages
    await engine.close()


async def answer(engine: EmbeddedEngine, adapter: str | None,
                 key: str = KEY) -> tuple[str, GenerationStats]:
    stats = GenerationStats()
    request = GenerationRequest(PROMPT, SamplingParams(max_tokens=6), affinity_key=key,
                                adapter=adapter)
    chunks = [chunk async for chunk in engine.stream(request, stats)]
    return "".join(chunks), stats


async def test_each_request_runs_under_its_own_adapter(
    engine: tuple[EmbeddedEngine, list[str]],
) -> None:
    e, messages = engine
    base, _ = await answer(e, None, "file:///w/base.py")
    with_a, _ = await answer(e, "team-a", "file:///w/1.py")
    with_b, _ = await answer(e, "b", "file:///w/2.py")
    base_again, _ = await answer(e, None, "file:///w/3.py")
    a_again, _ = await answer(e, "team-a", "file:///w/4.py")
    assert len({base, with_a, with_b}) == 3, (base, with_a, with_b)
    assert base_again == base and a_again == with_a
    assert messages == []


async def test_a_kv_cache_is_never_reused_under_another_adapter(
    engine: tuple[EmbeddedEngine, list[str]],
) -> None:
    e, _ = engine
    first_a, stats_a = await answer(e, "team-a")
    assert stats_a.cached_prompt_tokens == 0
    with_b, stats_b = await answer(e, "b")  # same document, same prompt: another adapter
    assert stats_b.cached_prompt_tokens == 0
    again_a, stats_again = await answer(e, "team-a")
    assert stats_again.cached_prompt_tokens > 0 and again_a == first_a  # its own slot kept
    fresh_b, _ = await answer(e, "b", "file:///w/other.py")
    assert with_b == fresh_b
    _base, stats_base = await answer(e, None)
    assert stats_base.cached_prompt_tokens == 0


async def test_an_unknown_adapter_gets_the_base_model_and_one_message(
    engine: tuple[EmbeddedEngine, list[str]],
) -> None:
    e, messages = engine
    base, _ = await answer(e, None, "file:///w/base.py")
    first, _ = await answer(e, "nobody-trained-me")
    second, _ = await answer(e, "nobody-trained-me", "file:///w/x.py")
    assert first == second == base
    assert len(messages) == 1
    assert "'nobody-trained-me' not found" in messages[0] and "loomline adapt" in messages[0]
    await answer(e, "../escape")
    assert "invalid" in messages[-1] and len(messages) == 2


async def test_an_adapter_for_another_base_model_is_not_applied(
    engine: tuple[EmbeddedEngine, list[str]], cache: Path,
) -> None:
    e, messages = engine
    write_adapter(cache / "adapters" / "foreign", seed=3, base_model="someone/else-7B")
    base, _ = await answer(e, None, "file:///w/base.py")
    got, _ = await answer(e, "foreign")
    assert got == base
    assert messages == [f"LoRA adapter 'foreign' was trained for someone/else-7B, not "
                        f"{DEFAULT_MODEL_ID}; using the base model"]


async def test_a_retrained_adapter_is_reloaded(
    engine: tuple[EmbeddedEngine, list[str]], cache: Path, tmp_path: Path,
) -> None:
    e, _ = engine
    before, _ = await answer(e, "b")
    retrained = write_adapter(tmp_path / "retrained", seed=7)
    target = cache / "adapters" / "b"
    shutil.rmtree(target)
    shutil.copytree(retrained, target)
    after, stats = await answer(e, "b")
    assert stats.cached_prompt_tokens == 0  # the old weights' KV cache is not reused
    # What a fresh run with the new weights gives, on a document never seen.
    write_adapter(cache / "adapters" / "b-fresh", seed=7)
    fresh, _ = await answer(e, "b-fresh", "file:///w/fresh.py")
    assert after == fresh and after != before
