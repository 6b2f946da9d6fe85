"""Real editors, headless, against ``loomline lsp``: Neovim 0.11, Emacs 28 + eglot, Vim 9 + ALE.

Each test writes a small project into a temporary directory, starts the editor with a script
and a timeout, and reads back what the editor saw (a JSON file, or the tmux screen).
A missing editor skips the test on a developer's machine and fails it in CI ($CI set):
``.ci/setup.d/30-editors.sh`` installs them all.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
FAKE = {"backend": "fake", "fake": {"response": "urn 42", "chunkDelayMs": 1}}
GENERATED = "```python\ndef add(a, b):\n    return a + b\n```"
# The real model, kept quick: few tokens, and no context engine work. The deadlines leave
# room for a busy 2-core machine (a CI run beside other jobs took over 10 s to answer): these
# tests check what the editors do with an answer, not how fast it comes.
MODEL = {"completion": {"maxTokens": 24, "singleLineMaxTokens": 24,
                        "deadlineMs": 120_000, "explicitDeadlineMs": 180_000}}
# The file the scripted editors (Neovim, Emacs) open: a word to complete on line 4 (0-based),
# a comment to generate from on line 6.
SCRIPTED_SOURCE = """import os


def answer():
    ret

# TODO: add two numbers a and b


def main():
    print(answer())
"""


def loomline_command() -> list[str]:
    """``loomline lsp`` from the environment the tests run in (the repository's .venv);
    $LOOMLINE_EDITOR_SERVER (a command line) overrides it."""
    override = os.environ.get("LOOMLINE_EDITOR_SERVER")
    if override:
        return shlex.split(override)
    script = Path(sys.executable).parent / "loomline"
    if script.exists():
        return [str(script), "lsp"]
    found = shutil.which("loomline")
    return [found, "lsp"] if found else [sys.executable, "-m", "loomline.server.cli", "lsp"]


def find_editor(name: str) -> str:
    """The editor's binary; skips without it, unless in CI, where it fails."""
    candidates = [Path(sys.executable).parent / name] if name == "nvim" else []
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed (run .ci/setup.d/30-editors.sh)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def require_path(path: str, what: str) -> None:
    if not Path(path).exists():
        message = f"{what} is not installed at {path} (run .ci/setup.d/30-editors.sh)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    """A small project (with a .git marker, the root editors look for)."""
    (tmp_path / ".git").mkdir(exist_ok=True)
    for name, text in files.items():
        (tmp_path / name).write_bytes(text.encode("utf-8"))  # no newline translation
    return tmp_path


def run_editor(
    command: list[str],
    cwd: Path,
    env: dict[str, str],
    timeout: float,
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **env, "LOOMLINE_CACHE": os.environ.get("LOOMLINE_CACHE", "")}
    if not full_env["LOOMLINE_CACHE"]:
        del full_env["LOOMLINE_CACHE"]
    try:
        return subprocess.run(
            command,
            cwd=cwd,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as error:
        out = (error.stdout or b"").decode() if isinstance(error.stdout, bytes) else error.stdout
        err = (error.stderr or b"").decode() if isinstance(error.stderr, bytes) else error.stderr
        pytest.fail(f"{command[0]} timed out after {timeout}s\nstdout:\n{out}\nstderr:\n{err}")


def read_results(path: Path, proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    if not path.exists():
        pytest.fail(
            f"the editor wrote no results (exit {proc.returncode})\n"
            f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
        )
    results: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if results.get("error"):
        pytest.fail(
            f"editor script failed: {results['error']}\nresults: {results}\n"
            f"stderr:\n{proc.stderr[-4000:]}"
        )
    return results


def run_scripted_editor(
    editor: list[str],
    tmp_path: Path,
    settings: dict[str, Any],
    steps: list[str],
    timeout: float,
    *,
    spec_in_file: bool = False,
    source: str = SCRIPTED_SOURCE,
    name: str = "demo.py",
    **extra: Any,
) -> dict[str, Any]:
    """Run an editor that follows a script (nvim_test.lua, emacs_test.el) on ``name``
    (``source``, default ``demo.py`` with SCRIPTED_SOURCE) in a new project; what it wrote to
    its results file. ``source`` is written byte for byte (tabs, CRLF kept).

    The script reads its spec (the server command, ``settings``, ``steps`` and their
    ``extra`` arguments) from $LOOMLINE_SPEC, or with ``spec_in_file`` from the file named
    by $LOOMLINE_SPEC_FILE; it has ``timeout`` less 5 s before it must write its results."""
    root = project(tmp_path, {name: source})
    out = tmp_path / "results.json"
    spec = {
        "server": loomline_command(),
        "settings": settings,
        "file": str(root / name),
        "out": str(out),
        "steps": steps,
        "timeout_ms": int(timeout * 1000) - 5000,
        **extra,
    }
    if spec_in_file:
        spec_file = tmp_path / "spec.json"
        spec_file.write_text(json.dumps(spec))
        env = {"LOOMLINE_SPEC_FILE": str(spec_file)}
    else:
        env = {"LOOMLINE_SPEC": json.dumps(spec)}
    proc = run_editor(editor, cwd=root, env=env, timeout=timeout)
    return read_results(out, proc)


def run_nvim(
    script: str,
    tmp_path: Path,
    settings: dict[str, Any],
    steps: list[str],
    timeout: float,
    **extra: Any,
) -> dict[str, Any]:
    """``run_scripted_editor`` for Neovim 0.11 (``nvim --headless --clean -n -l``) running
    ``script`` (a file beside this one, e.g. ``nvim_test.lua``) with the user's configuration
    ``nvim_config.lua``."""
    nvim = find_editor("nvim")
    return run_scripted_editor(
        [nvim, "--headless", "--clean", "-n", "-l", str(HERE / script)],
        tmp_path,
        settings,
        steps,
        timeout,
        config=str(HERE / "nvim_config.lua"),
        **extra,
    )
