"""Emacs 28 + eglot 1.9 in batch mode: completion-at-point and a code action."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from tests.editors.conftest import (
    FAKE,
    GENERATED,
    HERE,
    MODEL,
    find_editor,
    require_path,
    run_scripted_editor,
)

pytestmark = pytest.mark.editor


def _run(
    tmp_path: Path, settings: dict[str, Any], steps: list[str], timeout: float, **extra: Any
) -> dict[str, Any]:
    emacs = find_editor("emacs")
    require_path("/usr/share/emacs/site-lisp/elpa/eglot-1.9", "eglot (elpa-eglot)")
    return run_scripted_editor(
        [emacs, "--batch", "-Q", "-l", str(HERE / "emacs_test.el")],
        tmp_path,
        settings,
        steps,
        timeout,
        spec_in_file=True,
        **extra,
    )


@pytest.mark.timeout(90)
def test_emacs_code_action_and_generate_command(tmp_path: Path):
    settings = {**FAKE, "fake": {"response": GENERATED, "chunkDelayMs": 1}}
    results = _run(
        tmp_path,
        settings,
        ["code_action", "generate"],
        timeout=60,
        code_action={"line": 6, "title": "Loomline: Generate code from this comment"},
        generate={"line": 1, "instruction": "add two numbers"},
    )
    action = results["code_action"]
    assert "Loomline: Generate code from this comment" in action["titles"]
    assert action["lines"][6:9] == [
        "# TODO: add two numbers a and b",
        "def add(a, b):",
        "    return a + b",
    ]
    ast.parse("\n".join(action["lines"]).replace("    ret\n", "    return\n"))
    # The README's loomline-generate command, on the empty line after the import.
    lines = results["generate"]["lines"]
    assert lines[:4] == ["import os", "def add(a, b):", "    return a + b", ""]
    assert lines[7:10] == ["# TODO: add two numbers a and b", "def add(a, b):", "    return a + b"]


@pytest.mark.timeout(90)
def test_emacs_completion_at_point(tmp_path: Path):
    results = _run(tmp_path, FAKE, ["capf"], timeout=60, capf={"line": 4})
    capf = results["capf"]
    assert capf["candidates"] == ["return 42"]
    assert capf["line"] == "    return 42"


@pytest.mark.model
@pytest.mark.timeout(120)
def test_emacs_with_the_real_model(tmp_path: Path, model_dir: Path):
    results = _run(tmp_path, MODEL, ["capf"], timeout=110, capf={"line": 4})
    capf = results["capf"]
    assert capf["candidates"], "the real model gave no candidate"
    candidate = capf["candidates"][0]
    assert candidate.startswith("ret"), candidate
    assert capf["line"] == "    " + candidate
