"""What every engine declares to its callers: state changes as a callback, the tokenizer
and the model directory (the OpenAI-compatible engine has its own tests in openai_engine/)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from loomline.completion.engines import create_engine, embedded, runner
from loomline.completion.engines.base import (
    Engine,
    EngineState,
    EngineUnavailable,
    GenerationRequest,
    GenerationStats,
    SamplingParams,
    StateBroadcast,
    wait_settled,
)
from loomline.completion.engines.embedded import EmbeddedEngine
from loomline.completion.engines.fake import FakeEngine
from loomline.completion.settings import EngineSettings, FakeSettings, ModelSettings, Settings


def test_a_listener_hears_the_current_state_then_each_change_once() -> None:
    broadcast = StateBroadcast()
    heard: list[tuple[EngineState, str]] = []
    unsubscribe = broadcast.subscribe(
        lambda s, m: heard.append((s, m)), EngineState.STARTING, "starting"
    )
    broadcast.publish(EngineState.LOADING, "10 %")
    broadcast.publish(EngineState.LOADING, "10 %")  # no change: not heard again
    broadcast.publish(EngineState.LOADING, "20 %")
    unsubscribe()
    broadcast.publish(EngineState.READY, "ready")
    assert heard == [
        (EngineState.STARTING, "starting"),
        (EngineState.LOADING, "10 %"),
        (EngineState.LOADING, "20 %"),
    ]
    unsubscribe()  # twice is harmless


def test_a_failing_listener_does_not_silence_the_others() -> None:
    broadcast = StateBroadcast()
    heard: list[EngineState] = []

    def broken(state: EngineState, message: str) -> None:
        raise RuntimeError("listener bug")

    broadcast.subscribe(broken, EngineState.STARTING, "")
    broadcast.subscribe(lambda s, m: heard.append(s), EngineState.STARTING, "")
    broadcast.publish(EngineState.READY, "ready")
    assert heard == [EngineState.STARTING, EngineState.READY]


@pytest.mark.parametrize("backend", ["fake", "vllm", "embedded"])
def test_every_backend_implements_the_interface(backend: str) -> None:
    settings = Settings(backend=backend, engine=EngineSettings(urls=["http://127.0.0.1:9"]))
    engine = create_engine(settings)
    assert isinstance(engine, Engine)
    assert engine.tokenizer is None  # nothing is loaded before start
    assert engine.state is EngineState.STARTING


async def test_fake_engine_announces_ready_after_its_load_delay() -> None:
    engine = FakeEngine(FakeSettings(load_delay_ms=50))
    heard: list[EngineState] = []
    engine.subscribe(lambda s, m: heard.append(s))
    await engine.start()
    assert heard == [EngineState.STARTING, EngineState.LOADING]
    assert await wait_settled(engine, timeout=2) is EngineState.READY
    assert heard == [EngineState.STARTING, EngineState.LOADING, EngineState.READY]
    await engine.close()
    assert heard[-1] is EngineState.STARTING


async def test_wait_settled_returns_at_once_for_a_settled_engine() -> None:
    engine = FakeEngine()
    await engine.start()
    assert await wait_settled(engine, timeout=0.01) is EngineState.READY


async def test_embedded_engine_announces_a_failed_load(tmp_path: Path) -> None:
    settings = Settings(model=ModelSettings(path=str(tmp_path)))  # holds no model
    engine = EmbeddedEngine(settings)
    heard: list[EngineState] = []
    engine.subscribe(lambda s, m: heard.append(s))
    await engine.start()
    with pytest.raises(EngineUnavailable, match="holds no safetensors"):
        await engine.wait_ready(timeout=10)
    assert heard == [EngineState.STARTING, EngineState.LOADING, EngineState.ERROR]
    assert engine.tokenizer is None and engine.model_dir is None
    await engine.close()


class _StubTokenizer:
    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        return [ord(c) for c in text]


class _StubGenerator:
    def __init__(self, model_dir: Path, threads: Any, settings: Settings,
                 notify: Any = None) -> None:
        self.tokenizer = _StubTokenizer()

    def warm_up(self) -> None:
        pass


async def test_embedded_engine_declares_its_tokenizer_and_model_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"")
    monkeypatch.setattr(embedded, "_Generator", _StubGenerator)
    said: list[tuple[str, Any]] = []
    engine = EmbeddedEngine(
        Settings(model=ModelSettings(path=str(tmp_path))),
        progress=lambda message, fraction: said.append(("progress", fraction)),
    )
    engine.subscribe(lambda state, message: said.append(("state", state)))
    await engine.wait_ready(timeout=10)
    assert engine.state is EngineState.READY
    assert isinstance(engine.tokenizer, _StubTokenizer)
    assert engine.model_dir == tmp_path
    # The progress callback's 100 % comes before "ready", which is the last word.
    assert said[-2:] == [("progress", 1.0), ("state", EngineState.READY)]
    await engine.close()


async def test_closing_while_loading_ends_the_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"")
    loading = threading.Event()
    release = threading.Event()

    class SlowGenerator(_StubGenerator):
        def warm_up(self) -> None:
            loading.set()
            release.wait(5)

    monkeypatch.setattr(embedded, "_Generator", SlowGenerator)
    engine = EmbeddedEngine(Settings(model=ModelSettings(path=str(tmp_path))))
    waiting = asyncio.create_task(engine.wait_ready(timeout=5))
    while not loading.is_set():
        await asyncio.sleep(0.01)
    await engine.close()
    with pytest.raises(EngineUnavailable, match="closed while loading"):
        await waiting
    release.set()


def test_picked_tokens_hold_back_an_incomplete_character_until_it_is_whole() -> None:
    # Byte-level tokens: "é" is two tokens; the first alone decodes to the replacement char.
    pieces = {1: b"a", 2: b"\xc3", 3: b"\xa9", 4: b"b"}
    emitted: list[str | BaseException | None] = []
    job = runner.Job(GenerationRequest("x", SamplingParams()), GenerationStats(),
                        emitted.append)

    def decode(ids: list[int]) -> str:
        return b"".join(pieces[i] for i in ids).decode("utf-8", errors="replace")

    picked = runner.PickedTokens(job, decode, started=0.0)
    for token in (1, 2, 3, 4):
        picked.add(token)
    assert emitted == ["a", "é", "b"]
    assert picked.ids == [1, 2, 3, 4] and picked.emitted == "aéb"
    assert job.stats.generated_tokens == 4
    assert job.stats.first_token_s is not None
