"""VS Code next edit suggestions end to end: the packaged extension in code-server, the real
server. A parameter renamed by typing shows the next edit as decorations (its new text after
the replaced one, struck through; a status bar hint), Tab jumps there, Tab applies it and the
saved file is the expected one; Ctrl+Z brings the suggestion back and Escape dismisses it.
The fake backend (scripted: the rewritten window) always; the real 0.5B under ``model``.

Inline suggestions are off in these runs: they check the decoration path (an edit away from
the cursor); the ghost-text path of an edit on the cursor's line is the inline completion's.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.editors.editing_scenarios import (
    NEXT_EDIT_FAKE_ANSWER,
    NEXT_EDIT_MODEL_SOURCE,
    NEXT_EDIT_REWRITTEN,
    NEXT_EDIT_SOURCE,
)
from tests.vscode.test_vscode_e2e import (
    ARTIFACTS,
    EXPECTED_STEPS,
    _run_driver,
    _server_command,
    code_server,  # noqa: F401 (the fixture)
)

pytestmark = [pytest.mark.editor]

RENAME = {"name": "area.py", "text": NEXT_EDIT_SOURCE, "line": 0, "character": 9, "old": "r",
          "new": "radius", "preview": "radius * radius"}
NO_GHOST_TEXT = {"editor.inlineSuggest.enabled": False}


def _run(launcher: Path, artifacts: Path, backend: str, spec: dict[str, Any],
         settings: dict[str, Any], server_settings: dict[str, Any] | None = None,
         ) -> dict[str, Any]:
    # The scripted engine's answer cannot come from VS Code's settings: a launcher lays it
    # over the extension's (tests/vscode/scripted_server.py).
    command = ([sys.executable, str(Path(__file__).with_name("scripted_server.py"))]
               if server_settings else _server_command())
    return _run_driver(
        launcher,
        artifacts,
        {
            "LOOMLINE_TEST_SETTINGS": json.dumps(server_settings or {}),
            "LOOMLINE_SERVER_COMMAND": json.dumps(command),
            "LOOMLINE_E2E_BACKEND": backend,
            "LOOMLINE_E2E_NEXT_EDIT": json.dumps(spec),
            "LOOMLINE_E2E_SETTINGS": json.dumps({**NO_GHOST_TEXT, **settings}),
        },
    )


def test_vscode_next_edit_with_fake_backend(code_server: Path) -> None:  # noqa: F811
    # The scripted engine answers every request with the rewritten window (the whole file).
    fake = {"fake": {"response": NEXT_EDIT_FAKE_ANSWER, "chunkDelayMs": 1}}
    spec = {**RENAME, "expected": NEXT_EDIT_REWRITTEN, "dismiss": True}
    result = _run(code_server, ARTIFACTS.parent / "vscode-next-edit", "fake", spec, {}, fake)
    names = [s["name"] for s in result["steps"] if s["ok"]]
    assert names == [*EXPECTED_STEPS[:5], "next edit: shown, Tab jumps, Tab accepts",
                     "next edit events reach the server"], names
    seen = result["nextEdit"]
    assert seen["after"].startswith("radius * radius"), seen
    assert "".join(seen["struck"]) == "r * r", seen  # grown to whole words, struck through
    assert seen["jumpedTo"] == 2
    assert seen["saved"] == NEXT_EDIT_REWRITTEN
    assert seen["dismissed"] is True
    events = seen["events"]
    kinds = [e["type"] for e in events]
    # Shown, accepted (its command), shown again after the undo, dismissed with Escape.
    assert kinds == ["shown", "accept", "shown", "dismiss"], events
    assert events[0]["completionId"] == events[1]["completionId"]
    assert events[2]["completionId"] == events[3]["completionId"] != events[0]["completionId"]
    assert all(e["completionId"].startswith("n") for e in events), events


# A rename the 0.5B gets with the server's prompt in process and in Neovim (the area case of
# tests/bench/bench_next_edit_renames.py: both uses renamed). Typed in VS Code the model's own
# answer has so far been dropped and the server's fallback renamed the next use only, so this
# checks what the issue asks: the next use renamed, accepted with Tab, the file still parses.
@pytest.mark.model
def test_vscode_next_edit_with_the_real_model(code_server: Path, model_dir: Path) -> None:  # noqa: F811
    spec = {"name": "area.py", "text": NEXT_EDIT_MODEL_SOURCE, "line": 0, "character": 9,
            "old": "r", "new": "radius", "preview": "radius", "dismiss": False}
    deadlines = {"loomline.completion.deadlineMs": 240_000,
                 "loomline.nextEdit.deadlineMs": 240_000,
                 "loomline.completion.explicitDeadlineMs": 240_000}
    result = _run(code_server, ARTIFACTS.parent / "vscode-next-edit-model", "embedded", spec,
                  deadlines)
    saved = result["nextEdit"]["saved"]
    assert result["nextEdit"]["jumpedTo"] == 2
    assert saved.split("\n")[1].startswith("    return 3.14 * radius"), saved
    compile(saved, "area.py", "exec")
