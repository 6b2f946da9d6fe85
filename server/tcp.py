"""``loomline lsp --tcp``: one authenticated client, through the same transport as stdio.

The server's state (documents, settings, the engine and its API key) belongs to one editor, so
the socket must not let anyone else in:

- **A token.** The client's first message must be ``initialize`` with
  ``initializationOptions.token`` equal to the server's token (``LOOMLINE_TCP_TOKEN``, else
  generated at start and printed on stderr). Editors that connect over TCP can all pass
  ``initializationOptions``, so no client change is needed. A wrong or missing token gets an
  error answer and the connection is closed before anything else is read; the token is taken
  out of the options before they reach the server (and its logs), and is never logged.
- **One session.** Once a client is in, any other connection is answered with an error and
  closed: it cannot read the first client's documents, receive its answers, change settings,
  or end the server. When the client disconnects the server exits, as on stdio's end.
- A connection that has not authenticated within ``AUTH_TIMEOUT_S`` is closed.
- **This machine only.** The server listens on loopback addresses only (``127.0.0.0/8``,
  ``::1``, a name that resolves to nothing else); any other address (``0.0.0.0``, ``::``, a
  LAN address) is refused unless the user passes ``--allow-remote``: the token still applies,
  but it and the code then cross the network unencrypted.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pygls.protocol import JsonRPCProtocol

from loomline.server.framing import MAX_BODY_BYTES, FrameParser, FrameProblem, Message, encode
from loomline.server.transport import READ_CHUNK, serve_client

log = logging.getLogger(__name__)

TOKEN_ENV = "LOOMLINE_TCP_TOKEN"
AUTH_TIMEOUT_S = 10.0
# How long a connection refused for being second may take to say what it wanted (so the
# refusal answers its request's id).
REFUSAL_WAIT_S = 2.0
# The most a connection may send before it has shown the token (an initialize is small).
AUTH_MAX_BODY_BYTES = 1 << 20
# JSON-RPC's range for server-defined errors.
UNAUTHORIZED = -32001
SESSION_TAKEN = -32003


def tcp_token(environ: dict[str, str] | None = None) -> tuple[str, bool]:
    """The token clients must present: ``LOOMLINE_TCP_TOKEN`` if set, else a new random one.
    Returns (token, whether it was generated)."""
    given = (os.environ if environ is None else environ).get(TOKEN_ENV, "")
    if given.strip():
        return given.strip(), False
    return secrets.token_urlsafe(32), True


def loopback_only(host: str) -> bool:
    """Whether every address ``host`` (an IP address, ``[::1]``, or a name, resolved here)
    stands for is a loopback address; False for a name that does not resolve."""
    name = host.strip().removeprefix("[").removesuffix("]")
    try:
        addresses = [ipaddress.ip_address(name)]
    except ValueError:
        try:
            infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return False
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    return bool(addresses) and all(_is_loopback(address) for address in addresses)


def _is_loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def admit(payload: object, token: str) -> dict[str, Any] | None:
    """``payload`` (the first message) without its token if it is an ``initialize`` request
    presenting ``token`` in ``initializationOptions.token``; None otherwise."""
    if not isinstance(payload, dict) or payload.get("method") != "initialize":
        return None
    if "id" not in payload or not isinstance(params := payload.get("params"), dict):
        return None
    options = params.get("initializationOptions")
    presented = options.get("token") if isinstance(options, dict) else None
    if not isinstance(presented, str):
        return None
    if not hmac.compare_digest(presented.encode("utf-8"), token.encode("utf-8")):
        return None
    assert isinstance(options, dict)
    without = {k: v for k, v in options.items() if k != "token"}
    return {**payload, "params": {**params, "initializationOptions": without}}


@dataclass
class Admitted:
    """A connection whose first message presented the token: it becomes the session."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    parser: FrameParser
    first: list[Message | FrameProblem] = field(default_factory=list)


class SocketWriter:
    """What pygls writes to (``write``, ``close``), over an asyncio stream."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    def write(self, data: bytes) -> None:
        if not self._writer.is_closing():
            self._writer.write(data)

    def close(self) -> None:
        self._writer.close()


async def first_message(
    reader: asyncio.StreamReader, parser: FrameParser
) -> tuple[object, list[Message | FrameProblem]]:
    """The first JSON message on the connection and the events read after it (None, [] if
    the peer closed first or sent something that is not a message)."""
    while True:
        data = await reader.read(READ_CHUNK)
        if not data:
            return None, []
        events = parser.feed(data)
        if events:
            head, rest = events[0], events[1:]
            return (head.payload if isinstance(head, Message) else None), rest


def refuse(writer: asyncio.StreamWriter, first: object, code: int, message: str) -> None:
    """Answer the connection's first request (or with a null id) with an error; close it."""
    msg_id = first.get("id") if isinstance(first, dict) else None
    body = {"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}}
    writer.write(encode(json.dumps(body).encode("utf-8")))
    writer.close()


async def serve_tcp(
    protocol: JsonRPCProtocol,
    host: str,
    port: int,
    token: str,
    stop: threading.Event,
    on_listening: Callable[[str, int], object] = lambda host, port: None,
) -> None:
    """Listen on ``host:port`` (0: any free port, told to ``on_listening``) and serve the
    first client that presents ``token``, until it disconnects or ``exit`` arrives."""
    session: asyncio.Future[Admitted] = asyncio.get_running_loop().create_future()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        parser = FrameParser(max_body_bytes=AUTH_MAX_BODY_BYTES)
        wait_s = REFUSAL_WAIT_S if session.done() else AUTH_TIMEOUT_S
        try:
            first, rest = await asyncio.wait_for(first_message(reader, parser), wait_s)
        except (TimeoutError, OSError):
            first, rest = None, []
        if session.done():
            log.warning("refused a second client (%s): a client is connected", peer)
            refuse(writer, first, SESSION_TAKEN,
                   "Another client is connected to this Loomline server; it serves one.")
            return
        admitted = admit(first, token)
        if admitted is None:
            log.warning("refused a client (%s): no initialize with the right token", peer)
            refuse(writer, first, UNAUTHORIZED,
                   "Unauthorized: initialize must carry initializationOptions.token")
            return
        log.info("a client connected from %s", peer)
        parser.max_body_bytes = MAX_BODY_BYTES
        session.set_result(Admitted(reader, writer, parser, [Message(admitted), *rest]))

    listener = await asyncio.start_server(on_connect, host, port)
    bound = listener.sockets[0].getsockname()
    on_listening(bound[0], bound[1])
    async with listener:
        client = await session
        writer = SocketWriter(client.writer)
        protocol.set_writer(writer)

        async def read() -> bytes:
            try:
                return await client.reader.read(READ_CHUNK)
            except OSError:  # a reset connection ends the session like a closed one
                return b""

        await serve_client(
            read,
            protocol,
            writer.write,
            stop,
            parser=client.parser,
            first=client.first,
        )
        log.info("the client disconnected")
        client.writer.close()
