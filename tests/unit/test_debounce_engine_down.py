"""A typed request is not held for a typing pause while the engine is known down: seen with
llama.cpp's server killed, each typed completion waited the debounce's longest hold (5 s)
before it answered empty, where the README promises an empty answer straight away."""

from __future__ import annotations

import pytest

from loomline.completion.engines.base import EngineState
from loomline.completion.engines.fake import FakeEngine
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
