"""Workspace folders over stdio: when the folder indexed goes, the one first now is indexed,
and documents are named relative to their own folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp_client import Session, eventually, loomline_client, open_doc, show_context

FAKE = {"backend": "fake", "fake": {"response": "return 42", "chunkDelayMs": 5}}


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, name in ((first, "alpha"), (second, "beta")):
        (folder / "pkg").mkdir(parents=True)
        (folder / "pkg" / f"{name}.py").write_text(f"def {name}_helper(x):\n    return x\n")
    return first, second


@pytest.fixture
def folders_session(folders: tuple[Path, Path]) -> Session:
    return Session(options=FAKE, root_uri=folders[0].as_uri())


client = loomline_client("folders_session")


def _definitions(shown: Any) -> set[tuple[str, str]]:
    """(source, text) of the definitions a completion would send."""
    return {(p["source"], p["text"]) for p in shown["pieces"] if p["kind"] == "definition"}


async def _definitions_at(client: LanguageClient, uri: str) -> set[tuple[str, str]]:
    return _definitions(await show_context(client, uri, 1, 0))


async def test_the_index_follows_the_first_folder(
    client: LanguageClient, folders: tuple[Path, Path]
):
    first, second = folders
    in_first = (first / "main.py").as_uri()
    in_second = (second / "main.py").as_uri()
    open_doc(client, in_first, "value = alpha_helper(1)\n\n")
    open_doc(client, in_second, "value = beta_helper(2)\n\n")
    alpha = ("pkg/alpha.py", "def alpha_helper(x):")
    beta = ("pkg/beta.py", "def beta_helper(x):")
    await eventually(lambda: _definitions_at(client, in_first), lambda found: alpha in found,
                     what="the first folder's index")
    assert beta not in await _definitions_at(client, in_second)
    client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(
                added=[types.WorkspaceFolder(uri=second.as_uri(), name="second")],
                removed=[types.WorkspaceFolder(uri=first.as_uri(), name="first")],
            )
        )
    )
    await eventually(lambda: _definitions_at(client, in_second), lambda found: beta in found,
                     what="the second folder's index")
    assert alpha not in await _definitions_at(client, in_first)
