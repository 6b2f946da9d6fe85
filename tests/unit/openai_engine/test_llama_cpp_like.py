"""The OpenAI engine against a server that behaves like llama.cpp's Python server: one request
at a time, a waiting request (a health probe too) interrupts the running answer, and a slow
prefill that outlives a cancelled request. Answers stay whole and the engine stays ready. And
the README's llama.cpp and Ollama recipes give valid settings for the servers they start."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from loomline.completion.engines import replicas as replicas_module
from loomline.completion.engines.base import EngineState, EngineUnavailable, GenerationStats
from loomline.completion.engines.openai import OpenAICompletionsEngine
from loomline.completion.settings import parse_settings
from tests.unit.openai_engine.fake_server import collect, make_engine, request
from tests.unit.openai_engine.llama_like import LLAMA_ANSWER, LlamaCppLike
from tests.waiting import eventually


@pytest.fixture
def probe_often(monkeypatch: pytest.MonkeyPatch) -> None:
    # A replica that is up is probed every 50 ms instead of every 15 s: every answer below
    # would meet many probes if probes were sent while it streams.
    monkeypatch.setattr(replicas_module, "PROBE_HEALTHY_S", 0.05)


@contextlib.asynccontextmanager
async def running(
    server: LlamaCppLike, heard: list[EngineState], **engine_args: object
) -> AsyncIterator[OpenAICompletionsEngine]:
    await server.start()
    engine = make_engine(server.url, **engine_args)  # type: ignore[arg-type]
    engine.subscribe(lambda state, _message: heard.append(state))
    await engine.start()
    try:
        await eventually(lambda: engine.state is EngineState.READY, what="the first probe")
        yield engine
    finally:
        await engine.close()
        await server.stop()


@pytest.mark.usefixtures("probe_often")
async def test_probes_never_cut_an_answer_short() -> None:
    """The issue's case: probing every 15 s cut llama.cpp's answers to one word."""
    server = LlamaCppLike(prefill_s=0.3, token_s=0.03)
    heard: list[EngineState] = []
    async with running(server, heard, read_ms=3000) as engine:
        for _ in range(3):
            probes = server.models_answered
            assert await collect(engine, request()) == LLAMA_ANSWER
            # Probing goes on between answers (so it had every chance to interrupt one).
            await eventually(lambda n=probes: server.models_answered > n, what="a probe")
    assert server.interrupted == 0 and server.finished == 3
    assert EngineState.ERROR not in heard


class HeldProbes(httpx.AsyncBaseTransport):
    """Real HTTP, except that ``GET /models`` waits for ``release`` before it is sent (a
    probe that left just before a completion did, and is slower on the way)."""

    def __init__(self) -> None:
        self._http = httpx.AsyncHTTPTransport()
        self.held = asyncio.Event()
        self.release = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            self.held.set()
            await self.release.wait()
        return await self._http.handle_async_request(request)

    async def aclose(self) -> None:
        await self._http.aclose()


@pytest.mark.usefixtures("probe_often")
async def test_a_completion_waits_for_a_probe_already_on_its_way() -> None:
    """A probe chosen while the replica was idle, overtaken by a completion, would reach the
    server second and interrupt it: the completion goes after the probe's answer."""
    server = LlamaCppLike(prefill_s=0.3)
    transport = HeldProbes()
    transport.release.set()
    heard: list[EngineState] = []
    async with running(server, heard, read_ms=3000, transport=transport) as engine:
        transport.held.clear()
        transport.release.clear()
        await eventually(transport.held.is_set, what="a probe on its way")
        answer = asyncio.create_task(collect(engine, request()))
        (replica,) = engine.replicas.replicas
        await eventually(lambda: replica.in_flight == 1, what="the completion under way")
        transport.release.set()
        assert await answer == LLAMA_ANSWER
    assert server.interrupted == 0
    assert EngineState.ERROR not in heard


@pytest.mark.usefixtures("probe_often")
@pytest.mark.parametrize(("read_ms", "stays_ready"), [(3000, True), (250, False)])
async def test_a_probe_behind_a_prefill_waits_as_long_as_the_read_timeout(
    read_ms: int, stays_ready: bool
) -> None:
    """Typing on cancels a request, but the server finishes its prefill first (it cannot stop
    it), and the next probe waits behind it: slow is not down, for as long as a completion
    may take to start answering (``readTimeoutMs``), and no longer."""
    server = LlamaCppLike(prefill_s=0.8)
    heard: list[EngineState] = []
    async with running(server, heard, read_ms=read_ms, connect_ms=100) as engine:
        probes = server.probes
        cancelled = asyncio.create_task(collect(engine, request()))
        await eventually(lambda: server.completions, what="the request at the server")
        cancelled.cancel()
        with contextlib.suppress(asyncio.CancelledError, EngineUnavailable):
            await cancelled
        # The next probe arrives while the server is still prefilling the cancelled request.
        await eventually(lambda: server.probes > probes, what="a probe during the prefill")
        if stays_ready:
            answered = server.models_answered
            await eventually(lambda: server.models_answered > answered, what="its answer")
            assert engine.state is EngineState.READY
            assert await collect(engine, request()) == LLAMA_ANSWER
        else:
            await eventually(lambda: engine.state is EngineState.ERROR, what="a probe timeout")
    assert (EngineState.ERROR not in heard) is stays_ready


