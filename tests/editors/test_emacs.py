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


# (file's text, the cursor before the closer the editor typed, the scripted answer, the line
#  once the candidate is accepted); CRLF: the file's lines end in CRLF (eglot's buffer in LF)
CAPF_CLOSERS = {
    "lf": ("def foo()\n    pass\n", (0, 8), "bar: str):", "def foo(bar: str):"),
    "word": ("def foo(ba)\n    pass\n", (0, 10), "r: str):", "def foo(bar: str):"),
    "crlf": ("def greet()\r\n    pass\r\n", (0, 10), "):", "def greet():"),
}


@pytest.mark.timeout(90)
@pytest.mark.parametrize("case", sorted(CAPF_CLOSERS))
def test_emacs_candidate_writes_the_whole_answer_over_the_typed_closer(
    tmp_path: Path, case: str
):
    """eglot applies the item's edit range: the closer the answer writes is replaced, the rest
    of the answer kept, and the candidate is never empty (`):` over `)` once listed as "")."""
    source, (line, character), answer, expected = CAPF_CLOSERS[case]
    settings = {**FAKE, "fake": {"response": answer, "chunkDelayMs": 1}}
    results = _run(tmp_path, settings, ["capf"], timeout=60, source=source,
                   capf={"line": line, "character": character})
    capf = results["capf"]
    assert capf["candidates"] and all(capf["candidates"]), capf
    assert capf["line"] == expected, capf


@pytest.mark.model
@pytest.mark.timeout(120)
def test_emacs_with_the_real_model(tmp_path: Path, model_dir: Path):
    results = _run(tmp_path, MODEL, ["capf"], timeout=110, capf={"line": 4})
    capf = results["capf"]
    assert capf["candidates"], "the real model gave no candidate"
    candidate = capf["candidates"][0]
    assert candidate.startswith("ret"), candidate
    assert capf["line"] == "    " + candidate
