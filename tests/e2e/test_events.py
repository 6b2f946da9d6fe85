"""Accept, dismiss and partial-accept events reach the server over stdio and, with
``recordEvents``, its events file ($LOOMLINE_CACHE/events.jsonl), as the VS Code extension
sends them: the accept as the completion item's command, the rest as ``loomline/event``."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loomline.server.methods import ACCEPT_COMMAND, EVENT_NOTIFICATION
from tests.lsp_client import (
    LoomlineClient,
    Session,
    command,
    inline,
    loomline_client,
    open_doc,
)
from tests.waiting import eventually

CACHE = Path(tempfile.mkdtemp(prefix="loomline-events-"))
EVENTS = CACHE / "events.jsonl"
SESSION = Session(
    options={"backend": "fake", "recordEvents": True},
    root_uri="file:///tmp/loomline-events",
    ready_within_s=30,
)

client = loomline_client(SESSION, env={"LOOMLINE_CACHE": str(CACHE)})


@pytest.fixture(autouse=True)
def _remove_the_cache() -> Iterator[None]:
    yield  # (after the server: autouse fixtures are set up first, torn down last)
    shutil.rmtree(CACHE, ignore_errors=True)


def _recorded() -> list[dict[str, Any]]:
    if not EVENTS.exists():
        return []
    lines = EVENTS.read_text(encoding="utf-8").splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "time"} for line in lines]


async def test_events_reach_the_server_and_its_file(client: LoomlineClient) -> None:
    uri = "file:///tmp/loomline-events/a.py"
    open_doc(client, uri, "def answer():\n    \n")
    result = await inline(client, uri, 1, 4)
    assert result is not None and result.items
    item_command = result.items[0].command
    assert item_command is not None and item_command.command == ACCEPT_COMMAND
    completion_id = item_command.arguments[0]

    await command(client, ACCEPT_COMMAND, completion_id)
    client.protocol.notify(EVENT_NOTIFICATION, {"type": "dismiss", "completionId": "c900"})
    client.protocol.notify(
        EVENT_NOTIFICATION,
        {"type": "partialAccept", "completionId": "c901", "acceptedLength": 6, "x": 1},
    )

    async def recorded() -> list[dict[str, Any]]:
        return _recorded()

    events = await eventually(recorded, lambda found: len(found) >= 3, what="three events")
    assert events == [
        {"type": "accept", "completionId": completion_id},
        {"type": "dismiss", "completionId": "c900"},
        {"type": "partialAccept", "completionId": "c901", "acceptedLength": 6},
    ]
