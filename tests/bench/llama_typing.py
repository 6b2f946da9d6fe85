"""A user typing into ``loomline lsp`` over stdio, for ``check_llama_cpp.py``: a Python file
typed key by key (incremental ``didChange``, one version a key), an automatic inline completion
at each pause, some cancelled by typing on while the engine streams (``$/cancelRequest``, as
VS Code sends it), and an asked-for multi-line completion that streams for a long time."""

from __future__ import annotations

import asyncio
import contextlib
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types

from loomline.completion.settings import Settings
from loomline.completion.tokens import local_tokenizer_dir
from tests.lsp_client import LoomlineClient, inline, show_context, stats

HEAD = '''"""Small statistics helpers."""

from __future__ import annotations

import math


def mean(values: list[float]) -> float:
    """The arithmetic mean of values."""
    return sum(values) / len(values)


'''
# Typed key by key; "|" marks a pause with an automatic inline completion (not typed).
TYPED = '''def variance(values: list[float]) -> float:
    """The population variance of values."""
    |centre = |mean(values)
    |return sum((v - |centre) ** 2 for v in values) / |len(values)


def stdev(values: list[float]) -> float:
    """The population standard deviation of values."""
    |return math.|sqrt(|variance(values))


def median(values: list[float]) -> float:
    """The middle value of values."""
    |ordered = |sorted(values)
    |middle = len(ordered) // 2
    |'''
# The asked-for completion that streams long: the model writes one entry a line.
LONG = '''

# All 118 chemical elements: symbol -> (name, atomic number, standard atomic weight).
ELEMENTS = {
    "H": ("Hydrogen", 1, 1.008),
    "He": ("Helium", 2, 4.0026),
    '''
LONG_SUFFIX = "\n}\n"


class CheckFailed(SystemExit):
    pass


def ensure(condition: bool, what: str) -> None:
    """Print ``ok: what``, or stop the check with ``FAILED: what``."""
    if not condition:
        raise CheckFailed(f"  FAILED: {what}")
    print(f"  ok: {what}")


@dataclass
class Result:
    kind: str  # answered, cancelled, long
    seconds: float
    text: str


