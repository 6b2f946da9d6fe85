"""LoRA adaptation to a repository: ``loomline adapt`` on a package of the repository-level
quality set (quality/repo_set.py), then exact match of the same completion pipeline with and
without the adapter; training time and peak memory. Prints tables; not part of the test pass.

    .venv/bin/python tests/bench/bench_adapt.py [--package click] [--cases 24]
        [--other-package requests] [--other-cases 12] [--steps 40] [--rank 8]
        [--max-seq-len 384] [--batch-size 2] [--time-budget S] [--device cpu|cuda]
        [--out DIR [--reuse]]

Training runs as its own process (the real command: ``loomline adapt <package> --output ...``),
so its peak memory is its own; the manifest gives the figures. The completions go through
CompletionService + EmbeddedEngine + WorkspaceContext wired as the server wires them (context
from the package's index), once with ``engine.adapters`` empty and once with the package's
adapter, case by case. Groups: cases in files the adapter trained on (their answers were in
its training data), cases in the files ``loomline adapt`` held out, and cases of another
package under the same adapter (does it hurt code it never saw?). ``--device cuda`` trains on
the GPU (the completions stay on the embedded CPU engine, as users run it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_quality as bq
from quality import repo_set

from loomline.completion.adapt.store import adapter_dir
from loomline.completion.engines.embedded import EmbeddedEngine
from loomline.completion.model_store import ModelStore
from loomline.completion.settings import DEFAULT_MODEL_ID, Settings


def train(args: argparse.Namespace, root: Path, cache: Path, name: str) -> dict[str, Any]:
    """``loomline adapt`` on ``root`` as a separate process; its manifest."""
    output = adapter_dir(name, cache)
    command = [
        sys.executable, "-m", "loomline.server.cli", "adapt", str(root), "--name", name,
        "--output", str(output), "--steps", str(args.steps), "--rank", str(args.rank),
        "--lr", str(args.lr), "--batch-size", str(args.batch_size),
        "--max-seq-len", str(args.max_seq_len), "--max-samples", str(args.max_samples),
        "--heldout-samples", str(args.heldout_samples), "--device", args.device,
        "--seed", str(args.seed),
        "--settings", json.dumps({"model": {"path": str(args.model_dir), "threads": args.threads}}),
    ]
    if args.time_budget:
        command += ["--time-budget", str(args.time_budget)]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    manifest: dict[str, Any] = json.loads((output / "manifest.json").read_text())
    manifest["wall_s"] = time.perf_counter() - started
    return manifest


def settings_for(args: argparse.Namespace, cache: Path, adapters: dict[str, str]) -> Settings:
    settings = bq.make_settings(context=True)
    settings.model.path = str(args.model_dir)
    settings.model.cache_dir = str(cache)
    settings.engine.adapters = adapters
    return settings


async def complete_case(pipe: bq.Pipeline, case: repo_set.Case) -> str:
    text = Path(case.path).read_text("utf-8")
    lines = text.split("\n")
    start = sum(len(x) + 1 for x in lines[: case.line])
    offset = start + case.column
    doc = text[:offset] + text[start + len(lines[case.line]) :]  # the answer taken out
    got, _meta = await pipe.complete(case.path, doc, offset)
    return got


def group_of(case: repo_set.Case, package: str, heldout_files: set[str]) -> str:
    if case.package != package:
        return f"other package ({case.package})"
    relative = Path(os.path.relpath(case.path, case.root)).as_posix()
    return "held-out files" if relative in heldout_files else "trained files"


async def evaluate(args: argparse.Namespace, cache: Path, name: str,
                   manifest: dict[str, Any]) -> dict[str, dict[str, list[dict[str, float]]]]:
    settings = settings_for(args, cache, {})
    engine = EmbeddedEngine(settings)
    await engine.wait_ready()
    tok = engine.tokenizer
    cases = repo_set.build([args.package], args.cases, args.seed, tok)
    if args.other_package:
        cases += repo_set.build([args.other_package], args.other_cases, args.seed, tok)
    heldout = set(manifest.get("heldout_files", []))
    scores: dict[str, dict[str, list[dict[str, float]]]] = {}
    pipes: dict[tuple[str, bool], bq.Pipeline] = {}
    started = time.perf_counter()
    for done, case in enumerate(cases, start=1):
        group = group_of(case, args.package, heldout)
        for adapted in (False, True):
            key = (case.root, adapted)
            if key not in pipes:
                chosen = {"*": name} if adapted else {}
                pipes[key] = bq.Pipeline.create(settings_for(args, cache, chosen), engine,
                                                case.root)
                assert pipes[key].workspace is not None
                pipes[key].workspace.build_index()
            got = await complete_case(pipes[key], case)
            s = bq.score(case.answer, got)
            label = "adapter" if adapted else "base"
            scores.setdefault(group, {}).setdefault(label, []).append(s)
            if args.verbose:
                print(f"  {label:7} {case.key} {s['em']:.0f} {case.answer!r} <- {got!r}",
                      flush=True)
        print(f"[{done}/{len(cases)} cases, {time.perf_counter() - started:.0f} s]", flush=True)
    await engine.close()
    return scores


def report(args: argparse.Namespace, manifest: dict[str, Any],
           scores: dict[str, dict[str, list[dict[str, float]]]]) -> None:
    rows = []
    for group, by in scores.items():
        base, adapted = by.get("base", []), by.get("adapter", [])
        rows.append([group, len(base),
                     100 * bq.mean([s["em"] for s in base]),
                     100 * bq.mean([s["em"] for s in adapted]),
                     100 * bq.mean([s["es"] for s in base]),
                     100 * bq.mean([s["es"] for s in adapted])])
    bq.table(f"Repository-level completion, {args.package} adapter vs base model (first line)",
             ["group", "n", "EM base %", "EM adapter %", "ES base %", "ES adapter %"], rows)
    t = manifest["training"]
    m = manifest.get("metrics", {})
    bq.table("Training (loomline adapt)", ["figure", "value"], [
        ["device", t["device"]],
        ["train samples / held-out", f"{manifest['train_samples']} / "
                                     f"{manifest['heldout_samples']}"],
        ["steps (stopped by)", f"{t['steps_done']} ({t['stopped_by']})"],
        ["training loop s", t["train_seconds"]],
        ["whole command s (load, samples, held-out before/after)", round(manifest["wall_s"], 1)],
        ["peak memory MB (process RSS; GPU: allocator)", t["peak_memory_mb"]],
        *[[f"held-out {k} {when}", v] for when in ("before", "after")
          for k, v in m.get(when, {}).items()],
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--package", default="click", choices=sorted(repo_set.PINNED))
    parser.add_argument("--cases", type=int, default=24)
    parser.add_argument("--other-package", default="requests")
    parser.add_argument("--other-cases", type=int, default=12)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--max-seq-len", type=int, default=384)
    parser.add_argument("--max-samples", type=int, default=2000)
    parser.add_argument("--heldout-samples", type=int, default=8)
    parser.add_argument("--time-budget", type=float)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, auto")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads for training and completions; 0: the cores other "
                             "jobs leave free, re-measured between steps and requests")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model-dir", type=Path)
    parser.add_argument("--out", type=Path,
                        help="where the adapter (<out>/cache/adapters/<name>) goes; default: a "
                             "new temporary folder, so that runs side by side never collide")
    parser.add_argument("--reuse", action="store_true",
                        help="keep an adapter trained before in --out")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    if args.reuse and args.out is None:
        parser.error("--reuse needs --out (the folder of the earlier run)")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args.model_dir = args.model_dir or ModelStore().resolve(DEFAULT_MODEL_ID)
    bq.THREADS = args.threads
    root = repo_set.fetch(args.package, repo_set.PINNED[args.package])
    if args.other_package:
        repo_set.fetch(args.other_package, repo_set.PINNED[args.other_package])
    work = args.out or Path(tempfile.mkdtemp(prefix="loomline-bench-adapt-"))
    print(f"adapter and cache in {work}", flush=True)
    cache = work / "cache"
    name = f"bench-{args.package}"
    manifest_path = adapter_dir(name, cache) / "manifest.json"
    if args.reuse and manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        manifest.setdefault("wall_s", float("nan"))
    else:
        manifest = train(args, root, cache, name)
    scores = asyncio.run(evaluate(args, cache, name, manifest))
    report(args, manifest, scores)


if __name__ == "__main__":
    main()
