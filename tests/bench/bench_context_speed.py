"""Speed of the context engine on a generated workspace (a script, not a test).

    .venv/bin/python tests/bench/bench_context_speed.py [--files 1200] [--runs 3]

Generates a workspace of Python, TypeScript, Go, Rust, Java and C files plus one 5,000-line
Python module, then measures: collect_context + analyze_position per request (p50 / p99),
incremental reparse per keystroke (p50), index build speed (lines/s) and index memory per
100k lines (tracemalloc). Each figure is the median over ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from loomline.context.analysis import analyze_position
from loomline.context.documents import DocumentChanged, DocumentEvent, DocumentStore
from loomline.context.index import WorkspaceIndex
from loomline.context.parse_errors import adds_parse_errors
from loomline.context.positions import Position
from loomline.context.retrieval import collect_context
from loomline.context.snippets import SnippetCache
from loomline.context.syntax import SyntaxTrees


def _python_module(i: int, functions: int = 12) -> str:
    other = (i + 1) % 50
    parts = [f'"""Module {i}."""\n\nimport os\nfrom pkg.mod{other} import helper_{other}_0\n']
    parts.append(f"\n\nclass Service{i}:\n    \"\"\"Service number {i}.\"\"\"\n\n"
                 f"    def __init__(self, size: int = {i}) -> None:\n        self.size = size\n")
    for k in range(4):
        parts.append(f"\n    def method_{k}(self, value: int) -> int:\n"
                     f"        total = value * {k} + self.size\n        return total\n")
    for k in range(functions):
        parts.append(
            f"\n\ndef helper_{i}_{k}(items: list[int], factor: float = {k}.0) -> float:\n"
            f'    """Scale and sum items ({k})."""\n    result = 0.0\n'
            f"    for item in items:\n        if item % {k + 2} == 0:\n"
            f"            result += item * factor\n        else:\n            result -= item\n"
            f"    return result\n"
        )
    return "".join(parts)


def _ts_module(i: int) -> str:
    body = [f"import {{ helper{(i + 1) % 50} }} from './mod{(i + 1) % 50}';\n\n"
            f"export interface Shape{i} {{\n  width: number;\n  height: number;\n}}\n"]
    for k in range(10):
        body.append(f"\n/** Area {k}. */\nexport function area{i}_{k}(s: Shape{i}): number {{\n"
                    f"  const w = s.width * {k};\n  if (w > 10) {{\n    return w * s.height;\n"
                    f"  }}\n  return helper{(i + 1) % 50}(w);\n}}\n")
    body.append(f"\nexport function helper{i}(x: number): number {{\n  return x + {i};\n}}\n")
    return "".join(body)


def _go_module(i: int) -> str:
    body = [f"package pkg{i % 20}\n\nimport \"fmt\"\n\n// Store{i} keeps items.\n"
            f"type Store{i} struct {{\n\titems map[string]int\n}}\n"]
    for k in range(10):
        body.append(f"\n// Get{k} returns an item.\nfunc (s *Store{i}) Get{k}(key string) int {{\n"
                    f"\tif v, ok := s.items[key]; ok {{\n\t\treturn v + {k}\n\t}}\n"
                    f"\tfmt.Println(key)\n\treturn 0\n}}\n")
    return "".join(body)


def _other_module(i: int, kind: str) -> str:
    if kind == "rs":
        return "".join(f"/// Does {k}.\npub fn work_{i}_{k}(x: i64) -> i64 {{\n"
                       f"    let y = x * {k};\n    if y > 3 {{\n        y\n"
                       f"    }} else {{\n        -y\n    }}\n}}\n\n"
                       for k in range(10))
    if kind == "java":
        methods = "".join(f"  /** Run {k}. */\n  public int run{k}(int x) {{\n"
                          f"    int y = x + {k};\n    return y * 2;\n  }}\n\n" for k in range(10))
        return f"package com.acme.m{i};\n\npublic class Job{i} {{\n{methods}}}\n"
    return "".join(f"/* Compute {k}. */\nint compute_{i}_{k}(int x) {{\n    int y = x * {k};\n"
                   f"    return y > 3 ? y : -y;\n}}\n\n" for k in range(10))


def generate(root: Path, files: int) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / ".gitignore").write_text("build/\n*.log\n")
    kinds = ["py"] * 12 + ["ts"] * 4 + ["go"] * 2 + ["rs", "java", "c"]
    for i in range(files):
        kind = kinds[i % len(kinds)]
        folder = root / ("pkg" if kind == "py" else f"{kind}src") / f"d{i % 25}"
        folder.mkdir(parents=True, exist_ok=True)
        if kind == "py":
            (root / "pkg" / f"mod{i}.py").write_text(_python_module(i))
        elif kind == "ts":
            (folder / f"mod{i}.ts").write_text(_ts_module(i))
        elif kind == "go":
            (folder / f"store{i}.go").write_text(_go_module(i))
        else:
            (folder / f"m{i}.{kind}").write_text(_other_module(i, kind))
    big = ["from pkg.mod1 import helper_1_0, Service1\nfrom pkg import mod2\nimport os\n"]
    i = 0
    while sum(part.count("\n") for part in big) < 5000:
        big.append(_python_module(10_000 + i, functions=8).split("\n", 4)[-1])
        i += 1
    main = root / "pkg" / "main.py"
    main.write_text("".join(big))
    return main


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_index(root: Path) -> tuple[float, int, int, float]:
    start = time.perf_counter()
    index = WorkspaceIndex(root)
    index.build()
    seconds = time.perf_counter() - start
    return index.line_count / seconds, index.file_count, index.line_count, seconds


def bench_memory(root: Path) -> tuple[float, int]:
    gc.collect()
    tracemalloc.start()
    index = WorkspaceIndex(root)
    index.build()
    gc.collect()
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    lines = index.line_count
    del index
    return current / lines * 100_000, lines


class _TimedTrees(SyntaxTrees):
    """SyntaxTrees that records how long each change took it with a read right after it
    (its Tree.edit and the reparse, which waits for that read: a request per keystroke)."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def __call__(self, event: DocumentEvent) -> None:
        start = time.perf_counter()
        super().__call__(event)
        if isinstance(event, DocumentChanged):
            self.tree(event.document.uri)
            self.times.append(time.perf_counter() - start)


