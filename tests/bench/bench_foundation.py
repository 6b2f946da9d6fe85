"""Foundation benchmark: model preparation, server overhead vs raw generate, cancel latency,
peak memory. Prints figures (medians of several runs); not part of the test pass.

    .venv/bin/python tests/bench/bench_foundation.py [--runs 5] [--first-run]

--first-run also times a cold preparation (download + verify + convert) into a temporary cache.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

DOC = '''import json
from dataclasses import dataclass


@dataclass
class Order:
    id: int
    items: list[str]
    total: float


def load_orders(path: str) -> list[Order]:
    """Read orders from a JSON file and return them sorted by total, largest first."""
'''


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def time_preparation(first_run: bool) -> dict[str, float]:
    from loomline.completion.engines.embedded import _Generator
    from loomline.completion.engines.threads import ThreadPolicy
    from loomline.completion.model_store import ModelStore
    from loomline.completion.settings import DEFAULT_MODEL_ID, Settings

    out = {}
    if first_run:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            ModelStore(tmp).resolve(DEFAULT_MODEL_ID)
            out["first preparation (download+verify+convert) s"] = time.perf_counter() - started
    started = time.perf_counter()
    directory = ModelStore().resolve(DEFAULT_MODEL_ID)
    _Generator(directory, ThreadPolicy(0), Settings()).warm_up()
    out["cached start (resolve+load+warm-up) s"] = time.perf_counter() - started
    return out


async def server_runs(runs: int, max_tokens: int, raw: RawModel) -> dict[str, object]:
    """Each run: the server on a cold prompt, raw generate() on the same prompt and token
    count right after (side by side, so machine noise hits both), then the server again."""
    client = LanguageClient("bench", "1")
    statuses: list[object] = []
    client.feature("loomline/status")(lambda params: statuses.append(params))
    # stderr to a file: this client does not read it, and a full pipe would stall the server.
    log = Path(tempfile.gettempdir()) / "loomline-bench-server.log"
    await client.start_io(
        "sh", "-c", f"exec {sys.executable} -m loomline.server.cli --log-level warning lsp 2>{log}"
    )
    await client.initialize_async(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            initialization_options={
                "completion": {"multiline": "always", "maxTokens": max_tokens},
                "context": {"enabled": False},
            },
        )
    )
    client.initialized(types.InitializedParams())
    while not any(getattr(s, "state", None) == "ready" for s in statuses):
        await asyncio.sleep(0.05)
    uri = "file:///tmp/bench/orders.py"
    results: dict[str, list[float]] = {"cold": [], "warm": []}
    prompts: list[str] = []
    tokens: list[int] = []
    for run in range(runs):
        # A different first line invalidates the KV cache: a cold prompt, like a new file.
        text = f"# run {run}\n" + DOC + "    "
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="python", version=run, text=text
                )
            )
        )
        line = text.count("\n")
        for kind in ("cold", "warm"):
            started = time.perf_counter()
            await client.text_document_inline_completion_async(
                types.InlineCompletionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    position=types.Position(line=line, character=4),
                    context=types.InlineCompletionContext(
                        trigger_kind=types.InlineCompletionTriggerKind.Invoked
                    ),
                )
            )
            elapsed = time.perf_counter() - started
            stats = await client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="loomline.stats", arguments=[])
            )
            last = stats["recent"][-1]
            results[kind].append(elapsed)
            if kind == "cold":
                tokens.append(last["generatedTokens"])
                shown = await client.workspace_execute_command_async(
                    types.ExecuteCommandParams(
                        command="loomline.showContext",
                        arguments=[
                            {
                                "textDocument": {"uri": uri},
                                "position": {"line": line, "character": 4},
                            }
                        ],
                    )
                )
                prompts.append(shown["prompt"])
                await asyncio.to_thread(raw.run, shown["prompt"], last["generatedTokens"])
            results.setdefault(f"{kind} first token ms", []).append(last["firstTokenMs"] or 0)
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
    pid = client._server.pid  # type: ignore[union-attr]  # sh exec'd into the server
    peak_kb = 0
    for line_text in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line_text.startswith("VmHWM:"):
            peak_kb = int(line_text.split()[1])
    await client.shutdown_async(None)
    client.exit(None)
    return {"results": results, "prompts": prompts, "tokens": tokens, "peak_mb": peak_kb / 1024}


class RawModel:
    """The same model through transformers' own generate(), the baseline."""

    def __init__(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from loomline.completion.model_store import ModelStore
        from loomline.completion.settings import DEFAULT_MODEL_ID

        directory = ModelStore().resolve(DEFAULT_MODEL_ID)
        self.tokenizer = AutoTokenizer.from_pretrained(directory)
        self.model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.bfloat16)
        self.model.generate(**self.tokenizer("def f():", return_tensors="pt"), max_new_tokens=2)
        self.out: dict[str, list[float]] = {"total": [], "first token ms": []}

    def run(self, prompt: str, count: int) -> None:
        from transformers import TextIteratorStreamer

        tokenizer, model, out = self.tokenizer, self.model, self.out
        inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True)
        started = time.perf_counter()
        worker = threading.Thread(
            target=model.generate,
            kwargs=dict(
                **inputs,
                max_new_tokens=max(count, 1),
                min_new_tokens=max(count, 1),
                do_sample=False,
                streamer=streamer,
            ),
        )
        worker.start()
        first = None
        for _ in streamer:
            if first is None:
                first = time.perf_counter() - started
        worker.join()
        out["total"].append(time.perf_counter() - started)
        out["first token ms"].append((first or 0) * 1000)


