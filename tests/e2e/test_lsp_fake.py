"""The server over stdio with the scripted engine: protocol behaviour, fast."""

from __future__ import annotations

import asyncio
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp_client import (
    LoomlineClient,
    Session,
    inline,
    loomline_client,
    open_doc,
    show_context,
    stats,
)
from tests.waiting import eventually

FAKE = {"backend": "fake", "fake": {"response": "return 42", "chunkDelayMs": 20}}

client = loomline_client(
    Session(
        options=FAKE,
        root_uri="file:///tmp/loomline-test",
        capabilities=types.ClientCapabilities(
            window=types.WindowClientCapabilities(work_done_progress=True),
            general=types.GeneralClientCapabilities(
                position_encodings=[
                    types.PositionEncodingKind.Utf8,
                    types.PositionEncodingKind.Utf16,
                ]
            ),
        ),
    )
)


async def test_capabilities_advertise_inline_and_completion(client: LanguageClient):
    caps = client.server_capabilities
    assert caps is not None
    assert caps.inline_completion_provider
    assert caps.completion_provider is not None
    assert caps.completion_provider.resolve_provider is False
    assert "." in (caps.completion_provider.trigger_characters or [])
    # UTF-16 even when the client would prefer UTF-8.
    assert caps.position_encoding == types.PositionEncodingKind.Utf16


async def test_inline_completion_inserts_at_cursor(client: LanguageClient):
    uri = "file:///tmp/loomline-test/a.py"
    open_doc(client, uri, "def answer():\n    \n")
    result = await inline(client, uri, 1, 4)
    assert result is not None and len(result.items) == 1
    item = result.items[0]
    assert item.insert_text == "return 42"
    assert item.range.start == item.range.end == types.Position(line=1, character=4)
    assert item.command is not None and item.command.command == "loomline.accept"


async def test_completion_fallback_has_text_edit(client: LanguageClient):
    uri = "file:///tmp/loomline-test/b.py"
    open_doc(client, uri, "def answer():\n    \n")
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=1, character=4),
        )
    )
    assert isinstance(result, types.CompletionList) and result.items
    item = result.items[0]
    assert item.label == "return 42"
    assert isinstance(item.text_edit, types.TextEdit)
    assert item.text_edit.new_text == "return 42"
    assert item.insert_text_format == types.InsertTextFormat.PlainText


async def test_incremental_changes_with_utf16_positions(client: LanguageClient):
    uri = "file:///tmp/loomline-test/c.py"
    open_doc(client, uri, "s = '😀'\n")
    # Insert after the emoji: it spans UTF-16 columns 5-6, so column 7 follows it.
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(0, 7), end=types.Position(0, 7)),
                    text="x",
                ),
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(1, 0), end=types.Position(1, 0)),
                    text="def f():\n    ",
                ),
            ],
        )
    )
    shown = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="loomline.showContext",
            arguments=[{"textDocument": {"uri": uri}, "position": {"line": 2, "character": 4}}],
        )
    )
    assert "s = '😀x'\ndef f():\n    <|fim_suffix|>" in shown["prompt"]


async def _generation_started(client: LoomlineClient, before: dict[str, Any]) -> None:
    """Until a generation newer than the ``before`` stats runs (started, not finished)."""

    def running(now: dict[str, Any]) -> bool:
        return (
            now["requests"] > before["requests"]
            and len(now["recent"]) > len(before["recent"])
            and now["recent"][-1]["finishReason"] is None
        )

    await eventually(lambda: stats(client), running, what="a running generation")


async def test_supersede_and_cancel(client: LoomlineClient):
    uri = "file:///tmp/loomline-test/d.py"
    open_doc(client, uri, "def slow():\n    \n")
    since = len(client.statuses)
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={
                "loomline": {"fake": {"response": "total = 0" + " + 1" * 40, "chunkDelayMs": 50}}
            }
        )
    )
    # The engine restarts with the new script: loading, then ready again.
    await eventually(
        lambda: client.states()[since:],
        lambda states: "loading" in states and "ready" in states[states.index("loading") :],
        what="the engine's restart",
    )
    before = await stats(client)
    first = asyncio.ensure_future(inline(client, uri, 1, 4))
    await _generation_started(client, before)
    second = await inline(client, uri, 1, 4)
    assert second is not None and second.items
    assert second.items[0].insert_text == "total = 0" + " + 1" * 40
    done = await first
    # The superseded request answers empty (not an error); the newer one, at the same place,
    # joined the generation already running instead of starting the model again.
    assert done is None or not done.items
    assert done is not None and list(done.items) == []
    stats_now = await stats(client)
    assert stats_now["cancelled"] >= 1 and stats_now["joined"] == 1
    assert len(stats_now["recent"]) == 1 and stats_now["recent"][-1]["finishReason"] == "stop"
    # Somewhere else: the running generation is stopped, a new one answers.
    first = asyncio.ensure_future(inline(client, uri, 0, 4))
    await _generation_started(client, stats_now)
    second = await inline(client, uri, 1, 4)
    assert second is not None
    assert [item.insert_text for item in second.items] == ["total = 0" + " + 1" * 40]
    stopped = await first
    assert stopped is not None and list(stopped.items) == []
    stats_now = await stats(client)
    assert [r["finishReason"] for r in stats_now["recent"]][-2:] == ["cancelled", "stop"]


