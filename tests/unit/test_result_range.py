"""A completion's range: it replaces the closers the editor typed that the answer writes."""

from __future__ import annotations

import pytest

from loomline.completion.engines.fake import FakeEngine
from loomline.completion.service import Completion, CompletionService
from loomline.completion.settings import CompletionSettings, FakeSettings, Settings
from loomline.context.documents import DocumentStore
from loomline.context.positions import Position


async def _complete(language_id: str, text: str, position: Position, response: str
                    ) -> Completion:
    # In strings too: a quote the editor typed is one of the closers.
    settings = Settings(backend="fake", completion=CompletionSettings(complete_in_strings=True))
    engine = FakeEngine(FakeSettings(response=response))
    await engine.start()
    store = DocumentStore()
    service = CompletionService(settings, engine, documents=store)
    document = store.open("file:///work/a", language_id, 1, text)
    result = await service.complete(document, position, explicit=True)
    assert isinstance(result, Completion)
    return result


@pytest.mark.parametrize(
    ("language_id", "text", "position", "response", "end"),
    [
        pytest.param("python", "def foo()\n", Position(0, 8), "bar: str):", Position(0, 9),
                     id="python-def"),
        pytest.param("javascript", "nums.map()\n", Position(0, 9), "num => num * 2);",
                     Position(0, 10), id="javascript-map"),
        pytest.param("python", 'print("😀")\n', Position(0, 9), '", x)', Position(0, 11),
                     id="quote-and-paren-after-an-astral-character"),
        pytest.param("python", "x = compute()\n", Position(0, 12), "a, b)", None,
                     id="an-insert-before-the-closer"),
    ],
)
async def test_the_completion_ends_after_the_closers_it_replaces(
    language_id: str, text: str, position: Position, response: str, end: Position | None
) -> None:
    result = await _complete(language_id, text, position, response)
    assert result.end == end
    assert result.range_end == (end or position)
