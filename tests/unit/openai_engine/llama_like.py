"""A scripted server that behaves like llama.cpp's Python server (``python -m llama_cpp.server``
from llama-cpp-python, default settings) toward its clients.

What it copies: one request at a time, ``GET /v1/models`` included (every route takes the
model's lock); a request waiting for its turn interrupts the running answer after its next
chunk, which then ends with ``data: [DONE]`` and no finish reason (so a cut answer looks
whole to a careless client); the prefill is slow, happens before the response headers, and
runs to its end even when the client has hung up (it runs in a worker thread).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from tests.unit.openai_engine.fake_server import (
    SSE_HEADERS,
    FakeOpenAI,
    FakeRequest,
    choice_event,
    chunk,
    sse_event,
)

# The answer it streams, one token a chunk.
LLAMA_TOKENS = ("return", " a", " +", " b", "\n", "    #", " sum", " of", " a", " and", " b")
LLAMA_ANSWER = "".join(LLAMA_TOKENS)


async def _llama_completion(server: FakeOpenAI, request: FakeRequest,
                            writer: asyncio.StreamWriter) -> bool:
    assert isinstance(server, LlamaCppLike)
    return await server.complete(request, writer)


@dataclass
class LlamaCppLike(FakeOpenAI):
    prefill_s: float = 0.3
    token_s: float = 0.02
    tokens: tuple[str, ...] = LLAMA_TOKENS
    # llama-cpp-python's ``--interrupt_requests`` (default true).
    interrupt_requests: bool = True
    # Answers cut short by another request, and answers sent to their end.
    interrupted: int = 0
    finished: int = 0
    models_answered: int = 0
    _outer: asyncio.Lock = field(default_factory=asyncio.Lock)
    _inner: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.script = _llama_completion

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        # Its two locks: a request waiting for its turn holds the outer one while it waits
        # for the inner one, and the running answer stops when it sees the outer one taken.
        async with self._outer:
            await self._inner.acquire()
        try:
            yield
        finally:
            self._inner.release()

    async def answer_models(self, writer: asyncio.StreamWriter) -> None:
        async with self._turn():
            await super().answer_models(writer)
            self.models_answered += 1

    async def complete(self, request: FakeRequest, writer: asyncio.StreamWriter) -> bool:
        async with self._turn():
            await asyncio.sleep(self.prefill_s)  # runs to its end, hung up or not
            if request.hung_up.is_set():
                return False
            writer.write(SSE_HEADERS)
            for i, token in enumerate(self.tokens):
                last = i == len(self.tokens) - 1
                writer.write(chunk(sse_event(choice_event(token, finish="length" if last
                                                          else None))))
                await writer.drain()
                if request.hung_up.is_set():
                    return False
                if self.interrupt_requests and self._outer.locked() and not last:
                    self.interrupted += 1
                    break
                await asyncio.sleep(self.token_s)
            else:
                self.finished += 1
            writer.write(chunk(sse_event("[DONE]")) + b"0\r\n\r\n")
            await writer.drain()
            return True
