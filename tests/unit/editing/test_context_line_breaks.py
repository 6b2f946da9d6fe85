"""Context found for a cursor is the same whatever the document's line breaks: the
definitions of names used near the cursor (from the workspace index), the similar snippets,
in a lone-CR document as in its LF and CRLF twins; in every language."""

from __future__ import annotations

from pathlib import Path

import pytest

from loomline.completion.settings import Settings
from loomline.completion.workspace_context import WorkspaceContext
from loomline.context.documents import DocumentStore
from loomline.context.positions import with_line_ending
from loomline.context.workspace_folders import WorkspaceFolders
from tests.unit.editing.harness import CURSOR, ENDINGS, EXTENSIONS

# (language, a file of the folder defining `scale_total`, the open document using it; it
#  starts with an import line, as most files do)
SOURCES = {
    "python": ("def scale_total(items):\n    return sum(items) * 2\n",
               "import os\n\ndef main(items):\n    value = scale_total(items)\n    █\n"),
    "javascript": ("function scaleTotal(items) {\n  return items.length * 2;\n}\n",
                   "import fs from 'fs';\n\nfunction main(items) {\n"
                   "  const value = scaleTotal(items);\n  █\n}\n"),
    "typescript": ("function scaleTotal(items: number[]): number {\n  return 2;\n}\n",
                   "import fs from 'fs';\n\nfunction main(items: number[]) {\n"
                   "  const value = scaleTotal(items);\n"
                   "  █\n}\n"),
    "go": ("package main\n\nfunc scaleTotal(items []int) int {\n\treturn 2\n}\n",
           "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tvalue := scaleTotal(nil)\n\t█\n}\n"),
    "rust": ("fn scale_total(items: &[i32]) -> i32 {\n    2\n}\n",
             "use std::fmt;\n\nfn main() {\n    let value = scale_total(&[]);\n    █\n}\n"),
    "java": ("class Helpers {\n  static int scaleTotal(int[] items) {\n    return 2;\n  }\n}\n",
             "import java.util.List;\n\nclass Main {\n  void run(int[] items) {\n"
             "    int value = Helpers.scaleTotal(items);\n"
             "    █\n  }\n}\n"),
    "c": ("int scale_total(int *items, int n) {\n  return 2 * n;\n}\n",
          "#include <stdio.h>\n\nint main(void) {\n  int value = scale_total(0, 0);\n  █\n}\n"),
    "cpp": ("int scale_total(const int *items, int n) {\n  return 2 * n;\n}\n",
            "#include <vector>\n\nint main() {\n  int value = scale_total(nullptr, 0);\n  █\n}\n"),
}


def _definitions_found(tmp_path: Path, language: str, ending: str) -> list[str]:
    helpers, marked = SOURCES[language]
    folder = tmp_path / f"{language}-{ending}"
    folder.mkdir()
    extension = EXTENSIONS[language]
    (folder / f"helpers.{extension}").write_text(helpers)
    store = DocumentStore()
    workspace = WorkspaceContext(Settings(), store, folders=WorkspaceFolders.of(str(folder)))
    workspace.build_index()
    head, tail = marked.split(CURSOR)
    text = with_line_ending(head + tail, ENDINGS[ending])
    document = store.open((folder / f"main.{extension}").as_uri(), language, 1, text)
    offset = len(with_line_ending(head, ENDINGS[ending]))
    return [piece.reason for piece in workspace.collect(document, offset)
            if piece.kind == "definition"]


@pytest.mark.parametrize("ending", list(ENDINGS))
@pytest.mark.parametrize("language", sorted(SOURCES))
def test_definitions_used_near_the_cursor_whatever_the_line_breaks(
    tmp_path: Path, language: str, ending: str
) -> None:
    found = _definitions_found(tmp_path, language, ending)
    assert any("used near the cursor" in reason for reason in found), found
    if ending != "lf":
        assert found == _definitions_found(tmp_path, language, "lf")
