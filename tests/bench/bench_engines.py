"""The embedded engine's runtimes side by side: torch (bf16) vs ONNX Runtime GenAI (int4).

Each round runs every engine once, in its own subprocess (so peak RSS is that engine's own),
in alternating order; the table gives medians over the rounds. Per engine and round: load
time (ready to answer, model already prepared), first token of a ~1,000-token fill-in-the-
middle prompt, decode tokens/s (greedy, up to 64 tokens), the re-prefill after typing (the
same document with two more characters at the cursor: time to its first token, and how many
prompt tokens came from the KV cache), peak RSS.

    .venv/bin/python tests/bench/bench_engines.py [--rounds 3] [--threads 0]
        [--engines torch,onnx,onnx:/path/to/another/onnx/model]

``onnx:PATH`` runs an ONNX model directory as it is (``model.path``), e.g. one built with
other builder options, to compare them in the same run. Build the int4 model first
(``loomline model pull --runtime onnx``) or the first onnx round includes the build.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "completion" / "service.py"  # real code as the document
PREFIX_CHARS = 3600  # ~1,000 tokens of prompt with the suffix
SUFFIX_CHARS = 600
MAX_TOKENS = 64
TYPED = "se"  # what the user types at the cursor before the second request


def fim_parts() -> tuple[str, str]:
    """A prefix ending inside a function body and the text after it."""
    text = SOURCE.read_text(encoding="utf-8")
    cut = text.index("\n", len(text) // 2) + 1
    cut = text.index("\n", cut + 1) + 1
    return text[max(0, cut - PREFIX_CHARS) : cut] + "        ", text[cut : cut + SUFFIX_CHARS]


# ---- one engine, one round (in a subprocess) --------------------------------------------
async def measure(engine_spec: str, threads: int) -> dict[str, Any]:
    from loomline.completion.engines import create_engine
    from loomline.completion.engines.base import (
        GenerationRequest,
        GenerationStats,
        SamplingParams,
    )
    from loomline.completion.settings import ModelSettings, Settings
    from loomline.completion.templates import template_for

    runtime, _, path = engine_spec.partition(":")
    model = ModelSettings(runtime=runtime, threads=threads, path=path or None)  # type: ignore[arg-type]
    engine: Any = create_engine(Settings(model=model))
    started = time.perf_counter()
    await engine.wait_ready(timeout=1800)
    load_s = time.perf_counter() - started
    template = template_for(model.id)
    prefix, suffix = fim_parts()

    async def run(prompt: str, max_tokens: int) -> tuple[GenerationStats, list[float]]:
        stats = GenerationStats()
        params = SamplingParams(max_tokens=max_tokens, temperature=0.0)
        request = GenerationRequest(prompt, params, affinity_key="bench")
        stamps = [time.perf_counter()]
        async for _chunk in engine.stream(request, stats):
            stamps.append(time.perf_counter())
        return stats, stamps

    first, stamps = await run(template.fim(prefix, suffix), MAX_TOKENS)
    decode_s = stamps[-1] - stamps[1] if len(stamps) > 2 else float("nan")
    typed, _ = await run(template.fim(prefix + TYPED, suffix), 4)
    await engine.close()
    return {
        "engine": engine_spec,
        "load_s": load_s,
        "prompt_tokens": first.prompt_tokens,
        "first_token_s": first.first_token_s,
        "decode_tok_s": (first.generated_tokens - 1) / decode_s if decode_s > 0 else None,
        "generated": first.generated_tokens,
        "reprefill_s": typed.first_token_s,
        "cached_tokens": typed.cached_prompt_tokens,
        # The ONNX runtime's model runs in a child process (ended by close(), so counted here).
        "peak_rss_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                        + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024,
    }


# ---- the driver -------------------------------------------------------------------------
def run_round(engine_spec: str, threads: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", engine_spec, "--threads", str(threads)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{engine_spec} failed:\n{result.stderr[-3000:]}")
    row: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return row


COLUMNS = (
    ("load_s", "load s", "{:.2f}"),
    ("first_token_s", "first token s", "{:.2f}"),
    ("decode_tok_s", "decode tok/s", "{:.1f}"),
    ("reprefill_s", "re-prefill s", "{:.3f}"),
    ("cached_tokens", "cached tokens", "{:.0f}"),
    ("peak_rss_mb", "peak RSS MB", "{:.0f}"),
)


def median_of(rows: list[dict[str, Any]], key: str) -> float:
    values = [r[key] for r in rows if r[key] is not None]
    return statistics.median(values) if values else float("nan")


def print_table(results: dict[str, list[dict[str, Any]]], rounds: int, threads: int) -> None:
    specs = list(results)
    prompt = results[specs[0]][0]["prompt_tokens"]
    print(f"\nmedians of {rounds} interleaved rounds; prompt {prompt} tokens, greedy "
          f"{MAX_TOKENS} tokens; threads {threads or 'auto (free cores)'}")  # fmt: skip
    print("| engine | " + " | ".join(title for _, title, _ in COLUMNS) + " |")
    print("|---|" + "---|" * len(COLUMNS))
    for spec in specs:
        cells = [fmt.format(median_of(results[spec], key)) for key, _, fmt in COLUMNS]
        print(f"| {spec} | " + " | ".join(cells) + " |")
    base = specs[0]
    for spec in specs[1:]:
        ratios = []
        for key, title, _ in COLUMNS[:4]:
            a, b = median_of(results[base], key), median_of(results[spec], key)
            faster = b / a if key == "decode_tok_s" else a / b
            ratios.append(f"{title} {faster:.2f}x")
        print(f"{spec} vs {base} (higher = {spec} faster): " + ", ".join(ratios))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="model.threads (0: free cores)")
    parser.add_argument("--engines", default="torch,onnx")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(asyncio.run(measure(args.worker, args.threads))))
        return
    specs = args.engines.split(",")
    results: dict[str, list[dict[str, Any]]] = {spec: [] for spec in specs}
    for number in range(args.rounds):
        order = specs if number % 2 == 0 else specs[::-1]
        for spec in order:
            row = run_round(spec, args.threads)
            results[spec].append(row)
            print(f"round {number + 1} {spec}: " + ", ".join(
                f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                for k, v in row.items() if k != "engine"
            ), flush=True)  # fmt: skip
    print_table(results, args.rounds, args.threads)


if __name__ == "__main__":
    main()
