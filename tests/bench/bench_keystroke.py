"""Per-keystroke cost on a long line and on a big file: didChange + completion request preparation.

One keystroke is what the server does for it before any model runs: the ``didChange``
(the document store applies the edit, its listeners update the syntax tree, the typing rhythm
and the running generation) and the request's preparation (the refusal checks, the cursor's
analysis, context and the prompt). Medians of several runs, in milliseconds.

    .venv/bin/python tests/bench/bench_keystroke.py [--runs 7] [--keystrokes 40]

Before/after: ``git worktree add --detach /tmp/old COMMIT``, then ``--before /tmp/old`` runs
the same cases on that checkout's code too and prints both columns.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from loomline.completion.engines.fake import FakeEngine
from loomline.completion.service import CompletionService
from loomline.completion.settings import FakeSettings, Settings
from loomline.completion.workspace_context import WorkspaceContext
from loomline.context.documents import DocumentStore
from loomline.context.positions import Position

URI = "file:///bench/big.py"


def long_line(chars: int, extra: str = "") -> str:
    """One Python line of about ``chars`` characters (a list literal), ``extra`` near its start."""
    items = []
    total = 0
    number = 0
    while total < chars:
        item = f"{number % 1000}, "
        items.append(item)
        total += len(item)
        number += 1
    return f"data = [{extra}" + "".join(items) + "]\n\nvalue = "


def many_lines(lines: int) -> str:
    body = []
    for number in range(lines // 5):
        body.append(f"def function_{number}(a, b):\n    total = a + b * {number}\n"
                    f"    return total  # line {number}\n\n")
    return "".join(body) + "value = "


def keystroke_cost(text: str, line: int, column: int, keystrokes: int) -> tuple[float, float]:
    """Median (CPU ms, wall ms) of one keystroke typed at (line, column) and moving on,
    ``keystrokes`` times (CPU time: what the process spent, whatever else loads the machine)."""
    settings = Settings(backend="fake")
    store = DocumentStore()
    workspace = WorkspaceContext(settings, store)
    service = CompletionService(settings, FakeEngine(FakeSettings(response="x")),
                                documents=store, workspace=workspace)
    document = store.open(URI, "python", 1, text)
    service.prepare(document, Position(line, column))  # the first parse is not a keystroke
    costs, cpu_costs = [], []
    for number in range(keystrokes):
        position = Position(line, column + number)
        started, cpu_started = time.perf_counter(), time.process_time()
        store.change(URI, number + 2, [(position, position, "a")])
        typed = Position(line, column + number + 1)
        if service.refuse(document, typed) is None:
            service.prepare(document, typed)
        cpu_costs.append((time.process_time() - cpu_started) * 1000)
        costs.append((time.perf_counter() - started) * 1000)
    return statistics.median(cpu_costs), statistics.median(costs)


def median_of_runs(runs: int, measure: Callable[[], tuple[float, float]]) -> list[float]:
    """[CPU ms, wall ms], each the median over ``runs`` runs."""
    results = [measure() for _ in range(runs)]
    return [statistics.median(r[0] for r in results), statistics.median(r[1] for r in results)]


def cases(chars: int, lines: int) -> list[tuple[str, str, int, int]]:
    """(name, text, line, column) of each measured case."""
    ascii_line = long_line(chars)
    wide_line = long_line(chars, extra="'é😀', ")
    big_file = many_lines(lines)
    return [
        (f"{chars:,}-character line (ASCII), typing at its middle", ascii_line, 0, chars // 2),
        (f"{chars:,}-character line (ASCII), typing on the next line", ascii_line, 2, 8),
        (f"{chars:,}-character line with an emoji, typing at its middle", wide_line, 0,
         chars // 2),
        (f"{chars:,}-character CRLF line with an emoji, typing at its middle",
         wide_line.replace("\n", "\r\n"), 0, chars // 2),
        (f"{lines:,}-line file, typing on its last line", big_file, big_file.count("\n"), 8),
        (f"{lines:,}-line file, typing in its middle", big_file, big_file.count("\n") // 2, 4),
        # CRLF: what the store hands its listeners must not cost an LF copy per keystroke.
        (f"{lines:,}-line CRLF file, typing in its middle", big_file.replace("\n", "\r\n"),
         big_file.count("\n") // 2, 4),
    ]


def measure(args: argparse.Namespace) -> dict[str, list[float]]:
    return {
        name: median_of_runs(
            args.runs, lambda: keystroke_cost(text, line, column, args.keystrokes)  # noqa: B023
        )
        for name, text, line, column in cases(args.chars, args.lines)
    }


def measure_elsewhere(checkout: str, args: argparse.Namespace) -> dict[str, list[float]]:
    """The same cases on the code of another checkout (its ``.ci/mypy`` package tree)."""
    env = {**os.environ, "PYTHONPATH": os.path.join(checkout, ".ci", "mypy")}
    command = [sys.executable, __file__, "--json", "--runs", str(args.runs),
               "--keystrokes", str(args.keystrokes), "--chars", str(args.chars),
               "--lines", str(args.lines)]
    done = subprocess.run(command, env=env, cwd=checkout, capture_output=True, text=True,
                          check=True)
    result: dict[str, list[float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keystrokes", type=int, default=20)
    parser.add_argument("--chars", type=int, default=400_000)
    parser.add_argument("--lines", type=int, default=5_000)
    parser.add_argument("--before", help="another checkout to measure too (the old code)")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    after = measure(args)
    if args.json:
        print(json.dumps(after))
        return
    before = measure_elsewhere(args.before, args) if args.before else None
    print("ms per keystroke (median): didChange + completion request preparation, "
          "CPU (process time) and wall")
    columns = ["cpu", "wall"] if before is None else [
        "cpu before", "wall before", "cpu after", "wall after"]
    print(" ".join(f"{column:>11}" for column in columns))
    for name, (cpu, wall) in after.items():
        figures = [cpu, wall] if before is None else [*before.get(name, [0.0, 0.0]), cpu, wall]
        print(" ".join(f"{figure:11.3f}" for figure in figures) + f"  {name}")


if __name__ == "__main__":
    main()