def _empty(result: types.InlineCompletionList | None) -> bool:
    """An empty answer, not an error (the server always answers with a list)."""
    return result is not None and list(result.items) == []


async def test_bad_inputs_get_empty_answers(client: LoomlineClient):
    # unknown document
    result = await inline(client, "file:///tmp/loomline-test/missing.py", 0, 0)
    assert result is None or not result.items
    assert _empty(result)
    uri = "file:///tmp/loomline-test/e.py"
    open_doc(client, uri, "x = 1\n")
    # positions out of range
    for line, character in [(99, 0), (0, 999)]:
        result = await inline(client, uri, line, character)
        assert result is None or not result.items
        assert _empty(result)
    # unknown language: completed as plain text
    open_doc(client, "file:///tmp/loomline-test/f.zzz", "hello\n", language="klingon")
    result = await inline(client, "file:///tmp/loomline-test/f.zzz", 0, 5)
    assert result is not None
    assert [item.insert_text for item in result.items] == ["return 42"]
    # the server still serves: an answer, and where the script fits, the script
    good = await inline(client, uri, 1, 0)
    assert good is not None
    assert isinstance(good, types.InlineCompletionList)
    open_doc(client, "file:///tmp/loomline-test/e2.py", "def answer():\n    \n")
    good = await inline(client, "file:///tmp/loomline-test/e2.py", 1, 4)
    assert good is not None and [item.insert_text for item in good.items] == ["return 42"]


async def test_huge_file_gets_empty_answer_and_message(client: LoomlineClient):
    uri = "file:///tmp/loomline-test/huge.py"
    open_doc(client, uri, ("x = 1\n" * 3_500_000))  # ~21 MB
    before = await stats(client)
    result = await inline(client, uri, 10, 0)
    assert result is not None and not result.items
    # Refused before the model: skipped, and nothing generated.
    after = await stats(client)
    assert after["skipped"] == before["skipped"] + 1
    assert after["generatedTokens"] == before["generatedTokens"]
    # The message says why (through the transparency command; the editor is not told).
    shown = await show_context(client, uri, 10, 0)
    assert "maxFileBytes" in shown["skip"], shown["skip"]


async def test_invalid_settings_keep_defaults_and_tell_the_user(client: LoomlineClient):
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={"loomline": {"completion": {"maxTokens": "lots"}, "nonsense": 1}}
        )
    )
    await eventually(
        lambda: client.messages,
        lambda messages: any("maxTokens" in m.message for m in messages),
        what="a message about maxTokens",
    )
    assert any("maxTokens" in m.message for m in client.messages)
    uri = "file:///tmp/loomline-test/g.py"
    open_doc(client, uri, "def g():\n    \n")
    result = await inline(client, uri, 1, 4)
    assert result is not None and result.items
    assert result.items[0].insert_text == "return 42"  # the script, with default settings


async def test_typing_through_a_suggestion_needs_no_new_generation(client: LanguageClient):
    uri = "file:///tmp/loomline-test/typed.py"
    open_doc(client, uri, "def answer():\n    \n")
    first = await inline(client, uri, 1, 4)
    assert first is not None and first.items[0].insert_text == "return 42"
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=types.Position(1, 4), end=types.Position(1, 4)),
                    text="ret",
                )
            ],
        )
    )
    before = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="loomline.stats", arguments=[])
    )
    second = await inline(client, uri, 1, 7)
    assert second is not None and second.items[0].insert_text == "urn 42"
    after = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="loomline.stats", arguments=[])
    )
    assert after["typedThrough"] == before["typedThrough"] + 1
    assert after["recentGeneratedTokens"] == before["recentGeneratedTokens"]
