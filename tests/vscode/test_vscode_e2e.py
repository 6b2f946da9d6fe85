"""VS Code end to end: the packaged extension in a real VS Code (code-server 4.139.1), driven by
Chromium through playwright-core, talking to the real server: with the embedded model, and
with the server's fake backend (scripted answers, no model).

The driver is editor-extension/test/e2e/run.mjs; this wrapper builds or finds the .vsix, runs
it with a time limit and checks that every step passed. Screenshots and logs land in
$LOOMLINE_ARTIFACTS (default .artifacts/vscode/). Installed by .ci/setup.d/50-code-server.sh.
Skipped only where code-server is missing and CI is unset; in CI a missing install fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
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

EXT = REPO / "editor-extension"
CACHE = Path(os.environ.get("LOOMLINE_CI_CACHE", Path.home() / ".cache" / "loomline-ci"))
ARTIFACTS = Path(os.environ.get("LOOMLINE_ARTIFACTS", REPO / ".artifacts" / "vscode"))
DRIVER_TIMEOUT_S = int(os.environ.get("LOOMLINE_VSCODE_E2E_TIMEOUT_S", "900"))
EXPECTED_STEPS = [
    "install the .vsix",
    "start code-server",
    "open the workbench",
    "open the file from the Explorer",
    "wait for the status bar to say ready",
    "ghost text in the empty function body",
    "Tab accepts; saved file contains the completion",
    "Generate Code from Instruction inserts code",
    "Show Completion Context opens a readable tab",
    "disable and re-enable completions for Python",
    "Select Model / Backend switches the backend live",
    "Restart Server",
    "the status bar still says ready",
    "Cancel stops a generation",
]

pytestmark = [pytest.mark.editor]


def _code_server() -> Path | None:
    explicit = os.environ.get("LOOMLINE_CODE_SERVER")
    if explicit:
        return Path(explicit) if Path(explicit).exists() else None
    if (CACHE / "code-server").exists():
        return CACHE / "code-server"
    found = shutil.which("code-server")
    return Path(found) if found else None


def _node() -> str:
    found = shutil.which("node") or str(CACHE / "node")
    assert Path(found).exists(), "node not found (run .ci/setup.d/50-code-server.sh)"
    return found


def _server_command() -> list[str]:
    venv_bin = REPO / ".venv" / "bin" / "loomline"
    if venv_bin.exists():
        return [str(venv_bin), "lsp"]
    return [sys.executable, "-m", "loomline.server.cli", "lsp"]


def _vsix_is_stale(vsix: Path) -> bool:
    if not vsix.exists():
        return True
    built = vsix.stat().st_mtime
    sources = [EXT / "package.json", EXT / "package-lock.json", *(EXT / "src").rglob("*.ts")]
    return any(p.stat().st_mtime > built for p in sources)


def _vsix() -> Path:
    vsix = Path(os.environ.get("LOOMLINE_VSIX", EXT / "loomline.vsix"))
    if os.environ.get("LOOMLINE_VSIX") or not _vsix_is_stale(vsix):
        return vsix
    npm = shutil.which("npm")
    assert npm, "npm not found: cannot build the extension"
    if not (EXT / "node_modules").exists():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=EXT,
            check=True,
            env={**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"},
            timeout=600,
        )
    subprocess.run([npm, "run", "package"], cwd=EXT, check=True, timeout=300)
    return vsix


@pytest.fixture(scope="module")
def code_server() -> Path:
    path = _code_server()
    if path is None:
        message = "code-server is not installed: run .ci/setup.d/50-code-server.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def _run_driver(code_server: Path, artifacts: Path, extra: dict[str, str]) -> dict[str, Any]:
    """Runs run.mjs; returns its result.json after checking it passed."""
    # No skipped steps and no mock unless asked (only the time limit may be tuned from outside).
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LOOMLINE_E2E_") or k == "LOOMLINE_E2E_TIMEOUT_S"
    }
    env.update(
        {
            "LOOMLINE_CODE_SERVER": str(code_server),
            "LOOMLINE_VSIX": str(_vsix()),
            "LOOMLINE_ARTIFACTS": str(artifacts),
            **extra,
        }
    )
    start = time.monotonic()
    try:
        proc = subprocess.run(
            [_node(), str(EXT / "test" / "e2e" / "run.mjs")],
            cwd=EXT,
            env=env,
            capture_output=True,
            text=True,
            timeout=DRIVER_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        pytest.fail(
            f"the e2e driver ran past {DRIVER_TIMEOUT_S} s; artifacts in {artifacts}\n{out}"
        )
    elapsed = time.monotonic() - start
    output = proc.stdout + proc.stderr
    print(output)
    print(f"VS Code e2e: {elapsed:.1f} s; screenshots in {artifacts}")
    assert proc.returncode == 0, f"VS Code e2e failed (artifacts in {artifacts}):\n{output}"
    assert "E2E PASSED" in output, output
    result: dict[str, Any] = json.loads((artifacts / "result.json").read_text())
    assert result["passed"] is True
    return result


@pytest.mark.model
def test_vscode_inline_completion_generate_and_status(code_server: Path, model_dir: Path) -> None:
    """The real server and model: ghost text appears, Tab accepts and saves; Generate inserts
    code; context, enable/disable, model switch, restart and cancel work; status says ready."""
    result = _run_driver(
        code_server,
        ARTIFACTS,
        {
            "LOOMLINE_SERVER_COMMAND": json.dumps(_server_command()),
            "LOOMLINE_E2E_BACKEND": "embedded",
        },
    )
    assert result["backend"] == "embedded"
    assert [s["name"] for s in result["steps"] if s["ok"]] == EXPECTED_STEPS
    assert result["status"].startswith("Loomline ready"), result["status"]
    assert "(embedded)" in result["status"], result["status"]
    assert result["accepted"].strip() and result["generated"].strip()
    for shot in ("03-status-ready", "04-ghost-text", "05-accepted", "08-generated", "12-final"):
        assert (ARTIFACTS / f"{shot}.png").stat().st_size > 10_000, shot


def test_vscode_events_with_fake_backend(code_server: Path) -> None:
    """The same flow against the real server with its fake backend (no model, ~30 s; the model
    switch goes to an unreachable vLLM server and back), which also checks that accept,
    dismiss and partial-accept (Accept Next Word, then Escape) reach the server."""
    result = _run_driver(
        code_server,
        ARTIFACTS.parent / "vscode-fake",
        {
            "LOOMLINE_SERVER_COMMAND": json.dumps(_server_command()),
            "LOOMLINE_E2E_BACKEND": "fake",
        },
    )
    assert result["backend"] == "fake"
    names = [s["name"] for s in result["steps"] if s["ok"]]
    assert names == [
        *EXPECTED_STEPS[:-1],
        "partial accept and dismiss reach the server",
        EXPECTED_STEPS[-1],
    ], names
    assert result["status"].startswith("Loomline ready"), result["status"]
    assert "(fake)" in result["status"], result["status"]
    assert result["accepted"].strip() and result["generated"].strip()


# Everyday editing with the real model (tests/editors/editing_scenarios.py, the same files as
# the Neovim tests): "(" typed and auto-closed by VS Code in a call and in a def, a tab file and
# a CRLF file; the ghost text accepted with Tab and the saved file judged.
EDITING = [BRACKETS["call"], BRACKETS["def"], TABS, CRLF]
# The settings the extension has (it declares no singleLineMaxTokens).
EDITING_SETTINGS = {
    f"loomline.completion.{key}": EDITING_COMPLETION[key]
    for key in ("maxTokens", "deadlineMs", "explicitDeadlineMs")
}


def _editing_spec(scenario: Scenario) -> dict[str, Any]:
    """A scenario as run.mjs takes it (LOOMLINE_E2E_EDITING): where the editor auto-closes,
    the file lacks the pair and the opener is typed."""
    typed = bool(scenario.closer)
    return {
        "name": scenario.name,
        "text": scenario.untyped_source if typed else scenario.source,
        "line": scenario.line,
        "beforeEnd": scenario.before_end,
        "type": scenario.closer[:1],
        "typed": scenario.source if typed else None,
    }


def _ghost_lines_faults(ghost: str, saved: str) -> list[str]:
    """The shown lines of a multi-line ghost text that the saved file lacks (as whole lines)."""
    lines = {line.strip() for line in saved.splitlines()}
    return [line for line in (g.strip() for g in ghost.split("\n")) if line and line not in lines]


@pytest.mark.model
def test_vscode_real_model_auto_closed_brackets_tabs_and_crlf(
    code_server: Path, model_dir: Path
) -> None:
    """The real model in VS Code: an auto-closed "(" (no doubled closer, the file parses), a
    tab-indented file (tabs only, compiles) and a CRLF file (CRLF only), each accepted with Tab
    and saved."""
    result = _run_driver(
        code_server,
        ARTIFACTS.parent / "vscode-editing",
        {
            "LOOMLINE_SERVER_COMMAND": json.dumps(_server_command()),
            "LOOMLINE_E2E_BACKEND": "embedded",
            "LOOMLINE_E2E_EDITING": json.dumps([_editing_spec(s) for s in EDITING]),
            "LOOMLINE_E2E_SETTINGS": json.dumps(EDITING_SETTINGS),
        },
    )
    names = [s["name"] for s in result["steps"] if s["ok"]]
    assert names == [*EXPECTED_STEPS[:5], *(f"accept in {s.name}" for s in EDITING)], names
    accepted = {e["name"]: e for e in result["editing"]}
    faults: dict[str, str] = {}
    for scenario, check in [
        (BRACKETS["call"], check_brackets),
        (BRACKETS["def"], check_brackets),
        (TABS, check_tabs),
        (CRLF, check_crlf),
    ]:
        saved = accepted[scenario.name]["saved"]
        try:
            check(scenario, saved.encode())
        except (AssertionError, SyntaxError) as error:
            faults[scenario.name] = f"{error!r}\nghost: {accepted[scenario.name]['ghost']!r}"
    for scenario in (TABS, CRLF):  # the ghost text's lines, each a whole line of the file
        entry = accepted[scenario.name]
        missing = _ghost_lines_faults(entry["ghost"], entry["saved"])
        if missing:
            faults[f"{scenario.name} (ghost lines)"] = f"not saved: {missing}"
    assert not faults, faults
