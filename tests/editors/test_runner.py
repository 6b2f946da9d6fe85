"""The editor runner itself, with a stand-in "editor" (Python) that follows the spec: fast,
no editor needed, so a broken runner shows before the editor tests do."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.editors.conftest import SCRIPTED_SOURCE, run_scripted_editor

# Reads the spec the way nvim_test.lua / emacs_test.el do and writes back what it got.
STAND_IN = """
import json, os, sys
if os.environ.get("LOOMLINE_SPEC_FILE"):
    spec = json.load(open(os.environ["LOOMLINE_SPEC_FILE"], encoding="utf-8"))
else:
    spec = json.loads(os.environ["LOOMLINE_SPEC"])
text = open(spec["file"], encoding="utf-8").read()
json.dump({"spec": spec, "text": text, "cwd": os.getcwd()}, open(spec["out"], "w"))
"""


def _editor(tmp_path: Path) -> list[str]:
    script = tmp_path / "stand_in.py"
    script.write_text(STAND_IN)
    return [sys.executable, str(script)]


def test_the_spec_reaches_the_editor_through_the_environment(tmp_path: Path):
    results = run_scripted_editor(
        _editor(tmp_path), tmp_path, {"backend": "fake"}, ["inline"], 20, inline={"line": 4}
    )
    spec = results["spec"]
    assert spec["settings"] == {"backend": "fake"}
    assert spec["steps"] == ["inline"]
    assert spec["inline"] == {"line": 4}
    assert spec["timeout_ms"] == 15_000
    assert spec["out"] == str(tmp_path / "results.json")
    assert spec["file"] == str(tmp_path / "demo.py")
    assert spec["server"][-1] == "lsp"
    assert results["text"] == SCRIPTED_SOURCE
    assert results["cwd"] == str(tmp_path)
    assert (tmp_path / ".git").is_dir()  # the project root editors look for


def test_the_spec_reaches_the_editor_through_a_file(tmp_path: Path):
    results = run_scripted_editor(
        _editor(tmp_path), tmp_path, {}, ["capf"], 60, spec_in_file=True, capf={"line": 4}
    )
    assert results["spec"]["steps"] == ["capf"]
    assert results["spec"]["capf"] == {"line": 4}
    assert results["spec"]["timeout_ms"] == 55_000
    assert (tmp_path / "spec.json").exists()