def bench_keystrokes(main: Path, count: int = 400) -> tuple[float, float]:
    """(p50 ms of the syntax tree update, p50 ms of the whole didChange incl. document)."""
    store = DocumentStore()
    trees = _TimedTrees()
    store.listeners.append(trees)
    uri = main.as_uri()
    store.open(uri, "python", 0, main.read_text())
    line = 2500
    store.change(uri, 1, [(Position(line, 0), Position(line, 0), "    \n")])
    times = []
    for k in range(count):
        char = "x" if k % 10 else " "
        position = Position(line, 4 + k)
        start = time.perf_counter()
        store.change(uri, k + 2, [(position, position, char)])
        times.append(time.perf_counter() - start)
    assert trees.tree(uri) is not None
    return statistics.median(trees.times[-count:]) * 1000, statistics.median(times) * 1000


def bench_requests(root: Path, main: Path, index: WorkspaceIndex, count: int = 300
                   ) -> tuple[float, float]:
    store = DocumentStore()
    trees = SyntaxTrees()
    store.listeners.append(trees)
    uri = main.as_uri()
    document = store.open(uri, "python", 0, main.read_text())
    others = sorted((root / "pkg").glob("mod*.py"))[:8]
    open_documents = {str(p): p.read_text() for p in others[:5]}
    recent = {str(p): p.read_text() for p in others[5:]}
    cache = SnippetCache()
    rng = random.Random(7)
    times = []
    line = 3000
    for k in range(count):
        if k % 25 == 0:  # jump somewhere else now and then, then type there
            line = rng.randrange(100, 4900)
            store.change(uri, document.version + 1,
                         [(Position(line, 0), Position(line, 0), "    \n")])
            column = 4
        position = Position(line, column)
        store.change(uri, document.version + 1, [(position, position, "ab"[k % 2])])
        column += 1
        offset = document.offset_at(Position(line, column))
        start = time.perf_counter()
        tree = trees.tree_for(document)
        analyze_position("python", tree, document.text, offset)
        collect_context(document.text, str(main), "python", offset, index, open_documents,
                        recent, snippet_cache=cache)
        times.append(time.perf_counter() - start)
    return _percentile(times, 0.5) * 1000, _percentile(times, 0.99) * 1000


def bench_parse_check(main: Path) -> tuple[float, float]:
    """(ms of the first adds_parse_errors call of a request, ms of each further candidate)."""
    text = main.read_text()
    offset = text.index("\n", len(text) // 2) + 1
    prefix, suffix = text[:offset], text[offset:]
    candidates = [f"    value_{k} = compute({k})\n" for k in range(6)]
    start = time.perf_counter()
    adds_parse_errors("python", prefix, candidates[0], suffix)
    first = time.perf_counter() - start
    start = time.perf_counter()
    for candidate in candidates[1:]:
        adds_parse_errors("python", prefix, candidate, suffix)
    rest = (time.perf_counter() - start) / (len(candidates) - 1)
    return first * 1000, rest * 1000


def _median(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        main_file = generate(root, args.files)
        index_runs = [bench_index(root) for _ in range(args.runs)]
        rate = statistics.median(r[0] for r in index_runs)
        _, files, lines, _ = index_runs[0]
        memory, _ = bench_memory(root)
        keystroke_runs = [bench_keystrokes(main_file) for _ in range(args.runs)]
        keystroke = statistics.median(r[0] for r in keystroke_runs)
        did_change = statistics.median(r[1] for r in keystroke_runs)
        check_runs = [bench_parse_check(main_file) for _ in range(args.runs)]
        check_first = statistics.median(r[0] for r in check_runs)
        check_rest = statistics.median(r[1] for r in check_runs)
        index = WorkspaceIndex(root)
        index.build()
        request_runs = [bench_requests(root, main_file, index) for _ in range(args.runs)]
        p50 = statistics.median(r[0] for r in request_runs)
        p99 = statistics.median(r[1] for r in request_runs)
    rows = [
        ("workspace", f"{files} files, {lines:,} lines; current file 5,000+ lines", ""),
        ("collect_context + analysis p50", f"{p50:.2f} ms", "<= 5 ms"),
        ("collect_context + analysis p99", f"{p99:.2f} ms", "<= 20 ms"),
        ("incremental reparse / keystroke p50", f"{keystroke:.3f} ms", "<= 1 ms"),
        ("  whole didChange incl. Document p50", f"{did_change:.3f} ms", ""),
        ("adds_parse_errors, 1st / next candidate", f"{check_first:.1f} / {check_rest:.1f} ms",
         ""),
        ("index build", f"{rate:,.0f} lines/s", ">= 50,000"),
        ("index memory", f"{memory / 2**20:.1f} MiB per 100k lines", ""),
    ]
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load}; "
          f"median of {args.runs} runs")
    print(f"{'measure':<{width}}  {'value':<{value_width}}  target")
    print(f"{'-' * width}  {'-' * value_width}  ------")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:<{value_width}}  {target}")


if __name__ == "__main__":
    main()
