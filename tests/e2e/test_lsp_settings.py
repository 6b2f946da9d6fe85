"""Settings over the protocol: a bad value costs that value only, and the user hears once."""

from __future__ import annotations

from lsprotocol import types

from tests.lsp_client import LoomlineClient, Session, eventually, inline, loomline_client, open_doc

ROOT = "file:///tmp/loomline-settings-test"
# Once, one out-of-range number discarded the whole object and the embedded model started.
OPTIONS = {"backend": "fake", "fake": {"chunkDelayMs": 0}, "completion": {"maxTokens": 0}}

client = loomline_client(Session(options=OPTIONS, root_uri=ROOT))


def settings_messages(client: LoomlineClient) -> list[str]:
    return [m.message for m in client.messages if "settings:" in m.message]


async def messages_when(client: LoomlineClient, count: int) -> list[str]:
    async def probe() -> list[str]:
        return settings_messages(client)

    return await eventually(probe, lambda found: len(found) >= count, what=f"{count} messages")


async def test_a_bad_number_keeps_the_backend_and_is_reported_once(client: LoomlineClient):
    uri = f"{ROOT}/a.py"
    open_doc(client, uri, "def answer():\n    \n")
    result = await inline(client, uri, 1, 4)
    assert result is not None and result.items[0].insert_text == "return 42"
    assert {s.backend for s in client.statuses} == {"fake"}
    assert await messages_when(client, 1) == [
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
    messages = await messages_when(client, 2)
    assert len(messages) == 2 and "'model.template': unknown template" in messages[1]

    async def answer() -> str | None:
        found = await inline(client, uri, 1, 4)
        return found.items[0].insert_text if found is not None and found.items else None

    assert await eventually(answer, lambda text: text == "pass", what="the new script")
