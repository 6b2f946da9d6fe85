"""The README's llama.cpp recipe, run by hand: a real ``python -m llama_cpp.server`` (from
llama-cpp-python, built in its own venv: ~15 minutes here, too long for CI) and a real
``loomline lsp`` over stdio with the recipe's settings. Prints what it saw, check by check::

    .venv/bin/python tests/bench/check_llama_cpp.py --llama-python /tmp/llamavenv/bin/python

1. The wire: the server takes Loomline's request as sent (HTTP 200); the prompt it receives is
   the FIM text of ``loomline.showContext``; its prompt token count equals the tokenizer's (no
   BOS, no chat template, each FIM marker one special token); answers end at an
   end-of-generation token with no marker in their text.
2. Typing: inline completions at typing pauses, some cancelled by typing on while the server
   streams, and one asked-for multi-line completion that streams for more than 15 s (the
   healthy probe interval): no answer cut short (every stream the server sent either ended
   with a finish reason or was dropped by Loomline's cancel), no ``/v1/models`` while a
   completion streamed, and the status never ``error``.
3. Killing the server mid-stream: the request answers (no crash), the status turns to error
   with a message, completions answer empty at once while it is down; started again, the
   status is ready again and completions come back.

The server runs under ``llama_cpp_recorder.py``, which logs every exchange it serves.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.bench.llama_typing import TypingSession, ensure  # noqa: E402
from tests.conftest import server_command  # noqa: E402
from tests.lsp_client import LoomlineClient, Session, start_session, wait_ready  # noqa: E402

RECORDER = Path(__file__).with_name("llama_cpp_recorder.py")
GGUF = Path("~/.cache/loomline/downloads/Qwen2.5-Coder-0.5B-Instruct.gguf").expanduser()
ALIAS = "qwen2.5-coder"
FIM_MARKERS = ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>")


@dataclass
class LlamaServer:
    """``python -m llama_cpp.server`` as the README starts it, under the exchange recorder."""

    python: str
    gguf: Path
    port: int
    record: Path
    log: Path
    extra: tuple[str, ...] = ()  # more of the server's own options
    process: subprocess.Popen[bytes] | None = None
    starts: list[float] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> float:
        """Start it and wait until ``/v1/models`` answers; seconds that took."""
        began = time.perf_counter()
        command = [self.python, str(RECORDER), "--model", str(self.gguf),
                   "--model_alias", ALIAS, "--n_ctx", "4096",
                   "--host", "127.0.0.1", "--port", str(self.port), *self.extra]
        env = {**os.environ, "LLAMA_RECORD": str(self.record)}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, env=env)
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"llama.cpp server exited: see {self.log}")
            try:
                if httpx.get(self.url + "/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.starts.append(time.time())
        return time.perf_counter() - began

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def exchanges(self) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text("utf-8").splitlines()]


def readme_settings(url: str) -> dict[str, Any]:
    """The settings of the README's llama.cpp recipe, its URL pointed at ``url``."""
    text = (REPO / "README.md").read_text("utf-8")
    recipe = text[text.index("**llama.cpp**"):]
    settings: dict[str, Any] = json.loads(recipe[recipe.index("```json") + 7:
                                                 recipe.index("```", recipe.index("```json") + 7)])
    settings["engine"]["urls"] = [url]
    return settings


def sse_events(response: str) -> list[Any]:
    events = []
    for line in response.splitlines():
        if line.startswith("data:"):
            data = line[5:].strip()
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


def finish_reason(exchange: dict[str, Any]) -> str | None:
    for event in sse_events(exchange["response"]):
        if isinstance(event, dict):
            for choice in event.get("choices") or ():
                if choice.get("finish_reason"):
                    return str(choice["finish_reason"])
    return None


