"""Similar snippets stay in the document's own workspace folder, as its index does: a
document in folder A gets none from folder B's open or recently edited files, whatever the
language or URI (files with spaces and percent-encoding, notebook cells, untitled documents,
which belong to the first folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loomline.completion.settings import Settings
from loomline.completion.workspace_context import WorkspaceContext
from loomline.context.documents import DocumentStore, path_to_uri
from loomline.context.workspace_folders import WorkspaceFolders
from tests.unit.editing.harness import EXTENSIONS

# A body that is similar to the cursor's lines in every language's words.
SIMILAR = ("accumulate_weighted_scores(records, weights)\n"
           "normalize_weighted_scores(records, weights)\n"
           "publish_weighted_scores(records, weights)\n") * 3
CURSOR_TEXT = "accumulate_weighted_scores(records, weights)\nnormalize_weighted_scores(\n"


def _snippet_paths(tmp_path: Path, language: str, cursor_uri: str,
                   others: dict[str, str], closed: tuple[str, ...] = ()) -> list[str]:
    first, second = tmp_path / "first folder", tmp_path / "second%20folder"
    first.mkdir(exist_ok=True)
    second.mkdir(exist_ok=True)
    store = DocumentStore()
    workspace = WorkspaceContext(Settings(), store,
                                 folders=WorkspaceFolders.of(str(first), str(second)))
    for uri, text in others.items():
        store.open(uri, language, 1, text)
        store.change(uri, 2, [text + "\n"])  # edited: a recent document too
    for uri in closed:
        store.close(uri)
    document = store.open(cursor_uri, language, 1, CURSOR_TEXT)
    pieces = workspace.collect(document, len(CURSOR_TEXT))
    return [piece.source for piece in pieces if piece.kind == "snippet"]


@pytest.mark.parametrize("closed", [False, True], ids=["open", "recent"])
@pytest.mark.parametrize("language", sorted(EXTENSIONS))
def test_a_document_gets_no_snippets_from_another_folder(
    tmp_path: Path, language: str, closed: bool
) -> None:
    extension = EXTENSIONS[language]
    first, second = tmp_path / "first folder", tmp_path / "second%20folder"
    own = path_to_uri(first / f"own helpers.{extension}")
    other = path_to_uri(second / f"other.{extension}")
    cursor = path_to_uri(first / f"main.{extension}")
    found = _snippet_paths(tmp_path, language, cursor, {own: SIMILAR, other: SIMILAR},
                           (own, other) if closed else ())
    assert any("own helpers" in source for source in found), found
    assert not any("other" in source for source in found), found


@pytest.mark.parametrize(
    "cursor_uri",
    ["untitled:Untitled-1",
     "vscode-notebook-cell:{second}/nb.ipynb#W0sZmlsZQ%3D%3D"],
    ids=["untitled-first-folder", "notebook-cell-second-folder"],
)
def test_documents_that_are_not_files_keep_to_their_folder(
    tmp_path: Path, cursor_uri: str
) -> None:
    first, second = tmp_path / "first folder", tmp_path / "second%20folder"
    in_first = path_to_uri(first / "a.py")
    in_second = path_to_uri(second / "b.py")
    uri = cursor_uri.format(second=path_to_uri(second).removeprefix("file://"))
    found = _snippet_paths(tmp_path, "python", uri, {in_first: SIMILAR, in_second: SIMILAR})
    expected, other = ("a.py", "b.py") if uri.startswith("untitled:") else ("b.py", "a.py")
    assert any(source.endswith(expected) for source in found), found
    assert not any(source.endswith(other) for source in found), found
