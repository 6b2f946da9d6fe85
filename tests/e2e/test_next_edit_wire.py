"""Next edit suggestions over stdio, with the scripted engine answering a rewritten window:
Copilot's ``textDocument/copilotInlineEdit`` as its clients send it, superseding, the inline
completion item, ``loomline.showContext`` and the notifications those clients send."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pytest_lsp import LanguageClient

from loomline.server.methods import (
    COPILOT_INLINE_EDIT_REQUEST,
    DID_FOCUS_NOTIFICATION,
    DID_SHOW_INLINE_EDIT_NOTIFICATION,
)
from loomline.server.next_edit import plain  # pygls hands unknown shapes over as namedtuples
from tests.lsp_client import (
    Session,
    inline,
    loomline_client,
    open_doc,
    show_context,
    stats,
    wait_ready,
)
from tests.waiting import eventually

ROOT = "file:///tmp/loomline-nes"
BEFORE = 'def area(r):\n    return "area: " + str(3.14 * r * r)\n\n\nprint(area(2))\n'
# The window the scripted engine writes back: the parameter's uses renamed.
REWRITTEN = (
    'def area(radius):\n    return "area: " + str(3.14 * radius * radius)\n\n\nprint(area(2))\n'
)
FAKE = {
    "backend": "fake",
    # The qwen-chat format's answer: the window's lines, then the code fence's end.
    "fake": {"response": REWRITTEN + "\n```", "chunkDelayMs": 10},
    "nextEdit": {"debounceMs": 0},
}

client = loomline_client(Session(options=FAKE, root_uri=ROOT, ready_within_s=30))


async def inline_edit(
    client: LanguageClient, uri: str, version: int, line: int, character: int, **extra: Any
) -> dict[str, Any]:
    params = {"textDocument": {"uri": uri, "version": version},
              "position": {"line": line, "character": character}, **extra}
    result = await client.protocol.send_request_async(COPILOT_INLINE_EDIT_REQUEST, params)
    found: dict[str, Any] = plain(result)
    return found


def rename_parameter(client: LanguageClient, uri: str) -> None:
    """The user renames ``r`` to ``radius`` in the function's header (version 2)."""
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(line=0, character=9),
                                      end=types.Position(line=0, character=10)),
                    text="radius",
                )
            ],
        )
    )


def apply(text: str, edit: dict[str, Any]) -> str:
    lines = text.split("\n")
    start, end = edit["range"]["start"], edit["range"]["end"]
    head = sum(len(line) + 1 for line in lines[: start["line"]]) + start["character"]
    tail = sum(len(line) + 1 for line in lines[: end["line"]]) + end["character"]
    return text[:head] + edit["text"] + text[tail:]


async def test_copilot_inline_edit_renames_the_next_uses(client: LanguageClient) -> None:
    uri = f"{ROOT}/area.py"
    open_doc(client, uri, BEFORE)
    rename_parameter(client, uri)
    result = await inline_edit(client, uri, 2, 0, 15, context={"triggerKind": 2})
    assert len(result["edits"]) == 1
    edit = result["edits"][0]
    assert edit["textDocument"] == {"uri": uri, "version": 2}
    assert edit["range"]["start"]["line"] == edit["range"]["end"]["line"] == 1
    assert edit["command"]["command"] == "loomline.accept"
    renamed = BEFORE.replace("(r)", "(radius)")
    assert apply(renamed, edit) == REWRITTEN
    counters = await stats(client)
    assert counters["nextEditSuggestions"] == 1


@pytest.mark.parametrize(("line", "character"), [(0, 99), (40, 0)],
                         ids=["past-the-line-end", "past-the-last-line"])
