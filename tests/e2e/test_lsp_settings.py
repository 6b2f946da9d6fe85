"""Settings over the protocol: a bad value costs that value only, and the user hears once."""

from __future__ import annotations

import asyncio

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import server_command
from tests.e2e.test_lsp_fake import inline, open_doc

# Once, one out-of-range number discarded the whole object and the embedded model started.
OPTIONS = {"backend": "fake", "fake": {"chunkDelayMs": 0}, "completion": {"maxTokens": 0}}


@pytest_lsp.fixture(config=ClientServerConfig(server_command=server_command("lsp")))
async def client(lsp_client: LanguageClient):
    params = types.InitializeParams(
        capabilities=types.ClientCapabilities(),
        initialization_options=OPTIONS,
        root_uri="file:///tmp/loomline-settings-test",
    )
    lsp_client.statuses = []

    @lsp_client.feature("loomline/status")
    def on_status(params):
        lsp_client.statuses.append(params)

    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


def settings_messages(client: LanguageClient) -> list[str]:
    return [m.message for m in client.messages if "settings:" in m.message]


async def wait_for_messages(client: LanguageClient, count: int) -> list[str]:
    for _ in range(100):
        if len(settings_messages(client)) >= count:
            break
        await asyncio.sleep(0.05)
    return settings_messages(client)


async def test_a_bad_number_keeps_the_backend_and_is_reported_once(client: LanguageClient):
    uri = "file:///tmp/loomline-settings-test/a.py"
    open_doc(client, uri, "def answer():\n    \n")
    result = await inline(client, uri, 1, 4)
    assert result is not None and result.items[0].insert_text == "return 42"
    assert {s.backend for s in client.statuses} == {"fake"}
    assert await wait_for_messages(client, 1) == [
        "Loomline: settings: setting 'completion.maxTokens': must be between 1 and 4096 "
        "(got 0); kept 128"
    ]
    # An unknown template is refused when it arrives (it used to leave the engine starting
    # forever); the rest of the change applies.
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={"loomline": {"model": {"template": "nope"}, "fake": {"response": "pass"}}}
        )
    )
    messages = await wait_for_messages(client, 2)
    assert len(messages) == 2 and "'model.template': unknown template" in messages[1]
    for _ in range(100):  # the engine restarts with the new script
        result = await inline(client, uri, 1, 4)
        if result is not None and result.items and result.items[0].insert_text == "pass":
            break
        await asyncio.sleep(0.05)
    assert result is not None and result.items[0].insert_text == "pass"