async def cancel_latency(runs: int) -> list[float]:
    """ms from closing a stream to the engine's worker stopping."""
    from loomline.completion.engines.base import GenerationRequest, GenerationStats, SamplingParams
    from loomline.completion.engines.embedded import EmbeddedEngine
    from loomline.completion.settings import Settings

    engine = EmbeddedEngine(Settings())
    await engine.wait_ready()
    latencies = []
    for run in range(runs):
        stats = GenerationStats()
        stream = engine.stream(
            GenerationRequest(f"# {run}\n" + DOC, SamplingParams(max_tokens=200)), stats
        )
        count = 0
        async for _ in stream:
            count += 1
            if count == 10:
                break
        closed = time.perf_counter()
        await stream.aclose()
        while stats.stopped_at is None:
            await asyncio.sleep(0.001)
        latencies.append((stats.stopped_at - closed) * 1000)
    await engine.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--first-run", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    prep = time_preparation(args.first_run)
    raw_model = RawModel()
    served = asyncio.run(server_runs(args.runs, args.max_tokens, raw_model))
    raw = raw_model.out
    cancels = asyncio.run(cancel_latency(args.runs))

    res = served["results"]  # type: ignore[index]
    tokens = served["tokens"]  # type: ignore[index]
    cold = median(res["cold"])
    raw_total = median(raw["total"])
    print(f"\nLoomline foundation benchmark, {args.runs} runs, medians, {os.cpu_count()} CPUs\n")
    for name, value in prep.items():
        print(f"{name:50} {value:8.2f}")
    print(f"{'tokens generated per request':50} {median([float(t) for t in tokens]):8.0f}")
    print(f"{'server: request -> answer, cold prompt (s)':50} {cold:8.3f}")
    print(f"{'server: first token, cold prompt (ms)':50} {median(res['cold first token ms']):8.1f}")
    print(f"{'server: request -> answer, same prompt again (s)':50} {median(res['warm']):8.3f}")
    print(f"{'server: first token, KV reused (ms)':50} {median(res['warm first token ms']):8.1f}")
    print(f"{'raw generate(): same prompt and tokens (s)':50} {raw_total:8.3f}")
    print(f"{'raw generate(): first token (ms)':50} {median(raw['first token ms']):8.1f}")
    print(f"{'server tokens/s (cold)':50} {median([float(t) for t in tokens]) / cold:8.2f}")
    print(f"{'raw tokens/s':50} {median([float(t) for t in tokens]) / raw_total:8.2f}")
    ratios = [s / r for s, r in zip(res["cold"], raw["total"], strict=True)]
    print(f"{'overhead ratio server/raw (cold, target <= 1.10)':50} {median(ratios):8.3f}")
    print(
        f"{'cancel -> engine stopped (ms, target <= 100)':50} {median(cancels):8.1f}"
        f"   (max {max(cancels):.1f})"
    )
    print(f"{'server peak RSS with the model (MB)':50} {served['peak_mb']:8.0f}")


if __name__ == "__main__":
    main()
