"""Natural language to code as a pipeline: refusals, the prompt sent, the stream of lines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from loomline.completion.engine_stream import not_ready, stream_into
from loomline.completion.engines.base import (
    EngineState,
    EngineUnavailable,
    GenerationRequest,
    GenerationStats,
)
from loomline.completion.engines.fake import FakeEngine
from loomline.completion.exclusion import EXCLUDED, is_excluded
from loomline.completion.instruct import (
    Instruction,
    InstructStream,
    Refused,
    instruct_request,
    start_instruction,
)
from loomline.completion.instruct_targets import Placement, edit_target
from loomline.completion.settings import ContextSettings, FakeSettings, Settings
from loomline.context.documents import Document
from loomline.context.positions import Position

FENCED = "```python\ndef add(a, b):\n    return a + b\n```\nThis adds."


def _document(text: str, uri: str = "file:///w/pkg/m.py") -> Document:
    return Document(uri=uri, language_id="python", version=1, text=text)


def _instruction(
    text: str, start: Position, end: Position | None = None, uri: str = "file:///w/pkg/m.py"
) -> Instruction:
    document = _document(text, uri)
    return Instruction("add two numbers", document, edit_target(document, start, end), "pkg/m.py")


async def _engine(response: str = FENCED, delay_ms: int = 0) -> FakeEngine:
    engine = FakeEngine(FakeSettings(response=response, chunk_delay_ms=delay_ms))
    await engine.start()
    return engine


async def _lines(stream: InstructStream) -> list[str]:
    out: list[str] = []
    async with stream:
        async for batch in stream:
            out += batch
    return out


# ---- where the code goes ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "start", "end", "selection", "line_before", "placement"),
    [
        # At the end of a comment line: the code goes on a new line below.
        (
            "def f():\n    # sum\n",
            Position(1, 9),
            None,
            None,
            "    # sum",
            Placement(indent="    ", first_prefix="    ", leading_newline=True),
        ),
        # Whole lines selected: replaced with the same indentation, the newline kept.
        (
            "if x:\n    a=1\n    b=2\n",
            Position(1, 0),
            Position(3, 0),
            "    a=1\n    b=2\n",
            "",
            Placement(indent="    ", first_prefix="    ", trailing="\n"),
        ),
        # Past the end of the document: clamped to it.
        ("x = 1\n", Position(9, 4), None, None, "", Placement()),
        # A lone CR ends the line before (as the LSP says): the line is the comment alone.
        (
            "x = 1\r    # sum\ry = 2",
            Position(1, 9),
            None,
            None,
            "    # sum",
            Placement(indent="    ", first_prefix="    ", leading_newline=True),
        ),
    ],
)
def test_edit_target(text, start, end, selection, line_before, placement):
    target = edit_target(_document(text), start, end)
    assert (target.selection, target.line_before, target.placement) == (
        selection,
        line_before,
        placement,
    )
    assert target.end == (target.start if end is None else end)


def test_instruct_request_shows_the_text_around_the_target():
    request = instruct_request(_instruction("import os\n\nprint(1)\n", Position(1, 0)))
    assert (request.prefix, request.suffix, request.selection) == (
        "import os\n",
        "\nprint(1)\n",
        None,
    )
    assert (request.path, request.language) == ("pkg/m.py", "python")
    rewrite = instruct_request(_instruction("a\nb\nc\n", Position(1, 0), Position(2, 0)))
    assert (rewrite.prefix, rewrite.selection, rewrite.suffix) == ("a\n", "b\n", "c\n")


# ---- refusals: nothing is sent ----------------------------------------------------------------
async def test_an_engine_that_is_not_ready_is_named_and_gets_nothing():
    engine = FakeEngine(FakeSettings(load_delay_ms=60_000))
    await engine.start()
    assert not_ready(engine) == "fake engine loading"
    refused = start_instruction(engine, _instruction("\n", Position(0, 0)), Settings())
    assert refused == Refused("the engine is not ready (fake engine loading)")
    assert engine.requests == []


async def test_an_excluded_file_sends_nothing():
    engine = await _engine()
    settings = Settings(context=ContextSettings(exclude=["**/secrets/*"]))
    instruction = _instruction("\n", Position(0, 0), uri="file:///w/secrets/keys.py")
    assert start_instruction(engine, instruction, settings) == Refused(EXCLUDED)
    assert engine.requests == []


@pytest.mark.parametrize(
    ("path", "excluded"),
    [
        ("/w/.env", True),  # by file name, anywhere
        ("/w/secrets/keys.py", True),
        ("/w/pkg/m.py", False),
        ("/w/pkg/m.pyc", False),
    ],
)
def test_is_excluded(path, excluded):
    assert is_excluded(path, [".env", "**/secrets/*"]) is excluded


# ---- the stream -------------------------------------------------------------------------------
async def test_the_stream_sends_the_prompt_and_gives_placed_lines():
    engine = await _engine()
    instruction = _instruction("class A:\n    # sum\n", Position(1, 9))
    stream = start_instruction(engine, instruction, Settings())
    assert isinstance(stream, InstructStream)
    assert engine.requests == []  # nothing before the first step
    assert await _lines(stream) == ["    def add(a, b):", "        return a + b"]
    assert stream.failure is None and not stream.stopped and stream.line_count == 2
    (sent,) = engine.requests
    assert sent.prompt.endswith("<|im_start|>assistant\n```python\n")
    assert "Instruction: add two numbers" in sent.prompt
    assert sent.params.temperature == 0.0 and sent.affinity_key == "file:///w/pkg/m.py"
    assert sent.params.max_tokens == min(1024, max(32, 2 * Settings().completion.max_tokens))
    assert engine.cancelled == 1  # stopped at the closing fence, not run to the end


async def test_max_tokens_of_the_instruction_wins():
    engine = await _engine()
    instruction = _instruction("\n", Position(0, 0))
    stream = start_instruction(
        engine,
        Instruction(instruction.text, instruction.document, instruction.target, "m.py", 7),
        Settings(),
    )
    assert isinstance(stream, InstructStream)
    await _lines(stream)
    assert engine.requests[0].params.max_tokens == 7


async def test_stop_ends_a_waiting_step_and_the_engine():
    engine = await _engine(" ".join(f"x{i} = {i}\n" for i in range(200)), delay_ms=20)
    stream = start_instruction(engine, _instruction("\n", Position(0, 0)), Settings())
    assert isinstance(stream, InstructStream)
    async with stream:
        first = await anext(stream)
        assert first and first[0].startswith("x0 = 0")
        waiting = asyncio.ensure_future(anext(stream, None))
        await asyncio.sleep(0)
        stream.stop()
        # Either the lines finished meanwhile or the end; then the iteration is over.
        await asyncio.wait_for(waiting, 1)
        assert await anext(stream, None) is None
    assert stream.stopped and stream.failure is None
    assert engine.cancelled == 1 and stream.line_count < 200


async def test_a_slow_reader_gets_the_lines_in_one_batch():
    engine = await _engine("```\na = 1\nb = 2\nc = 3\n```", delay_ms=5)
    stream = start_instruction(engine, _instruction("\n", Position(0, 0)), Settings())
    assert isinstance(stream, InstructStream)
    async with stream:
        assert await anext(stream) == ["a = 1"]  # handed out as soon as it is finished

        async def model_done() -> None:
            while stream.line_count < 3:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(model_done(), 5)  # the reader is slow: the model finishes
        rest = [batch async for batch in stream]
    assert rest == [["b = 2", "c = 3"]]


async def test_an_engine_that_goes_down_is_a_failure_not_an_exception():
    engine = await _engine()
    engine.down = True
    stream = start_instruction(engine, _instruction("\n", Position(0, 0)), Settings())
    assert isinstance(stream, InstructStream)
    assert await _lines(stream) == []
    assert stream.failure == "the fake engine is down"


# ---- the engine stream, shared with completion ----------------------------------------------
class _Broken:
    name = "broken"
    state = EngineState.READY
    status_message = "ready"

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.closed = False

    async def stream(
        self, request: GenerationRequest, stats: GenerationStats | None = None
    ) -> AsyncGenerator[str, None]:
        try:
            yield "a"
            raise self.error
        finally:
            self.closed = True


@pytest.mark.parametrize(
    ("error", "message", "unavailable"),
    [
        (EngineUnavailable("cannot reach the server"), "cannot reach the server", True),
        (RuntimeError("boom"), "the engine failed: boom", False),
    ],
)
async def test_stream_into_turns_failures_into_messages(error, message, unavailable):
    engine = _Broken(error)
    taken: list[str] = []
    failure = await stream_into(
        engine,  # type: ignore[arg-type]
        GenerationRequest("p"),
        GenerationStats(),
        lambda chunk: taken.append(chunk) is not None,
    )
    assert failure is not None and (failure.message, failure.unavailable) == (message, unavailable)
    assert taken == ["a"] and engine.closed


async def test_stream_into_stops_when_the_taker_has_enough():
    engine = await _engine("a b c d")
    taken: list[str] = []

    def take(chunk: str) -> bool:
        taken.append(chunk)
        return len(taken) == 2

    assert await stream_into(engine, GenerationRequest("p"), GenerationStats(), take) is None
    assert taken == ["a ", "b "] and engine.cancelled == 1