async def test_copilot_inline_edit_past_the_end_is_asked_at_the_end(
    client: LanguageClient, line: int, character: int
) -> None:
    """A character past its line's end means the line's end, a line past the last the end of
    the text (LSP): answered as there, not refused as outside the document."""
    uri = f"{ROOT}/past-end-{line}.py"
    open_doc(client, uri, BEFORE)
    rename_parameter(client, uri)
    result = await inline_edit(client, uri, 2, line, character, context={"triggerKind": 2})
    assert len(result["edits"]) == 1
    assert apply(BEFORE.replace("(r)", "(radius)"), result["edits"][0]) == REWRITTEN


async def test_stale_or_unknown_requests_get_no_edits_malformed_ones_an_error(
    client: LanguageClient,
) -> None:
    uri = f"{ROOT}/stale.py"
    open_doc(client, uri, BEFORE)
    rename_parameter(client, uri)
    assert await inline_edit(client, uri, 1, 0, 15) == {"edits": []}  # an older version
    assert await inline_edit(client, f"{ROOT}/nowhere.py", 1, 0, 0) == {"edits": []}
    # Malformed params are Invalid params (-32602) naming the field, as for the LSP's requests.
    with pytest.raises(JsonRpcInvalidParams, match="position"):
        await client.protocol.send_request_async(
            COPILOT_INLINE_EDIT_REQUEST, {"textDocument": {"uri": uri}, "position": "here"}
        )


async def test_a_newer_request_supersedes_the_running_one(client: LanguageClient) -> None:
    uri = f"{ROOT}/twice.py"
    open_doc(client, uri, BEFORE)
    rename_parameter(client, uri)
    first, second = await asyncio.gather(
        inline_edit(client, uri, 2, 0, 15), inline_edit(client, uri, 2, 0, 16)
    )
    assert first == {"edits": []}
    assert len(second["edits"]) == 1


async def test_the_edit_on_the_cursor_line_is_an_inline_completion_item(
    client: LanguageClient,
) -> None:
    uri = f"{ROOT}/inline.py"
    open_doc(client, uri, BEFORE)
    rename_parameter(client, uri)
    # Inside the string: no completion there, so the next edit answers.
    result = await inline(client, uri, 1, 14)
    assert result is not None and len(result.items) == 1
    item = result.items[0]
    assert item.range is not None
    # The range takes in the cursor and the edit; the text replaces it to the same effect.
    assert item.range.start == types.Position(line=1, character=14)
    renamed = BEFORE.replace("(r)", "(radius)")
    edit = {"range": {"start": {"line": 1, "character": 14},
                      "end": {"line": item.range.end.line,
                              "character": item.range.end.character}},
            "text": item.insert_text}
    assert apply(renamed, edit) == REWRITTEN


async def test_show_context_has_the_next_edit_prompt(client: LanguageClient) -> None:
    uri = f"{ROOT}/context.py"
    open_doc(client, uri, BEFORE)
    rename_parameter(client, uri)
    result = plain(await show_context(client, uri, 0, 15))
    next_edit = result["nextEdit"]
    assert next_edit["format"] == "qwen-chat"
    assert next_edit["window"] == {"startLine": 0, "endLine": 6}
    assert "-def area(r):\n+def area(radius):" in next_edit["prompt"]
    assert "def area(radius<|cursor|>):" in next_edit["prompt"]
    assert "The last edit renamed `r` to `radius`.\n" in next_edit["prompt"]


async def test_the_clients_notifications_are_taken(client: LanguageClient) -> None:
    client.protocol.notify(DID_FOCUS_NOTIFICATION, {"textDocument": {"uri": f"{ROOT}/a.py"}})
    client.protocol.notify(
        DID_SHOW_INLINE_EDIT_NOTIFICATION,
        {"item": {"command": {"title": "t", "command": "loomline.accept", "arguments": ["n1"]}}},
    )
    # Still answering, and nothing went wrong on the way.
    assert (await stats(client))["engine"] == "fake"