@dataclass
class TypingSession:
    client: LoomlineClient
    path: Path
    text: str = ""
    version: int = 1
    results: list[Result] = field(default_factory=list)
    shown_prompt: str = ""
    tokenizer_dir: Path | None = field(default_factory=lambda: local_tokenizer_dir(
        Settings().model))
    _ids: int = 0

    @property
    def uri(self) -> str:
        return self.path.as_uri()

    def _end(self) -> types.Position:
        lines = self.text.split("\n")
        return types.Position(line=len(lines) - 1, character=len(lines[-1]))

    async def open(self, text: str = HEAD) -> None:
        self.text = text
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=self.uri, language_id="python",
                                                 version=self.version, text=self.text)))

    def _type(self, key: str) -> None:
        at = self._end()
        self.text += key
        self.version += 1
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=self.uri,
                                                                version=self.version),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(start=at, end=at), text=key)]))

    def type_text(self, text: str) -> None:
        for key in text:
            self._type(key)

    def _send(self, trigger: types.InlineCompletionTriggerKind) -> tuple[str, Future[Any]]:
        self._ids += 1
        request_id = f"inline-{self._ids}"
        future = self.client.protocol.send_request(
            types.TEXT_DOCUMENT_INLINE_COMPLETION,
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=self.uri),
                position=self._end(), context=types.InlineCompletionContext(trigger_kind=trigger)),
            msg_id=request_id)
        return request_id, future

    async def type_and_complete(self, cancel_every: int) -> None:
        """Type ``TYPED``; at each pause ask for a completion, and every ``cancel_every``-th
        time type on once the engine streams (the request is cancelled)."""
        pieces = TYPED.split("|")
        for n, piece in enumerate(pieces):
            for key in piece:
                self._type(key)
            if n == len(pieces) - 1:
                break
            cancels = n % cancel_every == cancel_every - 1
            if cancels:
                await self.settle()
            began = time.perf_counter()
            request_id, future = self._send(types.InlineCompletionTriggerKind.Automatic)
            wrapped = asyncio.wrap_future(future)
            if cancels:
                streaming = asyncio.ensure_future(self.wait_streaming())
                await asyncio.wait([streaming, wrapped], return_when=asyncio.FIRST_COMPLETED)
                streaming.cancel()
                if not wrapped.done():
                    self.client.protocol.notify(types.CANCEL_REQUEST,
                                                types.CancelParams(id=request_id))
                    with contextlib.suppress(Exception):  # the cancel's error answer
                        await wrapped
                    self.results.append(Result("cancelled", time.perf_counter() - began, ""))
                    continue
            result = await wrapped
            items = result.items if isinstance(result, types.InlineCompletionList) else result
            text = str(items[0].insert_text) if items else ""
            self.results.append(Result("answered", time.perf_counter() - began, text))

    async def settle(self) -> None:
        """Until every generation so far has ended (a closed one winds down a moment later):
        then the next one running is the next request's."""
        began = time.monotonic()
        while True:
            recent = (await stats(self.client))["recent"]
            if all(r["finishReason"] is not None for r in recent):
                return
            if time.monotonic() - began > 60:
                raise CheckFailed(f"  FAILED: generations still running after 60 s: {recent}")
            await asyncio.sleep(0.05)

    async def cancelled_in_prefill(self, at_server_s: float = 1.0) -> None:
        """An asked-for completion at the end, cancelled ``at_server_s`` after its generation
        started (its request is at the server by then, which prefills on regardless)."""
        await self.settle()
        request_id, future = self._send(types.InlineCompletionTriggerKind.Invoked)
        wrapped = asyncio.wrap_future(future)
        while not wrapped.done():  # until its generation runs (it may answer a skip at once)
            recent = (await stats(self.client))["recent"]
            if recent and recent[-1]["finishReason"] is None:
                break
            await asyncio.sleep(0.02)
        if wrapped.done():
            raise CheckFailed(f"  FAILED: no generation ran for the request: {wrapped.result()}")
        await asyncio.sleep(at_server_s)
        self.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=request_id))
        with contextlib.suppress(Exception):  # the cancel's error answer
            await wrapped

    async def wait_streaming(self) -> None:
        """Until the newest generation has its first text and no finish reason (call
        ``settle`` before its request)."""
        while True:
            recent = (await stats(self.client))["recent"]
            if recent and recent[-1]["firstTokenMs"] is not None \
                    and recent[-1]["finishReason"] is None:
                return
            await asyncio.sleep(0.05)

    def _to_long(self) -> None:
        if LONG not in self.text:
            for key in LONG:
                self._type(key)

    async def long_request(self) -> str:
        """The asked-for completion in the elements table; its text."""
        self._to_long()
        where = self._end()
        result = await inline(self.client, self.uri, where.line, where.character)
        return str(result.items[0].insert_text) if result and result.items else ""

    async def long_completion(self, min_stream_s: float) -> None:
        self._to_long()
        where = self._end()
        shown = await show_context(self.client, self.uri, where.line, where.character)
        self.shown_prompt = shown["prompt"] if shown else ""
        began = time.perf_counter()
        text = await self.long_request()
        seconds = time.perf_counter() - began
        self.results.append(Result("long", seconds, text))
        print(f"  the asked-for multi-line completion: {seconds:.1f} s, {len(text)} characters, "
              f"{text.count(chr(10))} lines (wanted a stream of more than {min_stream_s:.0f} s)")

    async def timed_request(self, explicit: bool = False) -> tuple[float, int]:
        where = self._end()
        trigger = (types.InlineCompletionTriggerKind.Invoked if explicit
                   else types.InlineCompletionTriggerKind.Automatic)
        began = time.perf_counter()
        result = await inline(self.client, self.uri, where.line, where.character, trigger)
        text = result.items[0].insert_text if result and result.items else ""
        return time.perf_counter() - began, len(str(text))

    def print_results(self) -> None:
        print("\n== the completions, in order ==")
        for r in self.results:
            shown = r.text if len(r.text) < 70 else r.text[:67] + "..."
            print(f"  {r.kind:9} {r.seconds:6.2f} s  {shown!r}")
