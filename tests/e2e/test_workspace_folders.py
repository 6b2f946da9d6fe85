"""Workspace folders over stdio: every folder has an index of its own (added and removed with
the folder), and documents are named and given context by their own folder."""

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


# ---- multi-root: every folder indexed, each document in its own folder's context ---------
@pytest.fixture
def three_folders(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Three folders, each a package ``lib{n}`` with a helper of its own; the second one
    ignores ``lib2/hidden.py`` in its own .gitignore."""
    made = []
    for n in (1, 2, 3):
        folder = tmp_path / f"folder{n}"
        (folder / f"lib{n}").mkdir(parents=True)
        (folder / f"lib{n}" / "__init__.py").write_text("")
        (folder / f"lib{n}" / "tools.py").write_text(
            f"def helper_{n}(value):\n    return value * {n}\n"
        )
        made.append(folder)
    (made[1] / ".gitignore").write_text("lib2/hidden.py\n")
    (made[1] / "lib2" / "hidden.py").write_text("def hidden_helper(value):\n    return value\n")
    return made[0], made[1], made[2]


@pytest.fixture
def multi_root_session(three_folders: tuple[Path, Path, Path]) -> Session:
    first, second, _ = three_folders
    return Session(
        options=FAKE,
        root_uri=first.as_uri(),
        workspace_folders=((first.as_uri(), "first"), (second.as_uri(), "second")),
    )


multi_root_client = loomline_client("multi_root_session")


def _folder_event(
    added: list[Path] = [], removed: list[Path] = []  # noqa: B006 (never changed)
) -> types.DidChangeWorkspaceFoldersParams:
    return types.DidChangeWorkspaceFoldersParams(
        event=types.WorkspaceFoldersChangeEvent(
            added=[types.WorkspaceFolder(uri=p.as_uri(), name=p.name) for p in added],
            removed=[types.WorkspaceFolder(uri=p.as_uri(), name=p.name) for p in removed],
        )
    )


async def test_every_folder_is_indexed_and_follows_folder_changes(
    multi_root_client: LanguageClient, three_folders: tuple[Path, Path, Path]
):
    client = multi_root_client
    first, second, third = three_folders
    in_first = (first / "main.py").as_uri()
    in_second = (second / "main.py").as_uri()
    in_third = (third / "main.py").as_uri()
    open_doc(client, in_first, "from lib1.tools import helper_1\nhelper_1(1)\n")
    open_doc(client, in_second, "from lib2.tools import helper_2\nhelper_2(2)\n")
    open_doc(client, in_third, "from lib3.tools import helper_3\nhelper_3(3)\n")
    one = ("lib1/tools.py", "def helper_1(value):")
    two = ("lib2/tools.py", "def helper_2(value):")
    three = ("lib3/tools.py", "def helper_3(value):")
    await eventually(lambda: _definitions_at(client, in_first), lambda found: one in found,
                     what="the first folder's index")
    # The second folder has an index of its own, and its document takes context from it.
    await eventually(lambda: _definitions_at(client, in_second), lambda found: two in found,
                     what="the second folder's index")
    assert one not in await _definitions_at(client, in_second)
    assert three not in await _definitions_at(client, in_third)  # not a folder yet

    client.workspace_did_change_workspace_folders(_folder_event(added=[third]))
    await eventually(lambda: _definitions_at(client, in_third), lambda found: three in found,
                     what="the added folder's index")
    assert two in await _definitions_at(client, in_second)  # the others stay indexed

    client.workspace_did_change_workspace_folders(_folder_event(removed=[third]))
    await eventually(lambda: _definitions_at(client, in_third),
                     lambda found: three not in found, what="the removed folder's index dropped")
    assert one in await _definitions_at(client, in_first)
    assert two in await _definitions_at(client, in_second)
    # Each folder was indexed in the background with work-done progress of its own.
    titles = {reports[0].title: reports[-1] for reports in client.progress_reports.values()
              if isinstance(reports[0], types.WorkDoneProgressBegin)}
    for name in ("folder1", "folder2", "folder3"):
        ended = titles[f"Loomline: indexing {name}"]
        assert isinstance(ended, types.WorkDoneProgressEnd)
        assert ended.message and ended.message.startswith("indexed ")


async def test_each_folder_keeps_its_own_gitignore(
    multi_root_client: LanguageClient, three_folders: tuple[Path, Path, Path]
):
    client = multi_root_client
    _, second, _ = three_folders
    uri = (second / "main.py").as_uri()
    open_doc(client, uri, "from lib2.tools import helper_2\nhelper_2(hidden_helper(2))\n")
    two = ("lib2/tools.py", "def helper_2(value):")
    await eventually(lambda: _definitions_at(client, uri), lambda found: two in found,
                     what="the second folder's index")
    shown = await show_context(client, uri, 1, 0)
    assert all("hidden" not in p["source"] for p in shown["pieces"])
