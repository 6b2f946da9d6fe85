"""Two folders of one LSP session, each answered by a real vLLM server under its own LoRA
adapter (``engine.adapters``); checked on the server's side, in the requests vLLM logs."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from loomline.server.vllm_server import VllmServer
from tests.lsp_client import LoomlineClient, Session, inline, loomline_client, open_doc, wait_ready
from tests.vllm.test_lsp_vllm import SOURCE
from tests.vllm.vllm_support import ADAPTERS, SERVED_NAME, requests_by_adapter, require_adapters

pytestmark = pytest.mark.vllm

ALPHA, BETA = ADAPTERS


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    alpha, beta = tmp_path / "alpha", tmp_path / "beta"
    for folder in (alpha, beta):
        folder.mkdir()
        (folder / "circle.py").write_text(SOURCE)
    return alpha, beta


@pytest.fixture
def adapter_session(
    vllm_server: VllmServer, lora_adapters: list[tuple[str, str]] | None,
    folders: tuple[Path, Path],
) -> Session:
    require_adapters(lora_adapters)
    alpha, beta = folders
    return Session(
        options={
            "backend": "vllm",
            "engine": {"urls": [vllm_server.url], "servedModel": SERVED_NAME,
                       # One folder by its name, the other by its path.
                       "adapters": {"alpha": ALPHA, str(beta): BETA}},
        },
        root_uri=alpha.as_uri(),
        workspace_folders=((alpha.as_uri(), "alpha"), (beta.as_uri(), "beta")),
        capabilities=types.ClientCapabilities(),
    )


client = loomline_client("adapter_session")


async def test_each_folder_is_answered_by_its_own_adapter(
    client: LoomlineClient, vllm_server: VllmServer, folders: tuple[Path, Path]
) -> None:
    await wait_ready(client, 60)
    for folder, adapter in zip(folders, ADAPTERS, strict=True):
        uri = (folder / "circle.py").as_uri()
        open_doc(client, uri, SOURCE)
        seen = len(requests_by_adapter(vllm_server))
        result = await inline(client, uri, 8, 11)
        assert result is not None, "no answer to the inline completion"
        messages = [m.message for m in client.messages]
        assert not messages, messages
        # What vLLM received for this folder (logged when each request arrives).
        received = requests_by_adapter(vllm_server)[seen:]
        assert received and set(received) == {adapter}, received
