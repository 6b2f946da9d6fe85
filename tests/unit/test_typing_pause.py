"""A typed request held for a typing pause asks the model only if the text is still the one it
was made for (the check compares the document with the cursor's own text, no copy of it)."""

from __future__ import annotations

import pytest

from loomline.completion.engines.fake import FakeEngine
from loomline.completion.service import CompletionService, Skip
from loomline.completion.settings import SettingsStore, parse_settings
from loomline.context.documents import DocumentStore
from loomline.context.positions import Position


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
@pytest.mark.parametrize("typed_during_the_pause", [False, True])
async def test_a_change_during_the_pause_drops_the_request(
    newline: str, typed_during_the_pause: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, problems = parse_settings({"backend": "fake",
                                         "fake": {"chunkDelayMs": 0, "response": "x"}})
    assert problems == []
    engine = FakeEngine(settings.fake)
    await engine.start()
    documents = DocumentStore()
    service = CompletionService(SettingsStore(settings), engine, documents=documents)
    text = newline.join(["def f(x):", "    return x + 😀", "y = f("]) + newline
    document = documents.open("file:///a.py", "python", 1, text)

    def pause(*args: object) -> float:
        # Asked right before the pause is waited for: the user types on meanwhile.
        if typed_during_the_pause:
            documents.change(document.uri, 2, [(Position(2, 6), Position(2, 6), "1")])
        return 0.001

    monkeypatch.setattr(service.rhythm, "delay", pause)
    result = await service.complete(document, Position(2, 6))
    if typed_during_the_pause:
        assert isinstance(result, Skip) and "while waiting for a pause" in result.reason
    else:
        assert not isinstance(result, Skip), result
    assert service.metrics.debounced == 1
