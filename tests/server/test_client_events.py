"""server/client_events.py: the ``loomline/event`` params as pygls hands them to the handler."""

from __future__ import annotations

from typing import Any

import pytest

from loomline.server.client_events import event_record
from loomline.server.methods import EVENT_NOTIFICATION

PARTIAL = {"type": "partialAccept", "completionId": "c7", "acceptedLength": 6}


def _as_received(params: dict[str, Any]) -> Any:
    """The params after the server's own JSON-RPC deserialization (what the handler gets)."""
    from loomline.server.app import server

    message = server.protocol.structure_message(
        {"jsonrpc": "2.0", "method": EVENT_NOTIFICATION, "params": params}
    )
    return message.params


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (PARTIAL, PARTIAL),
        (
            {"type": "dismiss", "completionId": "c8", "extra": 1},
            {"type": "dismiss", "completionId": "c8"},
        ),
        ({}, {}),
        (None, None),
        ("accept", None),
        (3, None),
    ],
)
def test_known_fields_are_kept(params: Any, expected: dict[str, Any] | None) -> None:
    assert event_record(params) == expected


def test_params_as_the_server_receives_them() -> None:
    received = _as_received({**PARTIAL, "ignored": [1, 2]})
    assert not isinstance(received, dict)  # pygls' namedtuple: vars() cannot read it
    assert event_record(received) == PARTIAL


def test_the_handler_records_a_received_event() -> None:
    from loomline.server.app import on_event

    recorded: list[dict[str, Any]] = []

    class _Server:
        def record_event(self, event: dict[str, Any]) -> None:
            recorded.append(event)

    on_event(_Server(), _as_received({"type": "dismiss", "completionId": "c9"}))  # type: ignore[arg-type]
    on_event(_Server(), _as_received(PARTIAL))  # type: ignore[arg-type]
    assert recorded == [{"type": "dismiss", "completionId": "c9"}, PARTIAL]
