"""The typing experience per embedded engine x model, quiet and with one core busy, side by side.

For each round, each load (``quiet``, then ``busy``: one process spinning on a core at normal
priority, as a build on a developer's laptop) and each engine (order reversed every other
round), in a process of its own:

* ``bench_serving.py --embedded --users 1 --skip-capacity --stop-every 8``: one simulated user
  typing through a ``CompletionService`` (didChange on every keystroke, single-line answers),
  8 characters a burst, then waiting for the answer: latency p50/p90 of the model's answers
  (the previous stop's prompt in the KV cache), time to first token p50/p90, tokens/s, peak
  RSS of the bench and its model process;
* ``loomline complete`` on the README's example, twice: first token and answer time as the
  command prints them, and the whole command's wall time (load included).

Medians over the rounds are printed as one table, plus each engine's ratio to the first engine
listed (the baseline: torch bf16, 0.5B, by default) on the same load, and the load average
seen; a "quiet" load average above the core count + 0.5 gets a warning (other jobs share
the cores: the figures are then not a quiet machine's).

    .venv/bin/python tests/bench/bench_typing_engines.py --rounds 2 \\
        --engines 0.5B:torch,0.5B:onnx:int8,1.5B:onnx:int4,1.5B:torch

An engine is ``MODEL:RUNTIME[:PRECISION]``; ``0.5B`` and ``1.5B`` name the Qwen2.5-Coder
instruct presets (both prepared beforehand with ``loomline model pull ID --runtime R``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MODELS = {"0.5B": "Qwen/Qwen2.5-Coder-0.5B-Instruct", "1.5B": "Qwen/Qwen2.5-Coder-1.5B-Instruct"}
EXAMPLE = "tests/fixtures/example.py:16:5"
SUMMARY = re.compile(r"(\d+) tokens, first after (\d+) ms, (\d+) ms in all")


@dataclass(frozen=True)
class EngineSpec:
    model: str  # "0.5B" / "1.5B" or a model id
    runtime: str
    precision: str = ""

    @classmethod
    def parse(cls, text: str) -> EngineSpec:
        parts = text.split(":")
        return cls(parts[0], parts[1], parts[2] if len(parts) > 2 else "")

    @property
    def model_id(self) -> str:
        return MODELS.get(self.model, self.model)

    @property
    def label(self) -> str:
        kind = self.precision or ("bf16" if self.runtime == "torch" else "")
        return f"{self.model} {self.runtime} {kind}".strip()


@contextmanager
def load(kind: str) -> Iterator[None]:
    """``busy``: a spinning process at normal priority for the duration."""
    if kind != "busy":
        yield
        return
    # It spins while its parent lives: a bench killed midway leaves no spinner behind.
    spinner = subprocess.Popen([sys.executable, "-c", "import os\nparent = os.getppid()\n"
                                "while os.getppid() == parent: pass"])
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


def run_serving(spec: EngineSpec, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "serving.json"
        command = [sys.executable, str(ROOT / "tests/bench/bench_serving.py"), "--embedded",
                   "--users", "1", "--skip-capacity", "--chars", str(args.chars),
                   "--model", spec.model_id, "--runtime", spec.runtime, f"--json={out}",
                   "--stop-every", str(args.stop_every)]
        if spec.precision:
            command += ["--onnx-precision", spec.precision]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0 or not out.exists():
            print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
            return {}
        result = json.loads(out.read_text())
        typing = result["typing"][0]
        return {"latency_p50_s": typing["latency_p50_s"], "latency_p90_s": typing["latency_p90_s"],
                "ttft_p50_s": typing["ttft_p50_s"], "ttft_p90_s": typing["ttft_p90_s"],
                "tok_s": typing["tok_s"], "requests": typing["requests"],
                "answered": typing["answered"],
                "model_answered": typing.get("model_answered"),
                "replied": typing.get("replied"), "reply_p50_s": typing.get("reply_p50_s"),
                "reply_p90_s": typing.get("reply_p90_s"),
                "model_latency_p50_s": typing.get("model_latency_p50_s"),
                "model_latency_p90_s": typing.get("model_latency_p90_s"),
                "peak_rss_mb": result["peak_rss_mb"], "skipped": typing.get("skipped")}


def run_complete(spec: EngineSpec) -> dict[str, Any]:
    settings: dict[str, Any] = {"model": {"id": spec.model_id}}
    if spec.precision:
        settings["model"]["onnxPrecision"] = spec.precision
    command = [str(ROOT / ".venv/bin/loomline"), "complete", EXAMPLE, "--runtime", spec.runtime,
               "--settings", json.dumps(settings)]
    began = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - began
    found = SUMMARY.search(done.stderr)
    if found is None:
        print(done.stderr[-1500:], file=sys.stderr)
        return {}
    return {"complete_first_s": int(found[2]) / 1000, "complete_s": int(found[3]) / 1000,
            "complete_wall_s": wall, "complete_tokens": int(found[1])}


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def fmt(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="0.5B:torch,0.5B:onnx:int8,1.5B:onnx:int4")
    parser.add_argument("--loads", default="quiet,busy")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--chars", type=int, default=120, help="characters the user types")
    parser.add_argument("--stop-every", type=int, default=8,
                        help="the user types this many characters a burst, then waits for the "
                             "answer: one latency sample a stop, never cut off")
    parser.add_argument("--completes", type=int, default=2, help="loomline complete runs a row")
    parser.add_argument("--json", help="also write every row's figures to this file")
    args = parser.parse_args()
    engines = [EngineSpec.parse(e) for e in args.engines.split(",")]
    loads = args.loads.split(",")
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
    loadavg: dict[str, list[float]] = {kind: [] for kind in loads}
    for round_no in range(args.rounds):
        order = engines if round_no % 2 == 0 else engines[::-1]
        for kind in loads:
            for spec in order:
                with load(kind):
                    figures = run_serving(spec, args)
                    for _ in range(args.completes):
                        figures.setdefault("completes", []).append(run_complete(spec))
                    loadavg[kind].append(os.getloadavg()[0])
                rows.setdefault((kind, spec.label), []).append(figures)
                print(f"round {round_no + 1} {kind:>5} {spec.label:<16} "
                      f"{json.dumps(figures, default=str)}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({f"{k[0]} {k[1]}": v for k, v in rows.items()},
                                              indent=2, default=str))
    print_table(engines, loads, rows, loadavg)
    return 0


def print_table(engines: list[EngineSpec], loads: list[str],
                rows: dict[tuple[str, str], list[dict[str, Any]]],
                loadavg: dict[str, list[float]]) -> None:
    print("\nmedians over rounds, seconds. typing (bench_serving, N = 1, a request after each "
          "burst of typing): 'reply' = from the request to the service's reply, ghost text or "
          "empty (the answer judged useless, the deadline), answers typed through left out; "
          "'ghost' = the replies with ghost text only; answered = the model's + typed through "
          "/ requests. complete: the README example, first token / answer / whole command "
          "with the load")
    print(f"{'load':>5} {'engine':<16} {'reply p50/p90':>13} {'ghost p50/p90':>13} "
          f"{'answered':>10} {'ttft p50':>8} {'tok/s':>6} {'RSS MB':>7} {'complete':>18} "
          f"{'vs first':>8}")
    for kind in loads:
        base: float | None = None
        for spec in engines:
            runs = rows.get((kind, spec.label), [])

            def m(key: str, runs: list[dict[str, Any]] = runs) -> float | None:
                return median([r[key] for r in runs if r.get(key) is not None])

            completes = [c for r in runs for c in r.get("completes", []) if c]

            def c(key: str, completes: list[dict[str, Any]] = completes) -> float | None:
                return median([x[key] for x in completes])

            p50 = m("reply_p50_s")
            if base is None:
                base = p50
            ratio = f"{base / p50:.1f}x" if base and p50 else "-"
            answered = (f"{fmt(m('model_answered'), '.0f')}+"
                        f"{fmt(_typed_through(runs), '.0f')}/{fmt(m('requests'), '.0f')}")
            complete = (f"{fmt(c('complete_first_s'))}/{fmt(c('complete_s'))}/"
                        f"{fmt(c('complete_wall_s'), '.1f')}")
            ghost = f"{fmt(m('model_latency_p50_s'))}/{fmt(m('model_latency_p90_s'))}"
            print(f"{kind:>5} {spec.label:<16} "
                  f"{fmt(p50) + '/' + fmt(m('reply_p90_s')):>13} "
                  f"{ghost:>13} {answered:>10} {fmt(m('ttft_p50_s')):>8} "
                  f"{fmt(m('tok_s'), '.1f'):>6} {fmt(m('peak_rss_mb'), '.0f'):>7} "
                  f"{complete:>18} {ratio:>8}")
        seen = median(loadavg[kind])
        print(f"      load average during {kind}: median {fmt(seen, '.1f')}")
        # The bench's own model threads count: on a quiet machine the load stays near the
        # core count.
        if kind == "quiet" and seen is not None and seen > (os.cpu_count() or 1) + 0.5:
            print("      warning: not a quiet machine (other jobs held the cores); "
                  "these rows are not quiet figures")


def _typed_through(runs: list[dict[str, Any]]) -> float | None:
    return median([r["answered"] - r["model_answered"] for r in runs
                   if r.get("model_answered") is not None])


if __name__ == "__main__":
    raise SystemExit(main())
