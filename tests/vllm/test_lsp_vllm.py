"""End to end: inline completion through `loomline lsp` with the vLLM backend."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from loomline.completion.serve import VllmServer
from tests.conftest import server_command
from tests.vllm.vllm_support import SERVED_NAME

pytestmark = pytest.mark.vllm

SOURCE = (
    "import math\n\n\n"
    "def circle_area(radius: float) -> float:\n"
    "    return math.pi * radius ** 2\n\n\n"
    "def circle_circumference(radius: float) -> float:\n"
    "    return \n"
)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=server_command("lsp")))
async def client(lsp_client: LanguageClient,
                 vllm_server: VllmServer) -> AsyncIterator[None]:
    params = types.InitializeParams(
        capabilities=types.ClientCapabilities(),
        initialization_options={
            "backend": "vllm",
            "engine": {"urls": [vllm_server.url], "servedModel": SERVED_NAME},
        },
        root_uri="file:///tmp/loomline-vllm-test",
    )
    statuses: list[object] = []
    lsp_client.loomline_statuses = statuses  # type: ignore[attr-defined]

    @lsp_client.feature("loomline/status")
    def on_status(*args: object) -> None:  # (params) or (client, params)
        statuses.append(args[-1])

    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


async def inline(client: LanguageClient, uri: str, line: int,
                 character: int) -> types.InlineCompletionList | None:
    result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=character),
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Invoked),
    ))
    if result is None or isinstance(result, types.InlineCompletionList):
        return result
    return types.InlineCompletionList(items=list(result))


async def test_inline_completion_from_vllm(client: LanguageClient) -> None:
    uri = "file:///tmp/loomline-vllm-test/circle.py"
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1,
                                             text=SOURCE)))
    # The engine becomes ready after its first health probe.
    deadline = time.monotonic() + 30
    result = None
    while time.monotonic() < deadline:
        result = await inline(client, uri, 8, 11)
        if result is not None and result.items:
            break
        await asyncio.sleep(0.5)
    assert result is not None and result.items, (
        f"no inline completion from vLLM; statuses: {client.loomline_statuses[-5:]}; "  # type: ignore[attr-defined]
        f"messages: {[m.message for m in client.messages][-5:]}")
    text = str(result.items[0].insert_text)
    assert "math.pi" in text and "radius" in text, text
