"""``engine.adapters`` per folder: which LoRA adapter a document's requests run under."""

from __future__ import annotations

import os

import pytest

from loomline.context.workspace_folders import WorkspaceFolders, adapter_key_problem

ADAPTERS = {
    "*": "everyone",
    "/work/mono": "mono-by-path",
    "file:///work/mono/services/api": "api-by-uri",
    "b": "b-by-name",  # the folder /srv/other/b
}


@pytest.fixture
def folders() -> WorkspaceFolders:
    folders = WorkspaceFolders.of("file:///work/mono")
    folders.add("file:///srv/other/b")
    folders.add("file:///work/plain")
    return folders


@pytest.mark.parametrize(
    ("uri", "adapter"),
    [
        ("file:///work/mono/lib/util.py", "mono-by-path"),
        ("file:///work/mono/services/api/main.py", "api-by-uri"),  # the innermost key wins
        ("file:///work/mono/services/apis/x.py", "mono-by-path"),  # a longer sibling is not in
        ("file:///srv/other/b/pkg/mod.py", "b-by-name"),
        ("file:///work/plain/x.py", "everyone"),
        ("file:///elsewhere/x.py", "everyone"),
        ("untitled:Untitled-1", "everyone"),
        ("vscode-notebook-cell:/work/mono/nb.ipynb#W1", "mono-by-path"),  # the notebook's folder
        ("/work/mono/services/api/a.py", "api-by-uri"),  # a plain path, as the CLI gives it
    ],
)
def test_the_innermost_named_folder_chooses(
    folders: WorkspaceFolders, uri: str, adapter: str
) -> None:
    assert folders.adapter_for(uri, ADAPTERS) == adapter


def test_no_adapters_and_no_match_mean_the_base_model(folders: WorkspaceFolders) -> None:
    assert folders.adapter_for("file:///work/mono/a.py", {}) is None
    assert folders.adapter_for("file:///elsewhere/a.py", {"/work/mono": "m"}) is None
    # "" is the base model on purpose: one folder opts out of a "*" adapter.
    opted_out = {"*": "everyone", "/work/mono/vendor": ""}
    assert folders.adapter_for("file:///work/mono/vendor/x.py", opted_out) is None
    assert folders.adapter_for("file:///work/mono/x.py", opted_out) == "everyone"


def test_a_path_key_beats_a_name_for_the_same_folder(folders: WorkspaceFolders) -> None:
    adapters = {"b": "by-name", "/srv/other/b/": "by-path"}  # trailing slash too
    assert folders.adapter_for("file:///srv/other/b/x.py", adapters) == "by-path"


def test_a_name_follows_the_folders_the_editor_has_open() -> None:
    folders = WorkspaceFolders.of("file:///one/app")
    adapters = {"app": "app-lora"}
    assert folders.adapter_for("file:///one/app/x.py", adapters) == "app-lora"
    assert folders.adapter_for("file:///two/app/x.py", adapters) is None  # not a folder
    folders.add("file:///two/app")
    assert folders.adapter_for("file:///two/app/x.py", adapters) == "app-lora"
    folders.remove("file:///one/app")
    assert folders.adapter_for("file:///one/app/x.py", adapters) is None


def test_home_is_expanded() -> None:
    home = os.path.expanduser("~")
    folders = WorkspaceFolders()
    assert folders.adapter_for(f"{home}/src/repo/a.py", {"~/src/repo": "mine"}) == "mine"


@pytest.mark.parametrize("key", ["*", "/abs/path", "~/src/x", "file:///a/b", "my-folder",
                                 "folder with spaces"])
def test_keys_that_name_folders(key: str) -> None:
    assert adapter_key_problem(key) is None


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", "an empty key"),
        ("  ", "an empty key"),
        ("src/app", "a relative path is ambiguous"),
        ("./app", "a relative path is ambiguous"),
        ("https://example.com/repo", "only file: URIs"),
        ("untitled:x", "only file: URIs"),
    ],
)
def test_keys_that_do_not(key: str, problem: str) -> None:
    message = adapter_key_problem(key)
    assert message is not None and message.startswith(problem)
    assert "'*', an absolute folder path" in message
    if key.strip():
        assert key not in message  # settings problems never quote free text
