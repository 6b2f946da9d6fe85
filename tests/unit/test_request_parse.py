"""A completion request parses the changes typed since the last one off the event loop;
typing parses nothing (see ``context.syntax``)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest
from tree_sitter import Parser, Point, Tree

from loomline.completion.engines.fake import FakeEngine
from loomline.completion.service import Completion, CompletionService, Skip
from loomline.completion.settings import FakeSettings, Settings
from loomline.completion.workspace_context import WorkspaceContext
from loomline.context import syntax
from loomline.context.languages import new_parser
from loomline.context.positions import Position

URI = "file:///work/flat.py"
TEXT = "".join(f"v{number} = {number}\n" for number in range(50)) + "value = "


class _WatchedParser:
    """Records the thread of each parse; with ``hold``, waits inside it until told."""

    def __init__(self, parser: Parser, hold: bool) -> None:
        self.parser, self.threads = parser, []
        self.started, self.go = threading.Event(), threading.Event()
        self.hold = hold
        self.read_at: int | None = None  # where the parse last read its source

    def parse(self, source: bytes | Callable[[int, Point], bytes],
              old_tree: Tree | None = None) -> Tree | None:
        self.threads.append(threading.get_ident())
        if self.hold:
            self.started.set()
            assert self.go.wait(60)
        if callable(source):
            read = source

            def source(offset: int, point: Point) -> bytes:
                self.read_at = offset
                return read(offset, point)

        return (self.parser.parse(source, old_tree) if old_tree is not None
                else self.parser.parse(source))


def _watch(monkeypatch: pytest.MonkeyPatch, hold: bool = False) -> list[_WatchedParser]:
    made: list[_WatchedParser] = []

    def watched(language_id: str) -> _WatchedParser | None:
        parser = new_parser(language_id)
        if parser is not None:
            made.append(_WatchedParser(parser, hold))
            return made[-1]
        return None

    monkeypatch.setattr(syntax, "new_parser", watched)
    return made


async def _service() -> tuple[CompletionService, WorkspaceContext]:
    settings = Settings(backend="fake")
    engine = FakeEngine(FakeSettings(response="1"))
    await engine.start()
    workspace = WorkspaceContext(settings)
    service = CompletionService(settings, engine, documents=workspace.documents,
                                workspace=workspace)
    return service, workspace


async def test_typing_parses_nothing_and_the_request_parses_off_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsers = _watch(monkeypatch)
    service, workspace = await _service()
    store = workspace.documents
    document = store.open(URI, "python", 1, TEXT)
    for version, column in enumerate(range(8, 12), start=2):
        store.change(URI, version, [(Position(50, column), Position(50, column), "1")])
    assert parsers[0].threads == []
    result = await service.complete(document, Position(50, 12), explicit=True)
    assert isinstance(result, Completion)
    assert len(parsers[0].threads) == 1
    assert parsers[0].threads[0] != threading.get_ident()
    assert workspace.trees.is_current(URI)


async def test_text_changed_during_the_parse_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    parsers = _watch(monkeypatch, hold=True)
    service, workspace = await _service()
    store = workspace.documents
    document = store.open(URI, "python", 1, TEXT)
    request = asyncio.create_task(service.complete(document, Position(50, 8), explicit=True))
    assert await asyncio.to_thread(parsers[0].started.wait, 60)
    store.change(URI, 2, [(Position(50, 8), Position(50, 8), "2")])  # not held up
    parsers[0].hold = False
    parsers[0].go.set()
    result = await request
    assert isinstance(result, Skip) and "syntax tree" in result.reason
    tree = workspace.trees.tree_for(document)
    assert tree is not None and tree.root_node.end_byte == len(document.text)


async def test_the_event_loop_runs_during_a_big_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    """py-tree-sitter holds the GIL over a parse of bytes: the source goes in by a callback,
    whose calls let the event loop take turns (keystrokes, other requests) meanwhile."""
    parsers = _watch(monkeypatch)
    _, workspace = await _service()
    text = "".join(f"v{number} = {number}\n" for number in range(100_000))
    document = workspace.documents.open(URI, "python", 1, text)
    seen: set[int] = set()  # where the parse was, each time the event loop ran

    async def other_work() -> None:
        while True:
            await asyncio.sleep(0)
            if parsers[0].read_at is not None:
                seen.add(parsers[0].read_at)

    other = asyncio.create_task(other_work())
    await workspace.bring_up_to_date(document)
    other.cancel()
    assert workspace.trees.is_current(URI)
    # (About 20 on 2 cores: one a switch interval; 0 when the parse holds the GIL.)
    assert len(seen) >= 5