async def test_an_answer_cut_by_another_request_is_not_taken_for_whole() -> None:
    """Two requests at once (two documents): the server cuts the first one off with a bare
    [DONE]. Its text so far is passed on, but the stream says it did not finish (the
    completion service keeps its whole lines and tells the user), instead of a word that
    looks like the whole answer."""
    server = LlamaCppLike(prefill_s=0.1, token_s=0.05)
    heard: list[EngineState] = []
    async with running(server, heard, read_ms=3000) as engine:
        first_text: list[str] = []

        async def first() -> None:
            async for text in engine.stream(request("file:///a.py")):
                first_text.append(text)

        cut = asyncio.create_task(first())
        await eventually(lambda: first_text, what="the first answer under way")
        assert await collect(engine, request("file:///b.py")) == LLAMA_ANSWER
        with pytest.raises(EngineUnavailable, match="without a finish reason"):
            await cut
    assert server.interrupted == 1
    assert "".join(first_text) != LLAMA_ANSWER
    assert LLAMA_ANSWER.startswith("".join(first_text))


# ---- the README's recipes ------------------------------------------------------------------
README = Path(__file__).resolve().parents[3] / "README.md"


def _recipes() -> str:
    text = README.read_text("utf-8")
    start = text.index("### Other OpenAI-compatible servers")
    return text[start : text.index("\n### ", start + 1)]


def test_the_readme_recipes_are_valid_settings_for_the_servers_they_start() -> None:
    section = _recipes()
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", section, re.S)]
    assert len(blocks) == 2  # llama.cpp, Ollama
    for raw in blocks:
        settings, problems = parse_settings(raw)
        assert not problems, problems
        assert settings.backend == "vllm" and settings.model.template == "qwen"
    llama, ollama = (b["engine"] for b in blocks)
    port = re.search(r"--port (\d+)", section)
    alias = re.search(r"--model_alias (\S+)", section)
    assert port and alias
    assert llama["urls"] == [f"http://127.0.0.1:{port[1]}/v1"]
    assert llama["servedModel"] == alias[1]
    pulled = re.search(r"ollama pull (\S+)", section)
    created = re.search(r"ollama create (\S+) -f Modelfile", section)
    modelfile = re.search(r"<<'EOF'\n(.*?)\nEOF\n", section, re.S)
    assert pulled and created and modelfile
    assert ollama["servedModel"] == created[1]
    lines = modelfile[1].splitlines()
    assert f"FROM {pulled[1]}" in lines
    # Ollama's /v1/completions applies the model's template: it must pass the FIM prompt as is.
    assert 'TEMPLATE """{{ .Prompt }}"""' in lines
    assert ollama["urls"] == ["http://127.0.0.1:11434/v1"]
    # Both servers cut a longer prompt: their context holds the whole prompt and the answer.
    settings, _ = parse_settings(blocks[0])
    needed = (settings.completion.prompt_tokens / (1 - settings.context.budget_share)
              + settings.completion.max_tokens)
    n_ctx = re.search(r"--n_ctx (\d+)", section)
    num_ctx = re.search(r"PARAMETER num_ctx (\d+)", modelfile[1])
    assert n_ctx and num_ctx
    assert int(n_ctx[1]) >= needed and int(num_ctx[1]) >= needed


@pytest.mark.parametrize("servers", [1, 2])
async def test_a_request_cancelled_before_the_first_event_says_so(servers: int) -> None:
    """Seen with the real server: typing on while it prefilled left the generation's stats
    without a finish reason for good (``loomline.stats`` showed it running). A cancel before
    the answer's first event (headers or first chunk not yet there) is a cancel too, whether
    or not another replica could have taken the request."""
    llamas = [LlamaCppLike(prefill_s=30.0) for _ in range(servers)]
    for llama in llamas:
        await llama.start()
    engine = make_engine(*(s.url for s in llamas), read_ms=60000)
    await engine.start()
    try:
        stats = GenerationStats()
        waiting = asyncio.create_task(collect(engine, request(), stats))
        await eventually(lambda: any(s.completions for s in llamas), what="the request sent")
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
        assert stats.finish_reason == "cancelled"
    finally:
        await engine.close()
        for llama in llamas:
            await llama.stop()
