"""The real server with the real embedded model, over stdio: what a user gets."""

from __future__ import annotations

import ast
import asyncio
import time
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp_client import (
    Session,
    inline,
    loomline_client,
    open_doc,
    show_context,
    stats,
    status_state,
)
from tests.waiting import eventually

# The client lives for the module (one model load), so the tests share its event loop.
pytestmark = [pytest.mark.model, pytest.mark.asyncio(loop_scope="module")]

SOURCE = (
    '''import os


def list_python_files(root: str) -> list[str]:
    """Return the paths of all .py files under root, sorted."""
    result = []
    for directory, _subdirs, files in os.walk(root):
        for name in files:
            if name.endswith(".py"):
                result.append(os.path.join(directory, name))
    return sorted(result)


def is_palindrome(text: str) -> bool:
    """Return True if text reads the same forwards and backwards, ignoring case."""
'''
    + "    \n"
)  # the cursor's empty, indented line


# A small multi-file project: the method the cursor needs is defined only in another file.
PROJECT = {
    "shop/__init__.py": "",
    "shop/pricing.py": (
        "class PriceBook:\n"
        '    """Unit prices by SKU, in cents."""\n\n'
        "    def __init__(self, prices: dict[str, int]) -> None:\n"
        "        self._prices = prices\n\n"
        "    def lookup_unit_price_cents(self, sku: str) -> int:\n"
        '        """The price of one unit of ``sku``, in cents."""\n'
        "        return self._prices[sku]\n"
    ),
    "app/__init__.py": "",
}
MAIN = (
    "from shop.pricing import PriceBook\n\n\n"
    "def order_total_cents(book: PriceBook, sku: str, quantity: int) -> int:\n"
    '    """What ``quantity`` units of ``sku`` cost, in cents."""\n'
    "    return book."
)


@pytest.fixture(scope="module")
def project_root(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    for name, text in PROJECT.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture(scope="module")
def lsp_session(project_root: Path) -> Session:
    # Loading a prepared model takes seconds; the bound only ends a broken run.
    return Session(
        # These tests judge the model's code, not its speed: on a loaded 2-core machine a
        # whole body can take longer than the default deadline (which would keep its lines
        # so far), so the deadline is out of the way here.
        options={"completion": {"maxTokens": 64, "deadlineMs": 120_000,
                                "explicitDeadlineMs": 120_000}},
        root_uri=project_root.as_uri(),
        ready_within_s=180,
    )


client = loomline_client("lsp_session", scope="module")
_open = open_doc
_stats = stats


def _inline(client: LanguageClient, uri: str, line: int, character: int):
    return inline(client, uri, line, character, types.InlineCompletionTriggerKind.Automatic)


async def test_server_reports_loading_then_ready(client: LanguageClient):
    states = [status_state(s) for s in client.statuses]
    assert "loading" in states and "ready" in states
    assert states.index("loading") < states.index("ready")


async def test_inline_completion_of_a_function_body_is_plausible_code(client: LanguageClient):
    uri = "file:///tmp/loomline-model-test/text_utils.py"
    _open(client, uri, SOURCE)
    line = SOURCE.split("\n").index("    ")
    result = await _inline(client, uri, line, 4)
    assert result is not None and result.items, "no inline completion"
    body = result.items[0].insert_text
    assert isinstance(body, str)
    completed = SOURCE.replace('case."""\n    \n', 'case."""\n    ' + body + "\n")
    ast.parse(completed)  # the completed file parses
    assert "return" in body
    assert "text" in body  # uses the parameter
    namespace: dict = {}
    exec(compile(completed, "text_utils.py", "exec"), namespace)
    # Plausible, not perfect: the small model may forget "ignoring case", never the core.
    assert namespace["is_palindrome"]("level") is True
    assert namespace["is_palindrome"]("python") is False


async def test_completion_fallback_returns_a_text_edit(client: LanguageClient):
    uri = "file:///tmp/loomline-model-test/fallback.py"
    text = "import os\n\n\ndef home_directory() -> str:\n    return os.path."
    _open(client, uri, text)
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=4, character=19),
        )
    )
    assert isinstance(result, types.CompletionList) and result.items
    item = result.items[0]
    assert isinstance(item.text_edit, types.TextEdit)
    assert item.text_edit.range.start == types.Position(line=4, character=19)
    assert "\n" not in item.text_edit.new_text  # single line in the middle of an expression
    assert item.text_edit.new_text.strip()


