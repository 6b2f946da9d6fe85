"""A completion request parses the changes typed since the last one off the event loop;
typing parses nothing (see ``context.syntax``)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from tree_sitter import Parser, Tree

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

    def parse(self, source: bytes, old_tree: Tree | None = None) -> Tree:
        self.threads.append(threading.get_ident())
        if self.hold:
            self.started.set()
            assert self.go.wait(60)
        return self.parser.parse(source, old_tree) if old_tree else self.parser.parse(source)


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
