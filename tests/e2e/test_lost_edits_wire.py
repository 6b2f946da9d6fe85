"""Lost edits over the wire: a didChange the server cannot apply (a reversed range, line or
character -1, a line past the end) is reported, never guessed at: one warning for the user,
the document out of sync (``loomline.documentText``: ``inSync`` false), no completion for it
until a whole-text change brings it back."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_lsp_wire import Server, frame, inline, payload, server, start

__all__ = ["server"]  # the fixture

URI = "file:///tmp/w.py"


def did_change(version: int, *changes: dict[str, Any]) -> bytes:
    return frame(payload(None, "textDocument/didChange", {
        "textDocument": {"uri": URI, "version": version}, "contentChanges": list(changes)}))


def edit(start: tuple[int, int], end: tuple[int, int], text: str) -> dict[str, Any]:
    return {"range": {"start": {"line": start[0], "character": start[1]},
                      "end": {"line": end[0], "character": end[1]}}, "text": text}


def document_text(server: Server, msg_id: int) -> dict[str, Any]:
    server.send(frame(payload(msg_id, "workspace/executeCommand", {
        "command": "loomline.documentText", "arguments": [{"textDocument": {"uri": URI}}]})))
    result: dict[str, Any] = server.answer(msg_id)["result"]
    return result


def warnings(server: Server) -> list[str]:
    """The lost-edit warnings the user was shown."""
    return [m["params"]["message"] for m in list(server.other)
            if m.get("method") == "window/showMessage" and m["params"]["type"] == 2
            and "an edit to w.py could not be applied" in m["params"]["message"]]


CASES = {
    "reversed": edit((1, 4), (1, 0), "X"),
    "start line -1": edit((-1, 0), (0, 0), "X"),
    "start character -1": edit((0, -1), (0, 0), "X"),
    "end line -1": edit((0, 0), (-1, 0), "X"),
    "end character -1": edit((0, 0), (0, -1), "X"),
    "a line past the end": edit((9, 0), (9, 0), "X"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_lost_edit_is_reported_and_a_whole_text_resyncs(server: Server, case: str) -> None:
    start(server)  # opens "def f():\n    " at version 1
    server.send(did_change(2, CASES[case]))
    shown = document_text(server, 10)
    assert shown["text"] == "def f():\n    " and shown["inSync"] is False
    told = warnings(server)  # sent before the answer above
    assert len(told) == 1 and "w.py" in told[0] and "out of sync" in told[0], told
    # No completion for a text the server does not have (the answer says so, at once).
    server.send(frame(inline(11)))
    assert server.answer(11)["result"] == {"items": []}
    # Nor code from an instruction: its positions would not be the editor's.
    server.send(frame(payload(14, "workspace/executeCommand", {
        "command": "loomline.generate", "arguments": [{
            "textDocument": {"uri": URI}, "instruction": "add", "position": {
                "line": 1, "character": 4}}]})))
    generated = server.answer(14)["result"]
    assert generated["applied"] is False and "out of sync" in generated["error"]
    server.send(did_change(3, {"text": "def g():\n    "}))
    shown = document_text(server, 12)
    assert shown["text"] == "def g():\n    " and shown["inSync"] is True
    server.send(frame(inline(13)))
    assert server.answer(13)["result"]["items"], "no completion after the resync"
    assert len(warnings(server)) == 1
