from __future__ import annotations

from loomline.completion.settings import Settings
from loomline.completion.workspace_context import WorkspaceContext


def test_refine_drops_lines_python_rejects_even_when_tree_sitter_forgives_them():
    context = WorkspaceContext(Settings(), None)
    prefix = "def f(x):\n    try:\n        "
    suffix = "\n    except KeyError:\n        return None\n"
    # The last line dedents out of the try body: Python would reject the file.
    candidate = "value = x['a']\n        return value\n  oops = 1"
    refined = context.refine("python", prefix, candidate, suffix, multiline=True)
    compile(prefix + refined + suffix, "<t>", "exec")
    assert refined.startswith("value = x['a']")


def test_refine_leaves_a_good_candidate_alone():
    context = WorkspaceContext(Settings(), None)
    prefix = "def add(a, b):\n    "
    refined = context.refine("python", prefix, "return a + b", "\n", multiline=True)
    assert refined == "return a + b"
