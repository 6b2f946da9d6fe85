"""The one place that touches a pygls internal; ``tests/server/test_pygls_internals.py``
fails if pygls changes what it relies on.

pygls remembers the result type of every request the server sends (``_result_types``, keyed
by the request's id) and forgets it when a *result* comes back: an *error* answer (a client
that refuses ``window/workDoneProgress/create``, say) leaves the entry for good.
"""

from __future__ import annotations

from typing import Any

from pygls.protocol import JsonRPCProtocol


def forget_result_type(protocol: JsonRPCProtocol, msg_id: Any) -> None:
    """Drop what pygls keeps for the server's request ``msg_id`` once the client answered
    it with an error (pygls keeps it otherwise). Does nothing for an unknown id."""
    result_types = getattr(protocol, "_result_types", None)
    if isinstance(result_types, dict):
        result_types.pop(msg_id, None)