async def test_a_cancelled_request_stops_the_model(client: LanguageClient) -> None:
    since = len(client.statuses)  # type: ignore[attr-defined]
    slow = {**FAKE, "fake": {"response": REWRITTEN + "\n```", "chunkDelayMs": 5000}}
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"loomline": slow})
    )
    await wait_ready(client, 30, since)  # type: ignore[arg-type]
    uri = f"{ROOT}/cancel.py"
    open_doc(client, uri, BEFORE)
    rename_parameter(client, uri)
    params = {"textDocument": {"uri": uri, "version": 2},
              "position": {"line": 0, "character": 15}, "context": {"triggerKind": 1}}
    future = asyncio.ensure_future(client.protocol.send_request_async(
        COPILOT_INLINE_EDIT_REQUEST, params, msg_id="next-edit-to-cancel"))
    await eventually(lambda: stats(client), lambda s: s["nextEditRequests"] == 1,
                     what="the request under way")
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="next-edit-to-cancel"))
    with pytest.raises(Exception, match="cancel"):
        await asyncio.wait_for(future, 10)
    counters = await eventually(lambda: stats(client), lambda s: s["nextEditCancelled"] == 1,
                                what="the cancellation counted")
    assert counters["nextEditSuggestions"] == 0


NUMBERED = [f"v{n} = {n}" for n in range(60)]
NUMBERED[30:32] = ["def f(r):", "    return r"]


@pytest.mark.parametrize(
    "shape",
    ["cut short", "run on past the window", "first lines left out"],
)
async def test_an_answer_that_misses_part_of_the_window_deletes_none_of_it(
    client: LanguageClient, shape: str
) -> None:
    # A fresh tester's cases: each deleted window lines (or added the file's next ones).
    uri = f"{ROOT}/numbered-{shape.replace(' ', '-')}.py"
    text = "\n".join(NUMBERED) + "\n"
    open_doc(client, uri, text)
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(line=30, character=6),
                              end=types.Position(line=30, character=7)),
            text="rad")]))
    renamed = text.replace("def f(r):", "def f(rad):")
    window = plain(await show_context(client, uri, 30, 9))["nextEdit"]["window"]
    lines = renamed.split("\n")
    fixed = [line.replace("return r", "return rad")
             for line in lines[window["startLine"]:window["endLine"]]]
    answer = {
        "cut short": "\n".join(fixed[:12]),  # no end marker
        "run on past the window": "\n".join(fixed + lines[window["endLine"]:][:5]) + "\n```",
        "first lines left out": "\n".join(fixed[5:]) + "\n```",
    }[shape]
    since = len(client.statuses)  # type: ignore[attr-defined]
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"loomline": {**FAKE, "fake": {"response": answer, "chunkDelayMs": 1}}}))
    await wait_ready(client, 30, since)  # type: ignore[arg-type]
    result = await inline_edit(client, uri, 2, 30, 9)
    assert len(result["edits"]) == 1
    assert apply(renamed, result["edits"][0]) == renamed.replace("return r\n", "return rad\n")


async def test_a_suggestion_that_takes_back_part_of_what_was_typed_is_not_offered(
    client: LanguageClient,
) -> None:
    # A fresh tester's case: after `r` -> `radius`, the model's `rad` was offered.
    uri = f"{ROOT}/typed.py"
    since = len(client.statuses)  # type: ignore[attr-defined]
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={
        "loomline": {**FAKE, "fake": {"response": "def f(rad):\n    return rad\n\n```",
                                      "chunkDelayMs": 1}}}))
    await wait_ready(client, 30, since)  # type: ignore[arg-type]
    open_doc(client, uri, "def f(r):\n    return r\n")
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(line=0, character=6),
                              end=types.Position(line=0, character=7)),
            text="radius")]))
    result = await inline_edit(client, uri, 2, 0, 12)
    typed = "def f(radius):\n    return r\n"
    # What is offered (the rename heuristic's next use, if anything) keeps what was typed.
    assert all(apply(typed, edit).startswith("def f(radius):\n") for edit in result["edits"])
