"""The server's side of the wire: bytes in, pygls' protocol out, every request answered.

pygls' own loops (``pygls.io_.run_async``) desynchronise on one bad frame, answer nothing for a
message whose params do not match the LSP types (its error goes to a pop-up instead), and
ignore the lifecycle. This module reads with :class:`~loomline.server.framing.FrameParser` and
puts a small gate before the protocol:

- a body that is not JSON gets a Parse error (-32700); a message that is not a JSON-RPC object,
  has an id that is not a number or a string, a method that is not a string, or neither a
  method nor a result or error gets Invalid Request (-32600);
- a request whose params do not fit its method gets Invalid params (-32602), with its id and
  what is wrong (server/strict_params.py: a value of the wrong JSON type is not coerced);
- a request before ``initialize`` gets ServerNotInitialized (-32002), one after ``shutdown``
  Invalid Request (-32600), as the LSP specifies.

Everything else goes to ``protocol.handle_message`` unchanged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, BinaryIO

from pygls.exceptions import JsonRpcInvalidParams
from pygls.io_ import StdoutWriter
from pygls.protocol import JsonRPCProtocol

from loomline.server.framing import FrameParser, FrameProblem, Message, encode
from loomline.server.parent_watch import ParentWatch
from loomline.server.pygls_internals import forget_result_type, quiet_deserialize_errors
from loomline.server.strict_params import describe

log = logging.getLogger(__name__)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602
SERVER_NOT_INITIALIZED = -32002
# A body that is still not JSON after this long without new bytes is given up on.
QUIET_GIVE_UP_S = 1.0
READ_CHUNK = 1 << 16


class MessageGate:
    """Checks each decoded message against JSON-RPC and the LSP lifecycle, then hands it to
    the pygls protocol. ``send`` writes one framed response."""

    def __init__(
        self,
        protocol: JsonRPCProtocol,
        send: Callable[[bytes], object],
        on_initialize: Callable[[dict[str, Any]], object] = lambda params: None,
    ) -> None:
        self.protocol = protocol
        self._send = send
        # Hears the params of the accepted ``initialize`` (e.g. its processId).
        self._on_initialize = on_initialize
        # The gate says what was wrong with a message in one line; pygls' traceback goes.
        quiet_deserialize_errors()
        self.initialized = False
        self.shut_down = False

    def handle(self, event: Message | FrameProblem) -> None:
        if isinstance(event, FrameProblem):
            log.warning("bad input from the client: %s", event.description)
            if event.parse_error:
                self.reply_error(None, PARSE_ERROR, "Parse error: the message is not JSON")
            return
        payload = event.payload
        if not isinstance(payload, dict) or payload.get("jsonrpc") != "2.0":
            log.warning("a message that is not a JSON-RPC 2.0 object was ignored")
            self.reply_error(None, INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 object")
            return
        method = payload.get("method")
        is_request = "id" in payload and isinstance(method, str)
        msg_id = payload.get("id")
        valid_id = isinstance(msg_id, int | str) and not isinstance(msg_id, bool)
        if "id" in payload and not valid_id and not (msg_id is None and method is None):
            # JSON-RPC ids are numbers or strings: an object or a list would reach pygls as an
            # unhashable key, after the handler (a `shutdown`, say) had already run.
            log.warning("a message with an invalid id (%s) was refused", type(msg_id).__name__)
            self.reply_error(None, INVALID_REQUEST, "Invalid Request: the id must be a number "
                             "or a string")
            return
        problem = _not_a_request_nor_a_response(payload)
        if problem is not None:
            log.warning("an invalid message (id %r) was refused: %s", msg_id, problem)
            self.reply_error(msg_id if valid_id else None, INVALID_REQUEST,
                             f"Invalid Request: {problem}")
            return
        if isinstance(method, str) and is_request and not self._lifecycle_allows(
            payload["id"], method
        ):
            return
        try:
            message = self.protocol.structure_message(payload)
        except JsonRpcInvalidParams as error:
            self._invalid_params(payload, is_request, describe(error))
            return
        except Exception as error:
            log.exception("message %s (%s) could not be read", payload.get("id"), method)
            self._invalid_params(payload, is_request, describe(error))
            return
        if method == "initialize":
            if not self.initialized:
                params = payload.get("params")
                self._on_initialize(params if isinstance(params, dict) else {})
            self.initialized = True
        elif is_response_error(payload):
            forget_result_type(self.protocol, payload.get("id"))
        elif method == "shutdown" and is_request:
            self.shut_down = True
        self.protocol.handle_message(message)

    def _lifecycle_allows(self, msg_id: Any, method: str) -> bool:
        if self.shut_down and method != "exit":
            self.reply_error(msg_id, INVALID_REQUEST, f"{method}: the server is shutting down")
            return False
        if not self.initialized and method != "initialize":
            self.reply_error(
                msg_id, SERVER_NOT_INITIALIZED, f"{method}: the server is not initialized yet"
            )
            return False
        return True

    def _invalid_params(self, payload: dict[str, Any], is_request: bool, problem: str) -> None:
        method = payload.get("method")
        log.warning("invalid params for %s (id %s): %s", method, payload.get("id"), problem)
        if is_request:
            self.reply_error(payload["id"], INVALID_PARAMS,
                             f"Invalid params for {method}: {problem}")
            return
        # A notification has no answer: the protocol may still need to know (a lost edit).
        hear = getattr(self.protocol, "unreadable_notification", None)
        if callable(hear) and isinstance(method, str):
            hear(method, payload.get("params"), problem)

    def reply_error(self, msg_id: Any, code: int, message: str) -> None:
        body = {"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}}
        self._send(encode(json.dumps(body).encode("utf-8")))


async def read_into(
    read: Callable[[], Awaitable[bytes]],
    gate: MessageGate,
    stop: threading.Event,
    parser: FrameParser | None = None,
) -> None:
    """Feed the gate from ``read`` (one chunk per call, b"" at the end) until the end or
    ``stop``; a body that stays incomplete through a quiet second is reported and skipped.
    ``parser``: one that already holds bytes read before (else a new one)."""
    parser = parser or FrameParser()
    pending: asyncio.Task[bytes] | None = None
    try:
        while not stop.is_set():
            pending = pending or asyncio.ensure_future(read())
            timeout = QUIET_GIVE_UP_S if parser.waiting_on_body else None
            done, _ = await asyncio.wait({pending}, timeout=timeout)
            if not done:
                for event in parser.give_up():
                    gate.handle(event)
                continue
            data, pending = pending.result(), None
            if not data:
                return
            for event in parser.feed(data):
                gate.handle(event)
    finally:
        if pending is not None:
            pending.cancel()


async def serve_client(
    read: Callable[[], Awaitable[bytes]],
    protocol: JsonRPCProtocol,
    send: Callable[[bytes], object],
    stop: threading.Event,
    *,
    parser: FrameParser | None = None,
    first: Iterable[Message | FrameProblem] = (),
) -> None:
    """Serve one client: ``first`` (events read already), then what ``read`` gives, through a
    ``MessageGate``, until the input ends, ``stop`` is set, or the process that ``initialize``
    named as the client's ends (``exit`` raises SystemExit as pygls does)."""
    this = asyncio.current_task()
    assert this is not None
    watch = ParentWatch(on_gone=this.cancel)
    gate = MessageGate(protocol, send, lambda params: watch.watch(params.get("processId")))
    try:
        for event in first:
            gate.handle(event)
        await read_into(read, gate, stop, parser)
    except asyncio.CancelledError:
        if not watch.gone:
            raise
        this.uncancel()
    finally:
        watch.stop()


