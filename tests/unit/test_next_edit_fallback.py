"""The cheap next-edit guesses (rename of the next use, the last one-token change repeated)
are offered when the model has nothing, fails or runs out of its deadline; the model's own
edit wins when it has one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from loomline.completion.engines.base import GenerationRequest, GenerationStats
from loomline.completion.engines.fake import FakeEngine
from loomline.completion.next_edit.heuristics import repeat_last_change, replaced_token
from loomline.completion.next_edit.service import NextEdit, NextEditService, max_answer_tokens
from loomline.completion.next_edit.window import window_around
from loomline.completion.results import Skip
from loomline.completion.service import CompletionService
from loomline.completion.settings import FakeSettings, SettingsStore, parse_settings
from loomline.context.documents import DocumentStore
from loomline.context.edit_history import Hunk
from loomline.context.positions import Position

URI = "file:///work/pool.py"
# The typo fix of line 1's string; the same string follows, outside the function's block (out
# of the rename heuristic's reach).
TYPO = 'def status():\n    return "avilable"\nDEFAULT = "avilable"\n'


class HangingEngine(FakeEngine):
    """Accepts the request and never writes a token."""

    def __init__(self, settings: FakeSettings) -> None:
        super().__init__(settings)
        self.started = asyncio.Event()

    async def stream(
        self, request: GenerationRequest, stats: GenerationStats | None = None
    ) -> AsyncGenerator[str, None]:
        self.requests.append(request)
        self.started.set()
        await asyncio.Event().wait()
        yield ""


async def _next_edit(engine: FakeEngine, deadline_ms: int = 30_000) -> NextEditService:
    settings, problems = parse_settings({
        "backend": "fake", "completion": {"adaptiveDebounce": False},
        "nextEdit": {"deadlineMs": deadline_ms}})
    assert problems == []
    await engine.start()
    documents = DocumentStore()
    service = CompletionService(SettingsStore(settings), engine, documents=documents)
    return NextEditService(service, documents.history)


def _fix_typo(next_edit: NextEditService) -> Position:
    documents = next_edit.completions.documents
    assert documents is not None
    documents.open(URI, "python", 1, TYPO)
    documents.change(URI, 2, [(Position(1, 12), Position(1, 20), "available")])
    return Position(1, 22)


async def _suggest(next_edit: NextEditService, cursor: Position) -> NextEdit | Skip:
    document = next_edit.completions.documents.get(URI)  # type: ignore[union-attr]
    assert document is not None
    return await next_edit.suggest(document, cursor, explicit=True)


def _assert_repeated(result: NextEdit | Skip) -> None:
    assert isinstance(result, NextEdit), result
    assert result.source == "repeat"
    assert (result.start, result.end, result.text) == (
        Position(2, 10), Position(2, 20), '"available"')


async def test_an_engine_that_errs_still_gets_the_repeated_change() -> None:
    engine = FakeEngine(FakeSettings(chunk_delay_ms=0))
    next_edit = await _next_edit(engine)
    cursor = _fix_typo(next_edit)
    engine.down = True
    _assert_repeated(await _suggest(next_edit, cursor))


async def test_an_engine_past_its_deadline_still_gets_the_repeated_change() -> None:
    engine = HangingEngine(FakeSettings(chunk_delay_ms=0))
    next_edit = await _next_edit(engine, deadline_ms=100)
    cursor = _fix_typo(next_edit)
    result = await _suggest(next_edit, cursor)
    assert engine.started.is_set()  # the model was asked, and did not answer in time
    _assert_repeated(result)


async def test_a_model_answer_with_no_edit_falls_back_to_the_rename() -> None:
    # The model rewrites the window unchanged: no edit of its own.
    text = "def area(r):\n    return 3.14 * r * r\n"
    engine = FakeEngine(FakeSettings(chunk_delay_ms=0, response="```python\n" + text))
    next_edit = await _next_edit(engine)
    documents = next_edit.completions.documents
    assert documents is not None
    documents.open(URI, "python", 1, text)
    documents.change(URI, 2, [(Position(0, 9), Position(0, 10), "radius")])
    result = await _suggest(next_edit, Position(0, 15))
    assert isinstance(result, NextEdit), result
    assert (result.source, result.start, result.text) == ("rename", Position(1, 18), "radius")


async def test_the_fallback_rename_skips_comments_and_strings_of_the_documents_language(
) -> None:
    text = 'def f(count, s):\n    # count of items\n    msg = "count"\n    total = count + 1\n'
    engine = FakeEngine(FakeSettings(chunk_delay_ms=0))
    next_edit = await _next_edit(engine)
    documents = next_edit.completions.documents
    assert documents is not None
    documents.open(URI, "python", 1, text)
    documents.change(URI, 2, [(Position(0, 6), Position(0, 11), "n")])
    engine.down = True
    result = await _suggest(next_edit, Position(0, 7))
    assert isinstance(result, NextEdit), result
    assert (result.source, result.start, result.end, result.text) == (
        "rename", Position(3, 12), Position(3, 17), "n")


async def test_without_a_guess_the_models_failure_is_the_answer() -> None:
    engine = FakeEngine(FakeSettings(chunk_delay_ms=0))
    next_edit = await _next_edit(engine)
    documents = next_edit.completions.documents
    assert documents is not None
    documents.open(URI, "python", 1, "x = 1\ny = 2\n")
    documents.change(URI, 2, [(Position(0, 5), Position(0, 5), " + 1")])  # an insertion
    engine.down = True
    result = await _suggest(next_edit, Position(0, 9))
    assert isinstance(result, Skip) and "down" in result.reason


def _hunk(old: str, new: str, line: int = 0) -> Hunk:
    return Hunk(URI, line, (old,), (new,), 0.0, 0.0)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("# avilable", "# available", ("avilable", "available", 11)),
    ('log("retry")', 'log("retries")', ('"retry"', '"retries"', 13)),
    ("x = 10", "x = 20", ("10", "20", 6)),
    ("a = b", "a = b + c", None),  # an insertion: nothing replaced to find again
    ("a = b", "c = d", None),  # two changes
    ("a  = b", "a = b", None),  # whitespace
])
def test_the_one_token_change(old: str, new: str, expected: object) -> None:
    assert replaced_token(_hunk(old, new)) == expected


def test_the_change_is_repeated_below_first_then_above_inside_the_window() -> None:
    text = "t = 'avilable'\nx = avilable\n# avilable\ny = avilablex\n"
    window = window_around(text, 1, 0, 3, 0, 0)  # lines 0 .. 2
    hunk = _hunk("x = avilable", "x = available", line=1)
    text = text.replace("x = avilable", "x = available")
    edit = repeat_last_change(text, hunk, window)
    assert edit is not None and (edit.start, edit.end) == ((2, 2), (2, 10))
    # Nothing below in the window (line 3 is outside it, and no whole word): wraps above,
    # into the string.
    text = text.replace("# avilable", "# available")
    edit = repeat_last_change(text, _hunk("# avilable", "# available", line=2), window)
    assert edit is not None and (edit.start, edit.end, edit.text) == ((0, 5), (0, 13),
                                                                      "available")
    edit = repeat_last_change(text, _hunk("y = avilablex", "y = available", line=1), window)
    assert edit is None  # the hunk no longer matches the text


def test_the_answer_budget_is_the_window_and_a_margin() -> None:
    assert max_answer_tokens(100) == 164
    assert max_answer_tokens(1000) == 1250
