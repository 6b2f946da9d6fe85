"""Vim 9 + ALE in tmux: the completion candidate through ALE's omnifunc, read off the screen."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.editors.conftest import (
    FAKE,
    MODEL,
    find_editor,
    loomline_command,
    project,
    require_path,
)

pytestmark = pytest.mark.editor

SOURCE = """import os


def total(values):
    result = 0
    for value in values:
        result += value
    ret
"""
LINE = 8  # "    ret", 1-based

# The configuration a user writes (README-editors.md), with the paths of this machine.
VIMRC = """
set nocompatible
set runtimepath^=/usr/share/vim-ale
set runtimepath+=/usr/share/vim-ale/after
let g:ale_completion_enabled = 0
let g:ale_lint_on_text_changed = 'never'
filetype plugin on
syntax off
set completeopt=menuone,noinsert
set shortmess+=c
set noswapfile
call ale#linter#Define('python', {{
\\   'name': 'loomline',
\\   'lsp': 'stdio',
\\   'executable': {executable},
\\   'command': {command},
\\   'project_root': {{buffer -> fnamemodify(bufname(buffer), ':p:h')}},
\\   'initialization_options': json_decode({settings}),
\\}})
let g:ale_linters = {{'python': ['loomline']}}
set omnifunc=ale#completion#OmniFunc
"""


class Tmux:
    """A private tmux server (its own socket) running one window."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def run(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "t", *keys)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "t")


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    find_editor("tmux")
    session = Tmux(f"loomline-test-{os.getpid()}-{time.monotonic_ns()}")
    yield session
    subprocess.run(["tmux", "-L", session.socket, "kill-server"], capture_output=True, timeout=10)


def _start_vim(tmux: Tmux, tmp_path: Path, settings: dict[str, Any]) -> None:
    vim = find_editor("vim")
    require_path("/usr/share/vim-ale/autoload/ale.vim", "ALE (vim-ale)")
    root = project(tmp_path, {"demo.py": SOURCE})
    executable, *args = loomline_command()
    vimrc = root / "vimrc"
    vimrc.write_text(
        VIMRC.format(
            executable=json.dumps(executable),
            command=json.dumps(" ".join(["%e", *args])),
            settings=json.dumps(json.dumps(settings)),
        )
    )
    tmux.run(
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "120",
        "-y",
        "30",
        "-c",
        str(root),
        f"{vim} -Nu {vimrc} -i NONE -n demo.py",
    )


def _complete_at_end_of(
    tmux: Tmux, line: int, want: str | None, timeout: float, attempt_s: float
) -> str:
    """Retry <C-x><C-o> at the end of ``line`` (1-based) until a candidate shows, accept it
    (<C-y>) and return the line's text as the screen shows it. While the engine loads the
    server answers with nothing ("Pattern not found"), and before ALE has started the server
    the omnifunc cancels silently, so this retries every ``attempt_s``."""
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        tmux.keys("Escape")
        tmux.keys(f":call cursor({line}, 1)", "Enter")
        tmux.keys("A", "C-x", "C-o")
        attempt_end = min(deadline, time.monotonic() + attempt_s)
        while time.monotonic() < attempt_end:
            time.sleep(0.25)
            screen = tmux.screen()
            if "Pattern not found" in screen or "Back at original" in screen:
                break
            popup = [ln for ln in screen.split("\n")[line : line + 3] if ln.strip()]
            if popup and (want is None or any(want in ln for ln in popup)):
                tmux.keys("C-y")
                tmux.keys("Escape")
                time.sleep(0.5)
                return tmux.screen().split("\n")[line - 1]
        time.sleep(1.0)
    raise AssertionError(f"no completion candidate showed in time; the screen:\n{screen}")


@pytest.mark.timeout(90)
def test_vim_ale_omnifunc_shows_and_inserts_the_candidate(tmux: Tmux, tmp_path: Path):
    _start_vim(tmux, tmp_path, FAKE)
    line = _complete_at_end_of(tmux, LINE, want="return 42", timeout=30, attempt_s=3)
    assert line.rstrip() == "    return 42"


@pytest.mark.model
@pytest.mark.timeout(120)
def test_vim_ale_with_the_real_model(tmux: Tmux, tmp_path: Path, model_dir: Path):
    _start_vim(tmux, tmp_path, MODEL)
    line = _complete_at_end_of(
        tmux, LINE, want="ret", timeout=100, attempt_s=30
    )  # a real model on a busy CPU
    assert line.startswith("    ret") and len(line.rstrip()) > len("    ret")