# ---- 1. the wire ------------------------------------------------------------------------
def check_wire(server: LlamaServer, sent: list[dict[str, Any]], shown_prompt: str,
               tokenizer_dir: Path | None) -> None:
    print("\n== 1. what the server received ==")
    ensure(bool(sent), "Loomline sent completions to the server")
    body = next((s for s in sent if s["prompt"] == shown_prompt), sent[0])
    print("  request fields:", sorted(body))
    print("  stop:", body.get("stop"), " max_tokens:", body.get("max_tokens"))
    prompt = body["prompt"]
    ensure(prompt.startswith(FIM_MARKERS[0]) and prompt.endswith(FIM_MARKERS[2])
           and FIM_MARKERS[1] in prompt, "the prompt is Qwen's FIM text "
           "(<|fim_prefix|> ... <|fim_suffix|> ... <|fim_middle|>)")
    same = [s["prompt"] for s in sent if s["prompt"] == shown_prompt]
    if not same:
        long = sent[-1]["prompt"]
        pairs = enumerate(zip(long, shown_prompt, strict=False))
        at = next((i for i, (a, b) in pairs if a != b), None)
        print(f"  the last prompt sent and showContext's differ at {at}: "
              f"{long[max(0, (at or 0) - 80):(at or 0) + 80]!r} vs "
              f"{shown_prompt[max(0, (at or 0) - 80):(at or 0) + 80]!r}")
    ensure(bool(same), "a prompt the server received equals loomline.showContext's there")
    answer = httpx.post(server.url + "/completions", timeout=300, json={
        **{k: v for k, v in body.items() if k not in ("stream", "stream_options")},
        "max_tokens": 1}).json()
    server_count = answer["usage"]["prompt_tokens"]
    if tokenizer_dir is not None:
        from transformers import AutoTokenizer

        ids = AutoTokenizer.from_pretrained(tokenizer_dir)(prompt)["input_ids"]
        print(f"  prompt tokens: server {server_count}, tokenizer {len(ids)}")
        ensure(server_count == len(ids), "the server counts the tokenizer's tokens: no BOS, "
               "no chat template, each FIM marker one special token")
    statuses = {(e["path"], e.get("status")) for e in server.exchanges()}
    ensure(all(status == 200 for _, status in statuses), f"every answer was HTTP 200: {statuses}")


def check_stops(server: LlamaServer) -> None:
    completions = [e for e in server.exchanges() if e["path"].endswith("/completions")]
    ended = [e for e in completions if finish_reason(e) == "stop"]
    texts = ["".join(c.get("text") or "" for ev in sse_events(e["response"]) if isinstance(ev, dict)
                     for c in ev.get("choices") or ()) for e in completions]
    print(f"  finish reasons at the server: "
          f"{sorted({str(finish_reason(e)) for e in completions})}; 'stop': {len(ended)}")
    ensure(bool(ended), "some answers ended at an end-of-generation token (finish 'stop')")
    ensure(not any("<|" in t for t in texts), "no special-token marker in any answer's text")


# ---- 2. streams and probes -----------------------------------------------------------------
def how_it_ended(exchange: dict[str, Any]) -> str:
    """``finish:REASON``; ``cut`` (a bare [DONE]: the server ended it for another request);
    ``closed`` (Loomline hung up: a cancel, or the answer was complete to it)."""
    events = sse_events(exchange["response"])
    if reason := finish_reason(exchange):
        return f"finish:{reason}"
    return "cut" if "[DONE]" in events else "closed"


def check_streams(server: LlamaServer, since: float) -> None:
    print("\n== 2. streams and probes, from the server's exchange log ==")
    log = [e for e in server.exchanges() if e["arrived"] >= since]
    print("  at s  kind        first  last  chunks  end")
    for e in log:
        kind = "completion" if e["method"] == "POST" else "probe"
        first = e.get("first_byte", e["finished"]) - e["arrived"]
        last = e.get("last_byte", e["finished"]) - e["arrived"]
        chunks = sum(1 for ev in sse_events(e["response"]) if isinstance(ev, dict))
        end = how_it_ended(e) if kind == "completion" else str(e.get("status"))
        print(f"  {e['arrived'] - since:5.1f} {kind:10} {first:6.1f} {last:5.1f} {chunks:7}  {end}")
    # Loomline's (streamed); this check's own token count is not.
    completions = [e for e in log
                   if e["method"] == "POST" and json.loads(e["request"]).get("stream")]
    probes = [e for e in log if e["path"].endswith("/models")]
    ends = [how_it_ended(e) for e in completions]
    longest = max((e["last_byte"] - e["arrived"] for e in completions if "last_byte" in e),
                  default=0.0)
    print(f"  completions: {len(completions)} ({ends.count('closed')} closed by Loomline, "
          f"{ends.count('cut')} cut short by the server); longest stream {longest:.1f} s; "
          f"probes: {len(probes)}")
    overlapping = [p for p in probes for c in completions
                   if c["arrived"] < p["arrived"] < c.get("last_byte", c["finished"])]
    ensure("cut" not in ends, "no answer was cut short by the server")
    ensure(longest > 15, "one answer streamed for more than 15 s (a healthy probe came due)")
    ensure(not overlapping, "no probe reached the server while it streamed a completion")