async def test_cancelling_stops_generation(client: LanguageClient):
    uri = "file:///tmp/loomline-model-test/long.py"
    text = (
        '"""A long module."""\n\n\nclass Matrix:\n'
        '    """A dense matrix of floats with the usual operations."""\n\n    '
    )
    _open(client, uri, text)
    earlier = await _stats(client)
    before = earlier["cancelled"]
    request_id = "cancel-me"
    request = client.protocol.send_request(
        types.TEXT_DOCUMENT_INLINE_COMPLETION,
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=6, character=4),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic
            ),
        ),
        msg_id=request_id,
    )
    # Cancel once the model is generating for this request (not after a fixed sleep, which
    # a fast machine could outrun and a slow one could undershoot).
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        now = await _stats(client)
        last = now["recent"][-1] if now["recent"] else {}
        if (
            now["requests"] > earlier["requests"]
            and last.get("finishReason") is None
            and last.get("generatedTokens", 0) >= 3
        ):
            break
        await asyncio.sleep(0.02)
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=request_id))
    with pytest.raises(Exception, match="cancel"):
        await asyncio.wrap_future(request)
    stats = await eventually(
        lambda: _stats(client), lambda now: now["cancelled"] != before, what="the cancel"
    )
    assert stats["cancelled"] == before + 1
    # The request ends at once; the model stops at its next check between tokens, which a
    # loaded machine delays by a forward pass or more: wait for that end (it says how the
    # generation finished), not for a fixed time.
    stats = await eventually(
        lambda: _stats(client),
        lambda now: now["recent"][-1]["finishReason"] is not None,
        within_s=120,
        what="the cancelled generation's end",
    )
    tokens_then = stats["recentGeneratedTokens"]
    # A later request's answer: the model's worker runs one generation at a time, so by the
    # time a later one has run, the cancelled one had stopped for good (no clock to guess).
    later_uri = "file:///tmp/loomline-model-test/later.py"
    _open(client, later_uri, "def double(x: int) -> int:\n    return ")
    later = await inline(client, later_uri, 1, 11)  # asked for: no debounce, a fresh answer
    assert later is not None
    after = await _stats(client)
    # The later one ran after the cancelled one (which is now second to last): the worker
    # picked its tokens, so it had left the cancelled one.
    assert after["recent"][-2]["promptTokens"] == stats["recent"][-1]["promptTokens"]
    assert after["recent"][-1]["generatedTokens"] > 0
    tokens_later = after["recentGeneratedTokens"] - after["recent"][-1]["generatedTokens"]
    assert tokens_later == tokens_then, "the model kept generating after the cancel"
    last = after["recent"][-2]  # the cancelled generation
    assert last["finishReason"] == "cancelled", last
    assert last["generatedTokens"] < 64


async def test_cross_file_completion_uses_the_other_files_definition(
    client: LanguageClient, project_root: Path
):
    """The method name exists only in shop/pricing.py: the index finds the imported class,
    the transparency command shows why it is in the prompt, and the model uses it."""
    uri = (project_root / "app" / "main.py").as_uri()
    _open(client, uri, MAIN)
    lines = MAIN.split("\n")
    where = {"line": len(lines) - 1, "character": len(lines[-1])}
    # The workspace index is built in the background.
    shown = await eventually(
        lambda: show_context(client, uri, where["line"], where["character"]),
        lambda shown: bool(shown and shown["pieces"]),
        within_s=60,
        every_s=0.1,
        what="context pieces from the workspace index",
    )
    assert shown is not None and shown["pieces"], shown
    piece = shown["pieces"][0]
    assert piece["source"] == "shop/pricing.py"
    assert piece["reason"] == "definition of `PriceBook` imported from shop/pricing.py"
    assert "def lookup_unit_price_cents(self, sku: str) -> int:" in piece["text"]
    assert "lookup_unit_price_cents" in shown["prompt"]
    assert shown["prompt"].rstrip().endswith("<|fim_middle|>")
    result = await _inline(client, uri, where["line"], where["character"])
    items = result.items if isinstance(result, types.InlineCompletionList) else result
    assert items, "no completion"
    text = items[0].insert_text
    text = text if isinstance(text, str) else text.value
    assert text.startswith("lookup_unit_price_cents("), text
