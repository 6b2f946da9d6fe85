"""The request's cursor: made once, and what the clean-up reads (through the whole service)."""

from __future__ import annotations

import pytest

from loomline.completion.engines.fake import FakeEngine
from loomline.completion.prompt import PromptPiece
from loomline.completion.service import Completion, CompletionService, Skip
from loomline.completion.settings import FakeSettings, Settings
from loomline.completion.workspace_context import WorkspaceContext
from loomline.context.analysis import PositionInfo, analyze_position
from loomline.context.documents import Document, DocumentStore
from loomline.context.positions import Position

URI = "file:///work/a.py"


class CountingWorkspace:
    """A workspace that analyses without a tree and counts how often it is asked."""

    def __init__(self) -> None:
        self.analyses = 0

    def analyze(self, document: Document, offset: int) -> PositionInfo:
        self.analyses += 1
        return analyze_position(document.language_id, None, document.text, offset)

    def collect(self, document: Document, offset: int) -> list[PromptPiece]:
        return []

    async def bring_up_to_date(self, document: Document) -> None:
        pass


async def _complete(text: str, position: Position, response: str, workspace: object = None,
                    settings: Settings | None = None) -> Completion | Skip:
    settings = settings or Settings(backend="fake")
    engine = FakeEngine(FakeSettings(response=response))
    await engine.start()
    # A WorkspaceContext follows its own store (syntax trees): the document opens there.
    store = workspace.documents if isinstance(workspace, WorkspaceContext) else DocumentStore()
    service = CompletionService(settings, engine, documents=store, workspace=workspace)
    document = store.open(URI, "python", 1, text)
    return await service.complete(document, position, explicit=True)


@pytest.mark.parametrize("workspace", ["tree", "text", None])
@pytest.mark.parametrize(
    ("text", "position", "response", "expected"),
    [
        pytest.param("def f():\n  if x:\n    \n", Position(2, 4), "  return 1", "return 1",
                     id="two-space-file"),
        pytest.param("def f():\n\tif x:\n\t\t\n", Position(2, 2), "\treturn 1", "return 1",
                     id="tab-file"),
        pytest.param("def f():\n    if x:\n        \n", Position(2, 8), "    return 1",
                     "return 1", id="four-space-file"),
    ],
)
async def test_the_files_indent_unit_reaches_the_clean_up(
    text: str, position: Position, response: str, expected: str, workspace: str | None
) -> None:
    """A doubled indent is one indent unit of the file's own, whatever the unit."""
    settings = Settings(backend="fake")
    chosen = {"tree": WorkspaceContext(settings, None), "text": CountingWorkspace(),
              None: None}[workspace]
    result = await _complete(text, position, response, chosen, settings)
    assert isinstance(result, Completion)
    assert result.text == expected


async def test_the_cursor_is_analysed_once_per_request() -> None:
    workspace = CountingWorkspace()
    result = await _complete("def f(x):\n    \n", Position(1, 4), "return x", workspace)
    assert isinstance(result, Completion) and result.text == "return x"
    assert result.multiline
    assert workspace.analyses == 1


async def test_the_cursor_says_when_not_to_complete() -> None:
    result = await _complete("x = 'abc'\n", Position(0, 7), "def", CountingWorkspace())
    assert isinstance(result, Skip)
    assert "string" in result.reason
