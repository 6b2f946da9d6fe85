"""A client made for Copilot's next edits, unchanged: the messages copilot-lsp (Neovim) sends,
in its order and shapes, and the fields of the answer it reads without checking.

copilot-lsp: on BufEnter ``textDocument/didFocus`` ``{textDocument: {uri}}``; after a change
``textDocument/copilotInlineEdit`` with ``make_position_params`` plus ``textDocument.version``
and no ``context``; it walks ``result.edits`` (so ``edits`` must always be a list), copies
``text`` into ``newText`` and applies ``{range, newText}`` in UTF-16; once shown it sends
``textDocument/didShowInlineEdit`` ``{item: {command: edits[1].command}}``. It never runs the
command nor reports a dismissal.
"""

from __future__ import annotations

from typing import Any

from pytest_lsp import LanguageClient

from loomline.server.methods import (
    COPILOT_INLINE_EDIT_REQUEST,
    DID_FOCUS_NOTIFICATION,
    DID_SHOW_INLINE_EDIT_NOTIFICATION,
)
from loomline.server.next_edit import plain
from tests.e2e.test_next_edit_wire import (
    BEFORE,
    FAKE,
    REWRITTEN,
    ROOT,
    apply,
    rename_parameter,
)
from tests.lsp_client import Session, loomline_client, open_doc, stats

client = loomline_client(Session(options=FAKE, root_uri=ROOT, ready_within_s=30))


async def copilot_lsp_request(client: LanguageClient, uri: str, version: int, line: int,
                              character: int) -> Any:
    """Exactly copilot-lsp's request: position params, the version added, nothing else."""
    params = {"textDocument": {"uri": uri, "version": version},
              "position": {"line": line, "character": character}}
    return plain(await client.protocol.send_request_async(COPILOT_INLINE_EDIT_REQUEST, params))


def check_shape(result: Any) -> list[dict[str, Any]]:
    """The answer has what copilot-lsp reads, with the types it assumes."""
    assert isinstance(result, dict) and isinstance(result["edits"], list), result
    for edit in result["edits"]:
        assert isinstance(edit["text"], str)
        for end in ("start", "end"):
            point = edit["range"][end]
            assert isinstance(point["line"], int) and isinstance(point["character"], int)
        assert isinstance(edit["textDocument"]["uri"], str)
        assert isinstance(edit["textDocument"]["version"], int)
        command = edit["command"]
        assert isinstance(command["title"], str) and isinstance(command["command"], str)
        assert isinstance(command["arguments"], list)
    edits: list[dict[str, Any]] = result["edits"]
    return edits


async def test_copilot_lsp_session(client: LanguageClient) -> None:
    uri = f"{ROOT}/copilot_lsp.py"
    open_doc(client, uri, BEFORE)
    client.protocol.notify(DID_FOCUS_NOTIFICATION, {"textDocument": {"uri": uri}})
    rename_parameter(client, uri)
    edits = check_shape(await copilot_lsp_request(client, uri, 2, 0, 15))
    assert len(edits) == 1
    edit = edits[0]
    assert edit["textDocument"] == {"uri": uri, "version": 2}
    # Applied as copilot-lsp does: newText = text over the range, in UTF-16 columns.
    renamed = BEFORE.replace("(r)", "(radius)")
    assert apply(renamed, {"range": edit["range"], "text": edit["text"]}) == REWRITTEN
    client.protocol.notify(DID_SHOW_INLINE_EDIT_NOTIFICATION,
                           {"item": {"command": edit["command"]}})
    # Nothing to suggest, a stale version, a document never opened: still a list to walk.
    assert check_shape(await copilot_lsp_request(client, uri, 1, 0, 15)) == []
    assert check_shape(await copilot_lsp_request(client, f"{ROOT}/none.py", 1, 0, 0)) == []
    assert (await stats(client))["nextEditSuggestions"] >= 1