async def typing_phase(client: LoomlineClient, work: Path) -> TypingSession:
    print("\n== 2. typing ==")
    typing = TypingSession(client, work / "stats.py")
    await typing.open()
    await typing.type_and_complete(cancel_every=3)
    await typing.long_completion(min_stream_s=15.0)
    typing.print_results()
    ensure(sum(1 for r in typing.results if r.kind == "answered") >= 7,
           "at least 7 inline completions answered")
    ensure(any(r.kind == "cancelled" for r in typing.results), "some cancelled by typing on")
    states = client.states()
    ensure("error" not in states, f"the status was never error while typing: {states}")
    return typing


# ---- 2b. a prefill that outlives its request ----------------------------------------------
def big_document() -> str:
    """About 2,000 tokens of code, the cursor (the end) in a function body: a prompt of
    ``promptTokens`` to prefill."""
    steps = [f'def step_{i}(value: int) -> int:\n    """Step {i} of the pipeline."""\n'
             f"    return value * {i} + {i * 7 % 13}\n" for i in range(80)]
    return "\n\n".join(steps) + "\n\ndef run(value: int) -> int:\n    "


async def prefill_phase(client: LoomlineClient, server: LlamaServer, work: Path) -> None:
    """Typing on during a long prefill cancels the request, but the server prefills to the
    end (it cannot stop mid-prefill) and answers a probe only after that: a probe that comes
    due then must wait, and the status stay ready."""
    print("\n== 2b. requests cancelled while the server prefills, then a pause ==")
    since, began = len(client.statuses), time.time()
    big = TypingSession(client, work / "service_copy.py")
    await big.open(big_document())
    for n in range(2):  # typing on twice: two prefills queue at the server
        await big.cancelled_in_prefill()
        print(f"  request {n + 1} cancelled at +{time.time() - began:.1f} s", flush=True)
        big.type_text("x")
    cancelled = time.time()
    while time.time() < cancelled + 300 and not any(
            e["path"].endswith("/models") and e["arrived"] > cancelled
            for e in server.exchanges()):
        await asyncio.sleep(0.2)
    log = [e for e in server.exchanges() if e["arrived"] >= began]
    probe = next((e for e in log if e["path"].endswith("/models") and e["arrived"] > cancelled),
                 None)
    ensure(probe is not None, "a probe came within 300 s")
    assert probe is not None
    busy_until = max(e["finished"] for e in log if e["method"] == "POST")
    print(f"  the server prefilled the cancelled requests until +{busy_until - began:.1f} s; "
          f"a probe arrived at +{probe['arrived'] - began:.1f} s and was answered "
          f"{probe.get('first_byte', probe['finished']) - probe['arrived']:.1f} s later")
    states = [_state(s) for s in client.statuses[since:]]
    messages = [_message(s) for s in client.statuses[since:] if _state(s) == "error"]
    ensure("error" not in states, f"the status stayed ready: {states} {messages}")


