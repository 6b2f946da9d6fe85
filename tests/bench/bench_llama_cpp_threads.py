"""llama-cpp-python's server with different thread settings, side by side: time to the first
token of a fresh ~1,000-token FIM prompt (nothing reused from the server's prompt cache), of
the same prompt after two typed characters (the prefix reused), and decode tokens/s; medians
over rounds, configurations interleaved within each round::

    .venv/bin/python tests/bench/bench_llama_cpp_threads.py \\
        --llama-python /tmp/llamavenv/bin/python \\
        --configs "default;--n_threads 1 --n_threads_batch 1;--n_threads 2 --n_threads_batch 2"

The server's defaults are ``n_threads`` = half the CPUs and ``n_threads_batch`` = all of them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.check_llama_cpp import ALIAS, GGUF, LlamaServer

SOURCE = Path(__file__).resolve().parents[2] / "completion" / "service.py"


def fim_prompt(round_no: int, typed: str = "") -> str:
    """About 1,000 tokens of real code before the cursor, different in every round from its
    first line (so no prompt cache helps), a short suffix after it."""
    lines = SOURCE.read_text("utf-8").splitlines(keepends=True)
    prefix = f"# round {round_no}\n" + "".join(lines[:110])
    prefix += "    def helper(self):\n        " + typed
    return f"<|fim_prefix|>{prefix}<|fim_suffix|>\n        return None\n<|fim_middle|>"


def timed(url: str, prompt: str, max_tokens: int) -> tuple[float, float]:
    """Seconds to the first text; decode tokens/s after it (chunks are tokens here)."""
    body = {"model": ALIAS, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0.0,
            "stream": True, "stop": ["<|endoftext|>", "<|fim_pad|>"]}
    began = time.perf_counter()
    first: float | None = None
    chunks = 0
    with httpx.stream("POST", url + "/completions", json=body, timeout=600) as response:
        for line in response.iter_lines():
            if not line.startswith("data:") or line.endswith("[DONE]"):
                continue
            if json.loads(line[5:])["choices"][0].get("text"):
                chunks += 1
                first = first if first is not None else time.perf_counter()
    end = time.perf_counter()
    assert first is not None, "no text came back"
    rate = (chunks - 1) / (end - first) if chunks > 1 and end > first else 0.0
    return first - began, rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--llama-python", required=True)
    parser.add_argument("--gguf", type=Path, default=GGUF)
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--configs", default="default;--n_threads 1 --n_threads_batch 1",
                        help="';'-separated server options, 'default' for none")
    args = parser.parse_args()
    configs = [c.strip() for c in args.configs.split(";")]
    work = Path(tempfile.mkdtemp(prefix="llama-threads-"))
    figures: dict[str, list[tuple[float, float, float]]] = {c: [] for c in configs}
    for round_no in range(args.rounds):
        order = configs if round_no % 2 == 0 else configs[::-1]
        for config in order:
            extra = () if config == "default" else tuple(config.split())
            server = LlamaServer(args.llama_python, args.gguf, args.port,
                                 work / "exchanges.jsonl", work / "server.log", extra)
            server.start()
            try:
                timed(server.url, "<|fim_prefix|>x = <|fim_suffix|><|fim_middle|>", 2)  # warm
                fresh, rate = timed(server.url, fim_prompt(round_no), args.max_tokens)
                reuse, _ = timed(server.url, fim_prompt(round_no, "se"), 2)
            finally:
                server.kill()
            figures[config].append((fresh, reuse, rate))
            print(f"round {round_no + 1} [{config}]: first token {fresh:.2f} s, after typing "
                  f"{reuse:.2f} s, decode {rate:.1f} tok/s", flush=True)
    print(f"\nmedians of {args.rounds} rounds (prompt ~1,000 tokens, {args.max_tokens} tokens):")
    print(f"  {'server options':40} first token  after typing  decode tok/s")
    for config, rows in figures.items():
        fresh, reuse, rate = (statistics.median(r[i] for r in rows) for i in range(3))
        print(f"  {config:40} {fresh:9.2f} s {reuse:11.2f} s {rate:11.1f}")


if __name__ == "__main__":
    main()
