"""End to end: inline completion through `loomline lsp` with the vLLM backend."""

from __future__ import annotations

import asyncio
import time

import pytest
from lsprotocol import types

from loomline.server.vllm_server import VllmServer
from tests.lsp_client import LoomlineClient, Session, inline, loomline_client, open_doc
from tests.vllm.vllm_support import SERVED_NAME

pytestmark = pytest.mark.vllm

SOURCE = (
    "import math\n\n\n"
    "def circle_area(radius: float) -> float:\n"
    "    return math.pi * radius ** 2\n\n\n"
    "def circle_circumference(radius: float) -> float:\n"
    "    return \n"
)


@pytest.fixture
def lsp_session(vllm_server: VllmServer) -> Session:
    return Session(
        options={
            "backend": "vllm",
            "engine": {"urls": [vllm_server.url], "servedModel": SERVED_NAME},
        },
        root_uri="file:///tmp/loomline-vllm-test",
        capabilities=types.ClientCapabilities(),
    )


client = loomline_client("lsp_session")


async def test_inline_completion_from_vllm(client: LoomlineClient) -> None:
    uri = "file:///tmp/loomline-vllm-test/circle.py"
    open_doc(client, uri, SOURCE)
    # The engine becomes ready after its first health probe.
    deadline = time.monotonic() + 30
    result = None
    while time.monotonic() < deadline:
        result = await inline(client, uri, 8, 11)
        if result is not None and result.items:
            break
        await asyncio.sleep(0.5)
    assert result is not None and result.items, (
        f"no inline completion from vLLM; statuses: {client.statuses[-5:]}; "
        f"messages: {[m.message for m in client.messages][-5:]}")
    text = str(result.items[0].insert_text)
    assert "math.pi" in text and "radius" in text, text