def serve_stdio(
    protocol: JsonRPCProtocol,
    stop: threading.Event,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
) -> None:
    """Serve one client over stdin/stdout until it closes the stream or ``exit`` arrives."""
    source = stdin or sys.stdin.buffer
    writer = StdoutWriter(stdout or sys.stdout.buffer)
    protocol.set_writer(writer)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[bytes] = asyncio.Queue()

        def pump() -> None:
            # A daemon thread: a blocked read must not keep the process alive after `exit`.
            # It reads the file descriptor itself: a daemon thread blocked inside a buffered
            # reader holds its lock, and the interpreter aborts on that lock at exit.
            read = _raw_reader(source)
            while True:
                try:
                    data = read(READ_CHUNK)
                except (OSError, ValueError):
                    data = b""
                loop.call_soon_threadsafe(chunks.put_nowait, data)
                if not data:
                    return

        threading.Thread(target=pump, name="lsp-stdin", daemon=True).start()
        await serve_client(chunks.get, protocol, writer.write, stop)

    asyncio.run(main())


def _not_a_request_nor_a_response(payload: dict[str, Any]) -> str | None:
    """What makes a JSON-RPC object neither a request/notification nor a response (a
    method that is not a string, or no method and no result or error), else None."""
    if "method" in payload:
        return None if isinstance(payload["method"], str) else "the method must be a string"
    if "result" in payload or "error" in payload:
        return None
    return "no method, and not a response (no result or error)"


def is_response_error(payload: dict[str, Any]) -> bool:
    """Whether a message is the client's error answer to a request of the server's."""
    return "error" in payload and "method" not in payload and payload.get("id") is not None


def _raw_reader(source: BinaryIO) -> Callable[[int], bytes]:
    try:
        fd = source.fileno()
    except (AttributeError, OSError, ValueError):
        return getattr(source, "read1", source.read)
    return lambda size: os.read(fd, size)
