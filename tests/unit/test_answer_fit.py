"""Answers fit the text they land on: typed-into answers move to the new cursor, others go;
no position falls inside a surrogate pair."""

from __future__ import annotations

import asyncio

import pytest

from loomline.completion.engines.fake import FakeEngine
from loomline.completion.results import Landing, fit_to_document
from loomline.completion.service import Completion, CompletionService, Skip
from loomline.completion.settings import FakeSettings, Settings
from loomline.context.documents import DocumentStore
from loomline.context.positions import Position
from tests.waiting import eventually

# (language, text with the cursor at the end of its last line, cursor, the answer)
CASES = [
    ("python", "def add(a, b):\n    ", Position(1, 4), "return a + b"),
    ("javascript", "function add(a, b) {\n  ", Position(1, 2), "return a + b;"),
    ("go", "func add(a, b int) int {\n\t", Position(1, 1), "return a + b"),
    ("rust", "fn add(a: i32, b: i32) -> i32 {\n    ", Position(1, 4), "a + b"),
]


def _document(text: str, language: str = "python") -> tuple[DocumentStore, str]:
    store = DocumentStore()
    uri = f"file:///w/a.{language}"
    store.open(uri, language, 1, text)
    return store, uri


def test_fit_golden() -> None:
    store, uri = _document("x = \n")
    document = store.get(uri)
    assert document is not None
    at = Position(0, 4)
    assert fit_to_document("foo(1)", "x = ", "\n", at, document) == Landing("foo(1)", at, None)
    store.change(uri, 2, [(at, at, "fo")])
    assert fit_to_document("foo(1)", "x = ", "\n", at, document) == Landing(
        "o(1)", Position(0, 6), None
    )
    assert fit_to_document("bar(1)", "x = ", "\n", at, document) is None
    store.change(uri, 3, [(Position(0, 6), Position(0, 6), "o(1)")])
    assert fit_to_document("foo(1)", "x = ", "\n", at, document) is None  # all typed
    # Closers the answer writes over end the range, after the new cursor.
    store.change(uri, 4, [(Position(0, 4), Position(0, 10), "f()")])
    assert fit_to_document("oo(1)", "x = f", "()\n", Position(0, 5), document, "()") == (
        Landing("oo(1)", Position(0, 5), Position(0, 7))
    )
    # A change elsewhere (above the cursor) drops the answer too.
    store.change(uri, 4, [(Position(0, 0), Position(0, 0), "#\n")])
    assert fit_to_document("foo(1)", "x = ", "\n", at, document) is None


async def _complete_while_typing(
    language: str, text: str, position: Position, answer: str, typed: str
) -> Completion | Skip:
    settings = Settings(backend="fake")
    engine = FakeEngine(FakeSettings(response=answer, chunk_delay_ms=40))
    await engine.start()
    store, uri = _document(text, language)
    service = CompletionService(settings, engine, documents=store)
    document = store.get(uri)
    assert document is not None
    request = asyncio.create_task(service.complete(document, position, explicit=True))
    # The model is at work: the request's generation runs (its text taken before).
    await eventually(lambda: service.pool.current(uri), what="the request's generation")
    store.change(uri, 2, [(position, position, typed)])
    return await request


@pytest.mark.parametrize(("language", "text", "position", "answer"), CASES)
async def test_an_answer_typed_into_moves_to_the_new_cursor(
    language: str, text: str, position: Position, answer: str
) -> None:
    """``re`` typed while the model works: the rest of the answer, after ``re``."""
    typed = answer[:2]
    result = await _complete_while_typing(language, text, position, answer, typed)
    assert isinstance(result, Completion), result
    assert result.text == answer[2:]
    assert result.position == Position(position.line, position.character + 2)


@pytest.mark.parametrize(("language", "text", "position", "answer"), CASES)
async def test_an_answer_typed_in_full_is_not_offered_again(
    language: str, text: str, position: Position, answer: str
) -> None:
    result = await _complete_while_typing(language, text, position, answer, answer)
    assert isinstance(result, Skip), result


@pytest.mark.parametrize(
    ("line", "column", "expected"),
    [
        ("x = 1  # 😀", 10, 9),  # inside the emoji: its start
        ("s = '😀😀'", 6, 5),
        ("s = '😀😀'", 8, 7),
        ("s = '😀😀'", 7, 7),
    ],
)
async def test_no_position_inside_a_surrogate_pair(line: str, column: int, expected: int) -> None:
    settings = Settings(backend="fake", completion={"completeInComments": True,
                                                    "completeInStrings": True})
    engine = FakeEngine(FakeSettings(response="z", chunk_delay_ms=0))
    await engine.start()
    store, uri = _document(line + "\n")
    service = CompletionService(settings, engine, documents=store)
    document = store.get(uri)
    assert document is not None
    result = await service.complete(document, Position(0, column), explicit=True)
    assert isinstance(result, Completion), result
    assert result.position == Position(0, expected)


async def test_an_answer_for_a_document_that_lost_an_edit_meanwhile_is_dropped() -> None:
    """The document lost an edit while the model worked: its text is no longer the editor's,
    so the answer has nowhere it surely fits; and no new request starts for it."""
    settings = Settings(backend="fake")
    engine = FakeEngine(FakeSettings(response="return a + b", chunk_delay_ms=5))
    await engine.start()
    store, uri = _document("def add(a, b):\n    ")
    service = CompletionService(settings, engine, documents=store)
    document = store.get(uri)
    assert document is not None

    def lose(_partial: str) -> None:  # the model is at work: the first words arrived
        store.change(uri, 2, [(Position(1, 4), Position(1, 0), "x")])  # reversed

    result = await service.complete(document, Position(1, 4), lose, explicit=True)
    assert isinstance(result, Skip) and "out of sync" in result.reason, result
    again = await service.complete(document, Position(1, 4), explicit=True)
    assert isinstance(again, Skip) and "ends (1:0) before its start (1:4)" in again.reason
    store.change(uri, 3, ["def add(a, b):\n    "])
    assert isinstance(await service.complete(document, Position(1, 4), explicit=True),
                      Completion)
