"""A typed request is not held for a typing pause while the engine is known down: seen with
llama.cpp's server killed, each typed completion waited the debounce's longest hold (5 s)
before it answered empty, where the README promises an empty answer straight away."""

from __future__ import annotations

import pytest

from loomline.completion.engines.base import EngineState
from loomline.completion.engines.fake import FakeEngine
from loomline.completion.next_edit.service import NextEditService
from loomline.completion.service import CompletionService
from loomline.completion.settings import SettingsStore, parse_settings
from loomline.context.documents import DocumentStore
from loomline.context.positions import Position


@pytest.mark.parametrize(("state", "held"), [(EngineState.ERROR, 0), (EngineState.READY, 1)])
async def test_no_typing_pause_is_waited_for_while_the_engine_is_down(
    state: EngineState, held: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, problems = parse_settings({"backend": "fake", "fake": {"chunkDelayMs": 0}})
    assert problems == []
    engine = FakeEngine(settings.fake)
    await engine.start()
    engine._set_state(state)
    engine.down = state is EngineState.ERROR
    service = CompletionService(SettingsStore(settings), engine, documents=DocumentStore())
    # The rhythm asks for a pause (a slow engine): a short one, so the up case stays quick.
    monkeypatch.setattr(service.rhythm, "delay", lambda *args: 0.01)
    assert service.documents is not None
    document = service.documents.open("file:///a.py", "python", 1, "def f(x):\n    \n")
    await service.complete(document, Position(1, 4))
    assert service.metrics.debounced == held


@pytest.mark.parametrize(("state", "asked"), [(EngineState.ERROR, 0), (EngineState.READY, 1)])
async def test_no_next_edit_pause_is_waited_for_while_the_engine_is_down(
    state: EngineState, asked: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same for the next edit an inline completion request also waits for."""
    settings, problems = parse_settings({"backend": "fake", "fake": {"chunkDelayMs": 0},
                                         "nextEdit": {"debounceMs": 0}})
    assert problems == []
    engine = FakeEngine(settings.fake)
    await engine.start()
    engine._set_state(state)
    documents = DocumentStore()
    service = CompletionService(SettingsStore(settings), engine, documents=documents)
    next_edit = NextEditService(service, documents.history)
    asked_for: list[object] = []

    def delay(*args: object) -> float:
        asked_for.append(args)
        return 0.0

    monkeypatch.setattr(service.rhythm, "delay", delay)
    document = documents.open("file:///a.py", "python", 1, "def f(x):\n    \n")
    assert await next_edit._paused(document)
    assert len(asked_for) == asked
