"""Neovim 0.11 (``nvim --headless --clean -n -l``) with the built-in LSP client."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from tests.editors.conftest import (
    FAKE,
    GENERATED,
    MODEL,
    run_nvim,
)
from tests.editors.editing_scenarios import (
    BRACKETS,
    CRLF,
    EDITING_COMPLETION,
    TABS,
    Scenario,
    check_brackets,
    check_crlf,
    check_tabs,
)
from tests.editors.text_checks import indentation_faults, line_break_faults

pytestmark = pytest.mark.editor


def _run(
    tmp_path: Path, settings: dict[str, Any], steps: list[str], timeout: float, **extra: Any
) -> dict[str, Any]:
    return run_nvim("nvim_test.lua", tmp_path, settings, steps, timeout, **extra)


POPUP = {"line": 4, "before": "    ret"}


@pytest.mark.timeout(90)
def test_neovim_inline_generate_and_code_action(tmp_path: Path):
    # Unfenced, so that it is also a sensible inline completion at the empty top-level line.
    code = GENERATED.removeprefix("```python\n").removesuffix("\n```")
    settings = {**FAKE, "fake": {"response": code, "chunkDelayMs": 1}}
    results = _run(
        tmp_path,
        settings,
        ["inline", "generate", "code_action"],
        timeout=60,
        inline={"line": 7, "character": 0},
        generate={"line": 11, "character": 0, "instruction": "add two numbers"},
        code_action={"line": 6, "title": "Loomline: Generate code from this comment"},
    )
    steps = results["steps"]
    inline = steps["inline"]["items"]  # the fake answers the same to everything
    assert inline == [code]
    generated = steps["generate"]
    assert generated["result"]["applied"] is True
    assert generated["lines"][11:13] == ["def add(a, b):", "    return a + b"]
    action = steps["code_action"]
    assert "Loomline: Generate code from this comment" in action["titles"]
    # Below the comment, and the earlier generated code still in place further down.
    assert action["lines"][6:9] == [
        "# TODO: add two numbers a and b",
        "def add(a, b):",
        "    return a + b",
    ]
    ast.parse("\n".join(action["lines"]).replace("    ret\n", "    return\n"))


@pytest.mark.timeout(90)
def test_neovim_readme_keymaps(tmp_path: Path):
    """The keymaps of nvim_config.lua (the README's configuration), pressed."""
    results = _run(
        tmp_path,
        FAKE,
        ["inline_keymap", "generate_keymap"],
        timeout=60,
        inline_keymap={"line": 4},
        generate_keymap={"line": 7, "instruction": "return the answer"},
    )
    steps = results["steps"]
    assert steps["inline_keymap"]["line"] == "    return 42"
    assert steps["generate_keymap"]["lines"][7] == "urn 42"  # what the fake writes


@pytest.mark.timeout(90)
def test_neovim_completion_popup_accepts_the_whole_suggestion(tmp_path: Path):
    results = _run(tmp_path, FAKE, ["popup"], timeout=60, popup=POPUP)
    popup = results["steps"]["popup"]
    assert popup["items"], "no completion items in the popup"
    assert popup["items"][0]["label"] == "return 42"
    assert popup["line"] == "    return 42"


# (file, its text, the cursor (line, character) before the closer the editor typed, the
#  scripted answer, the cursor's line once the popup's item is accepted)
POPUP_CLOSERS = {
    "python": ("a.py", "def foo()\n    pass\n", (0, 8), "bar: str):", "def foo(bar: str):"),
    "python-word": ("a.py", "def foo(ba)\n    pass\n", (0, 10), "r: str):",
                    "def foo(bar: str):"),
    "python-crlf": ("a.py", "def greet()\r\n    pass\r\n", (0, 10), "):", "def greet():"),
    "javascript": ("a.js", "xs.filter()\n", (0, 10), "x => x > 0).length;",
                   "xs.filter(x => x > 0).length;"),
    "go": ("a.go", "package main\n\nfunc f() {\n\tfmt.Println()\n}\n", (3, 13), '"hi")',
           '\tfmt.Println("hi")'),
}


@pytest.mark.timeout(90)
@pytest.mark.parametrize("case", sorted(POPUP_CLOSERS))
@pytest.mark.parametrize("asked", ["get", "omnifunc"])
def test_neovim_popup_writes_the_whole_answer_over_the_typed_closer(
    tmp_path: Path, case: str, asked: str
):
    """vim.lsp.completion (and so <C-x><C-o>) inserts at the cursor whatever the edit's range:
    the closer the answer writes goes through the item's additional edit, the rest of the
    answer stays (`def foo(bar: str):`, not `def foo(bar: str)` nor `def foo(bar: str):)`)."""
    name, source, (line, character), answer, expected = POPUP_CLOSERS[case]
    settings = {**FAKE, "fake": {"response": answer, "chunkDelayMs": 1}}
    results = _run(tmp_path, settings, ["popup"], timeout=60, source=source, name=name,
                   popup={"line": line, "character": character, "omnifunc": asked == "omnifunc",
                          "before": source.splitlines()[line]})
    popup = results["steps"]["popup"]
    assert popup["items"] and popup["items"][0]["label"], popup
    assert popup["line"] == expected, popup


# Taken with <CR>, which applies no additional edits: the line keeps the typed closer after
# the answer's text up to it, valid, only without what the answer wrote after the closer.
POPUP_CLOSERS_ENTER = {
    "python-word": "def foo(bar: str)",
    "javascript": "xs.filter(x => x > 0)",
    "go": '\tfmt.Println("hi")',
}


@pytest.mark.timeout(90)
@pytest.mark.parametrize("case", sorted(POPUP_CLOSERS_ENTER))
def test_neovim_popup_taken_with_enter_leaves_no_doubled_closer(tmp_path: Path, case: str):
    """<CR> takes the item without its additional edits: the text at the cursor must stop
    where the answer writes the typed closer (it was `xs.filter(x => x > 0).length;)`)."""
    name, source, (line, character), answer, _ = POPUP_CLOSERS[case]
    settings = {**FAKE, "fake": {"response": answer, "chunkDelayMs": 1}}
    results = _run(tmp_path, settings, ["popup"], timeout=60, source=source, name=name,
                   popup={"line": line, "character": character, "key": "<CR>",
                          "before": source.splitlines()[line]})
    popup = results["steps"]["popup"]
    assert popup["items"] and popup["items"][0]["label"], popup
    assert popup["line"] == POPUP_CLOSERS_ENTER[case], popup


@pytest.mark.model
@pytest.mark.timeout(120)
def test_neovim_with_the_real_model(tmp_path: Path, model_dir: Path):
    results = _run(
        tmp_path,
        MODEL,
        # Inline first, at the end of `    ret`: after the popup accepted, (4, 7) is inside
        # `return …`, where the right answer is none (the rest of the line is there already).
        ["inline", "popup"],
        timeout=110,
        popup=POPUP,
        inline={"line": 4, "character": 7},
    )
    steps = results["steps"]
    popup = steps["popup"]
    assert popup["items"], "the real model gave no completion item"
    label = popup["items"][0]["label"]
    assert label
    assert label.startswith("ret"), label
    assert popup["line"].startswith("    " + label.rstrip("…"))  # the whole suggestion
    inline = steps["inline"]["items"]
    assert inline and inline[0].strip(), "the real model gave no inline completion"


# Everyday editing with the real model (tests/editors/editing_scenarios.py): the suggestion
# accepted into the buffer and saved, then the saved file checked for its structure.
EDITING_MODEL = {"completion": EDITING_COMPLETION}


def _accept(tmp_path: Path, scenario: Scenario) -> tuple[dict[str, Any], bytes]:
    """Neovim accepts the real model's inline completion at the scenario's cursor (the closer
    already in the file) and saves; what the step saw, and the saved bytes."""
    results = _run(
        tmp_path,
        EDITING_MODEL,
        ["accept"],
        timeout=240,
        source=scenario.source,
        name=scenario.name,
        accept={"line": scenario.line, "character": scenario.character},
    )
    return results["steps"]["accept"], (tmp_path / scenario.name).read_bytes()


@pytest.mark.model
@pytest.mark.timeout(270)
@pytest.mark.parametrize("where", sorted(BRACKETS))
def test_neovim_real_model_inside_auto_closed_brackets(tmp_path: Path, model_dir: Path, where: str):
    accepted, saved = _accept(tmp_path, BRACKETS[where])
    print(accepted)
    check_brackets(BRACKETS[where], saved)


@pytest.mark.model
@pytest.mark.timeout(270)
def test_neovim_real_model_in_a_tab_indented_file(tmp_path: Path, model_dir: Path):
    accepted, saved = _accept(tmp_path, TABS)
    print(accepted)
    assert indentation_faults(accepted["insertText"], "\t") == [], accepted
    check_tabs(TABS, saved)


@pytest.mark.model
@pytest.mark.timeout(270)
def test_neovim_real_model_in_a_crlf_file(tmp_path: Path, model_dir: Path):
    accepted, saved = _accept(tmp_path, CRLF)
    print(accepted)
    assert accepted["fileformat"] == "dos"
    inserted = accepted["insertText"]
    assert "\n" in inserted, f"not a multi-line suggestion: {inserted!r}"
    # Neovim turns any line break of an edit into the buffer's own, so the answer itself is
    # checked too: the server writes the document's line ending.
    assert line_break_faults(inserted.encode()) == [], inserted
    check_crlf(CRLF, saved)
