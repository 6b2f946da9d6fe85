"""The one place that touches a pygls internal; ``tests/server/test_pygls_internals.py``
fails if pygls changes what it relies on.

- pygls remembers the result type of every request the server sends (``_result_types``,
  keyed by the request's id) and forgets it when a *result* comes back: an *error* answer (a
  client that refuses ``window/workDoneProgress/create``, say) leaves the entry for good.
- pygls logs every message it cannot read into lsprotocol types ("Unable to deserialize
  message") at ERROR with a traceback; the transport's gate answers it and logs one line.
"""

from __future__ import annotations

import logging
from typing import Any

from pygls.protocol import JsonRPCProtocol


def forget_result_type(protocol: JsonRPCProtocol, msg_id: Any) -> None:
    """Drop what pygls keeps for the server's request ``msg_id`` once the client answered
    it with an error (pygls keeps it otherwise). Does nothing for an unknown id."""
    result_types = getattr(protocol, "_result_types", None)
    if isinstance(result_types, dict):
        result_types.pop(msg_id, None)


_DESERIALIZE_MESSAGE = "Unable to deserialize message"
_JSON_RPC_LOGGER = "pygls.protocol.json_rpc"


def _not_deserialize_error(record: logging.LogRecord) -> bool:
    return not (isinstance(record.msg, str) and record.msg.startswith(_DESERIALIZE_MESSAGE))


def quiet_deserialize_errors() -> None:
    """Drop pygls' ERROR log with a traceback for a message it could not read (the caller
    reports it instead). Idempotent."""
    logger = logging.getLogger(_JSON_RPC_LOGGER)
    if _not_deserialize_error not in logger.filters:
        logger.addFilter(_not_deserialize_error)
