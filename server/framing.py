"""JSON-RPC base-protocol framing that survives bad input.

The LSP frames every message as ``Content-Length: N\\r\\n\\r\\n`` followed by N bytes of JSON.
pygls' own reader (``pygls.io_.run_async``) matches the header with a case-sensitive regex,
needs CRLF, trusts the length blindly and allocates whatever it says: one bad frame leaves it
out of step for good, and ``Content-Length: 1000000000000`` kills the process. This parser:

- reads header names case-insensitively and accepts LF-only line ends;
- refuses lengths over ``max_body_bytes`` (skips that header and looks for the next one);
- when the JSON ends before or after the declared length, trusts the JSON and says so
  (a wrong ``Content-Length`` costs one warning, not the session);
- after garbage, resynchronises on the next ``Content-Length`` header.

It is a pure, incremental state machine over bytes (``feed`` -> messages and problems), so it
is tested without a process and the same code serves stdio and TCP.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_HEADER_BYTES = 8 * 1024
_HEADER_START = re.compile(rb"content-length[ \t]*:", re.IGNORECASE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_DECODER = json.JSONDecoder()


@dataclass(frozen=True, slots=True)
class Message:
    """One JSON value read from the stream (any JSON type: the protocol checks its shape)."""

    payload: object


@dataclass(frozen=True, slots=True)
class FrameProblem:
    """Bytes that were not a valid message, and what was done about them."""

    description: str
    # True when the bytes held a body that is not JSON: the peer is owed a Parse error.
    parse_error: bool = False


Event = Message | FrameProblem


class FrameParser:
    """Turns a byte stream into JSON-RPC messages; never raises, and holds at most one
    message's bytes (``max_body_bytes``) plus what the peer sent after it."""

    def __init__(self, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.max_body_bytes = max_body_bytes
        self._buffer = bytearray()
        self._declared: int | None = None  # the body length of the header just read
        self._scanned = 0  # how far the buffer was searched for a next header while waiting
        self._queued: list[Event] = []

    @property
    def waiting_on_body(self) -> bool:
        """Whether a header was read and its body is incomplete or not yet decidable."""
        return self._declared is not None

    def feed(self, data: bytes) -> list[Event]:
        """Add received bytes; return every complete message and problem, in order."""
        self._buffer += data
        events: list[Event] = []
        while True:
            events.extend(self._queued)
            self._queued.clear()
            event = self._read_header() if self._declared is None else self._read_body()
            if event is None:
                return events
            events.append(event)

    def give_up(self) -> list[Event]:
        """The peer went quiet with a body that never became JSON: report it, move on."""
        if self._declared is None:
            return []
        return [self._skip_bad_body()]

    # ---- header ---------------------------------------------------------------------
    def _read_header(self) -> Event | None:
        buffer = self._buffer
        start = _HEADER_START.search(buffer)
        if start is None:
            # Keep only a tail that could still become the start of a header.
            junk = len(buffer) - len(b"content-length:") + 1
            if junk <= 0:
                return None
            skipped = bytes(buffer[:junk])
            del buffer[:junk]
            if not skipped.strip():
                return None
            return FrameProblem(f"skipped {junk} bytes outside any message")
        if start.start() > 0:
            skipped = bytes(buffer[: start.start()])
            del buffer[: start.start()]
            if skipped.strip():
                return FrameProblem(f"skipped {len(skipped)} bytes before a message header")
        end = _HEADER_END.search(buffer)
        if end is None:
            if len(buffer) > MAX_HEADER_BYTES:
                del buffer[: len(b"content-length:")]
                return FrameProblem("a message header had no end; looking for the next one")
            return None
        header = bytes(buffer[: end.start()])
        del buffer[: end.end()]
        length = _content_length(header)
        if length is None:
            return FrameProblem(f"a message header had no valid length: {header[:80]!r}")
        if length > self.max_body_bytes:
            return FrameProblem(
                f"a message declared {length} bytes, over the limit of {self.max_body_bytes};"
                " skipped it"
            )
        self._declared = length
        self._scanned = 0
        return self._read_body()

    # ---- body -----------------------------------------------------------------------
    def _read_body(self) -> Event | None:
        buffer, declared = self._buffer, self._declared or 0
        if len(buffer) >= declared:
            try:
                payload = json.loads(bytes(buffer[:declared]))
            except ValueError:
                pass
            else:
                del buffer[:declared]
                self._declared = None
                return Message(payload)
        elif _HEADER_START.search(buffer, max(1, self._scanned - 16)) is None:
            self._scanned = len(buffer)
            return None  # the usual case: the rest of the body is still on its way
        self._scanned = len(buffer)
        # Not JSON at its declared length, or a next header came before the body was
        # complete: trust the JSON value the body starts with, if there is one.
        decoded = _one_json_value(bytes(buffer))
        if isinstance(decoded, tuple):
            payload, used = decoded
            del buffer[:used]
            self._declared = None
            self._queued.append(
                FrameProblem(f"a message declared {declared} bytes but held {used}: resynchronised")
            )
            return Message(payload)
        if decoded == "incomplete":
            return None  # more may come (or give_up() after a quiet while)
        return self._skip_bad_body()

    def _skip_bad_body(self) -> FrameProblem:
        buffer, declared = self._buffer, self._declared or 0
        next_header = _HEADER_START.search(buffer, 1)
        cut = next_header.start() if next_header is not None else min(len(buffer), declared)
        del buffer[:cut]
        self._declared = None
        return FrameProblem(f"a message body ({declared} bytes declared) is not JSON", True)


def _one_json_value(data: bytes) -> tuple[object, int] | str:
    """The JSON value at the start of ``data`` and the bytes it used, else "incomplete"
    (valid so far) or "invalid". Bytes after the value (a next frame) do not matter."""
    # surrogateescape: a cut multi-byte character at the end is not an error yet.
    text = data.decode("utf-8", errors="surrogateescape")
    stripped = text.lstrip()
    if not stripped:
        return "incomplete"
    try:
        payload, end = _DECODER.raw_decode(text, len(text) - len(stripped))
    except json.JSONDecodeError as error:
        # A string still open runs to the end of what arrived: more bytes may close it.
        # (A cut escape such as "\u00" fails a few characters before the end.)
        at_end = error.pos >= len(text.rstrip()) - 6 or error.msg.startswith("Unterminated")
        return "incomplete" if at_end else "invalid"
    used = text[:end].encode("utf-8", errors="surrogateescape")
    try:
        used.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid"
    return payload, len(used)


def _content_length(header: bytes) -> int | None:
    for line in re.split(rb"\r?\n", header):
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() == b"content-length":
            value = value.strip()
            return int(value) if value.isdigit() and len(value) <= 15 else None
    return None


def encode(payload: bytes) -> bytes:
    """Frame one serialised message for sending."""
    return b"Content-Length: %d\r\n\r\n" % len(payload) + payload