# ---- 3. kill and restart -------------------------------------------------------------------
async def kill_phase(client: LoomlineClient, server: LlamaServer, typing: TypingSession) -> None:
    print("\n== 3. the server killed mid-stream, then started again ==")
    since = len(client.statuses)
    typing.type_text('"Li": ("Lithium", 3, 6.94),\n    ')
    await typing.settle()
    running = asyncio.create_task(typing.long_request())
    await typing.wait_streaming()
    await asyncio.sleep(3.0)  # a few lines stream first: the kill shows which are kept
    killed = time.perf_counter()
    server.kill()
    answer = await running
    print(f"  the running request answered {time.perf_counter() - killed:.2f} s after the "
          f"kill: {answer.count(chr(10))} whole lines kept ({len(answer)} characters)")
    await client_wait(client, since, "error")
    error = next(s for s in client.statuses[since:] if _state(s) == "error")
    print(f"  status error {time.perf_counter() - killed:.2f} s after the kill: "
          f"{_message(error)!r}")
    ensure("cannot reach" in _message(error), "the status says the server cannot be reached")
    latencies = []
    for key, explicit in (('"B', True), ("e", False), ("r", True), ("y", False)):
        typing.type_text(key)
        latencies.append((explicit, *await typing.timed_request(explicit)))
    print("  while down, inline completions (asked for / typed) answered in "
          + ", ".join(f"{'asked' if e else 'typed'} {s * 1000:.0f} ms ({n} chars)"
                      for e, s, n in latencies))
    ensure(all(n == 0 for _, _, n in latencies), "answered empty while down")
    ensure(all(s < 1.0 for _, s, _ in latencies), "at once, typed ones too (no typing pause)")
    print("  popups:", [m.message for m in getattr(client, "messages", [])][-3:])
    since = len(client.statuses)
    load_s = server.start()
    up = time.perf_counter()
    await client_wait(client, since, "ready")
    print(f"  started again: up after {load_s:.1f} s, status ready "
          f"{time.perf_counter() - up:.2f} s after that")
    typing.type_text('llium", 4, 9.0122),\n    ')
    _, chars = await typing.timed_request(explicit=True)
    ensure(chars > 0, "a completion answers again after the restart")


def _state(status: Any) -> str:
    return str(status["state"] if isinstance(status, dict) else status.state)


def _message(status: Any) -> str:
    return str(status["message"] if isinstance(status, dict) else status.message)


async def client_wait(client: LoomlineClient, since: int, state: str) -> None:
    deadline = time.monotonic() + 60
    while not any(_state(s) == state for s in client.statuses[since:]):
        if time.monotonic() > deadline:
            ensure(False, f"status {state} within 60 s")
        await asyncio.sleep(0.02)


async def run(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="llama-check-"))
    server = LlamaServer(args.llama_python, args.gguf, args.port, work / "exchanges.jsonl",
                         work / "llama-server.log", tuple(args.server_args.split()))
    print(f"llama.cpp server: up in {server.start():.1f} s ({server.url}; log {work})")
    settings = readme_settings(server.url)
    # Room for the long answer: more tokens and time than the defaults give an asked-for one.
    settings["completion"] = {"maxTokens": 1024, "explicitDeadlineMs": 120000}
    print("settings:", json.dumps(settings))
    client = LoomlineClient()
    os.environ["LOOMLINE_TEST_LOG_FILE"] = str(work / "loomline.log")
    await client.start_io(*server_command("lsp"))
    try:
        await start_session(client, Session(options=settings, root_uri=work.as_uri()))
        await wait_ready(client, 60)
        since = time.time()
        typing = await typing_phase(client, work)
        # The server logs an exchange when it ends, after Loomline read what it wanted: wait
        # for the last one (it serves one at a time, so every earlier one ended before).
        while not any(json.loads(e["request"] or "{}").get("prompt") == typing.shown_prompt
                      for e in server.exchanges()):
            await asyncio.sleep(0.1)
        sent = [json.loads(e["request"]) for e in server.exchanges()
                if e["method"] == "POST" and e["arrived"] >= since]
        check_wire(server, sent, typing.shown_prompt, typing.tokenizer_dir)
        check_stops(server)
        check_streams(server, since)
        await prefill_phase(client, server, work)
        await kill_phase(client, server, typing)
    finally:
        await client.shutdown_session()
        server.kill()
        print(f"\nlogs: {work}")
    print("\nall checks passed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--llama-python", required=True,
                        help="the Python of a venv with llama-cpp-python[server]==0.3.36")
    parser.add_argument("--gguf", type=Path, default=GGUF)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--server-args", default="",
                        help="more options for the server, e.g. '--n_threads_batch 1'")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
