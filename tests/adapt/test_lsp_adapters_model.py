"""One LSP session, two workspace folders, each with its own adapter trained by
``loomline adapt``: the embedded engine answers each folder under its folder's adapter (the
server's log names the adapter of every generation), over stdio with
the real model."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig

from tests.adapt.conftest import Trained
from tests.conftest import LOOMLINE
from tests.lsp_client import LoomlineClient, inline, open_doc, wait_ready

pytestmark = [pytest.mark.model, pytest.mark.asyncio(loop_scope="module")]

LOG = Path(tempfile.gettempdir()) / f"loomline-adapters-e2e-{os.getpid()}.log"
SERVER = ClientServerConfig(
    server_command=[*LOOMLINE, "--log-level", "debug", "--log-file", str(LOG), "lsp"],
    client_factory=LoomlineClient,
)
# The same text in both folders: only the adapter differs between their requests.
TEXT = (
    "def refund(account_id: int, amount: int = 0):\n"
    '    """Refund the account."""\n'
    "    \n"
)


@pytest.fixture(scope="module")
def folders(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("folders")
    ledger, shop = root / "ledger-work", root / "shop-work"
    for folder in (ledger, shop):
        folder.mkdir()
        (folder / "refund.py").write_text(TEXT)
    return ledger, shop


@pytest_lsp.fixture(config=SERVER, scope="module")
async def client(lsp_client: LoomlineClient, trained: Trained, folders: tuple[Path, Path],
                 model_dir: Path) -> Any:
    ledger, shop = folders
    options = {
        # LoRA adapters are applied by the torch runtime only.
        "model": {"path": str(model_dir), "cacheDir": str(trained.cache), "runtime": "torch"},
        "engine": {"adapters": {str(ledger): "ledger", str(shop): "shop"}},
        "logLevel": "debug",
    }
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(
            window=types.WindowClientCapabilities(work_done_progress=True)),
        initialization_options=options,
        workspace_folders=[types.WorkspaceFolder(uri=ledger.as_uri(), name="ledger-work"),
                           types.WorkspaceFolder(uri=shop.as_uri(), name="shop-work")],
    ))
    yield
    await lsp_client.shutdown_session()


async def test_each_folder_is_answered_under_its_own_adapter(
    client: LoomlineClient, folders: tuple[Path, Path]
) -> None:
    await wait_ready(client, 300)
    answers = []
    for folder in folders:
        uri = (folder / "refund.py").as_uri()
        open_doc(client, uri, TEXT)
        result = await inline(client, uri, 2, 4)
        assert result is not None, f"no answer in {folder.name}"
        answers.append([str(item.insert_text) for item in result.items])
    # Each folder's request was generated under its own adapter, as the engine logged it (a
    # few steps of training may leave an answer the clean-up drops: what ran is the point).
    log = LOG.read_text(encoding="utf-8")
    used = re.findall(r"generating for file://\S+/(ledger-work|shop-work)/refund\.py\S* with "
                      r"LoRA adapter (\w+)@", log)
    assert ("ledger-work", "ledger") in used and ("shop-work", "shop") in used, used
    assert all((folder, adapter) in {("ledger-work", "ledger"), ("shop-work", "shop")}
               for folder, adapter in used), used
    assert "not found" not in log and "using the base model" not in log
    print(answers)
