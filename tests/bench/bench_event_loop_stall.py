"""How long a completion holds up the server's event loop: the ONNX runtime's model in the
worker thread of the server's process (the former design) vs in a process of its own.

A ticker task sleeps 1 ms at a time on the event loop while one completion runs (a fresh
document each time, so the whole ~1,000-token fill-in-the-middle prompt is prefilled, then up
to 32 tokens); per engine: the longest gap between two turns (the event loop's longest stall:
no LSP message is read or answered meanwhile), turns per second, time to the first token and
in all. Both engines are loaded side by side; rounds alternate their order; medians.

    .venv/bin/python tests/bench/bench_event_loop_stall.py [--rounds 5] [--threads 0]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from loomline.completion.engines.base import GenerationRequest, SamplingParams  # noqa: E402
from loomline.completion.engines.onnx import OnnxEngine  # noqa: E402
from loomline.completion.settings import ModelSettings, Settings  # noqa: E402
from loomline.completion.templates import template_for  # noqa: E402
from tests.bench.bench_engines import fim_parts  # noqa: E402
from tests.model.event_loop_lag import InThreadOnnxEngine, lag_until_first_chunk  # noqa: E402

MAX_TOKENS = 32


async def one(engine: Any, number: int) -> dict[str, float]:
    template = template_for("Qwen/Qwen2.5-Coder-0.5B-Instruct")
    prefix, suffix = fim_parts()
    params = SamplingParams(max_tokens=MAX_TOKENS, temperature=0.0, stop=template.stop)
    request = GenerationRequest(template.fim(prefix, suffix), params,
                                affinity_key=f"round-{number}")  # fmt: skip
    started = time.perf_counter()
    lag = await lag_until_first_chunk(engine, request, whole=True)
    total = time.perf_counter() - started
    return {"max_stall_ms": lag.max_stall_s * 1000, "turns_per_s": lag.ticks / total,
            "first_token_s": lag.stats.first_token_s or float("nan"), "total_s": total,
            "prompt_tokens": lag.stats.prompt_tokens}  # fmt: skip


async def main(rounds: int, threads: int) -> None:
    settings = Settings(model=ModelSettings(runtime="onnx", threads=threads))
    engines = {"thread": InThreadOnnxEngine(settings), "process": OnnxEngine(settings)}
    for engine in engines.values():
        await engine.wait_ready(timeout=1800)
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in engines}
    for number in range(rounds):
        order = list(engines) if number % 2 == 0 else list(engines)[::-1]
        for name in order:
            row = await one(engines[name], number)
            rows[name].append(row)
            print(f"round {number + 1} {name}: " + ", ".join(f"{k} {v:.3g}" for k, v in
                                                            row.items()), flush=True)  # fmt: skip
    for engine in engines.values():
        await engine.close()
    columns = ("max_stall_ms", "turns_per_s", "first_token_s", "total_s")
    prompt = rows["thread"][0]["prompt_tokens"]
    print(f"\nmedians of {rounds} rounds; prompt {prompt:.0f} tokens, greedy up to {MAX_TOKENS}")
    print("| ONNX model runs in | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for name, runs in rows.items():
        cells = [f"{statistics.median(r[c] for r in runs):.3g}" for c in columns]
        print(f"| {name} | " + " | ".join(cells) + " |")
    before, after = (statistics.median(r["max_stall_ms"] for r in rows[n])
                     for n in ("thread", "process"))  # fmt: skip
    print(f"longest event-loop stall: {before / after:.0f}x shorter in a process of its own")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="model.threads (0: free cores)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rounds, arguments.threads))
