"""Per-keystroke cost on a long line and on a big file: didChange + completion request preparation.

One keystroke is what the server does for it before any model runs: the ``didChange``
(the document store applies the edit, its listeners note it for the syntax tree, the typing
rhythm and the running generation) and the request's preparation (the refusal checks, the
syntax tree's parse of the changes since the last request, the cursor's analysis, context and
the prompt). The flat files (``vN = N`` lines: tree-sitter re-parses them in the time of a
full parse) also get the two apart: a keystroke of a burst of typing (``didChange`` alone),
and the request after the burst (its preparation alone, one parse for the whole burst).
Medians of several runs, in milliseconds.

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


def flat_lines(lines: int) -> str:
    return "".join(f"v{number} = {number}\n" for number in range(lines))


def keystroke_cost(text: str, line: int, column: int, keystrokes: int,
                   kind: str = "both") -> tuple[float, float]:
    """Median (CPU ms, wall ms) of one keystroke typed at (line, column) and moving on,
    ``keystrokes`` times (CPU time: what the process spent, whatever else loads the machine).
    ``kind``: ``both`` (each keystroke's didChange and request), ``typing`` (didChange
    alone) or ``request`` (the one request after all the keystrokes, alone)."""
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
        if kind == "both" and service.refuse(document, typed) is None:
            service.prepare(document, typed)
        cpu_costs.append((time.process_time() - cpu_started) * 1000)
        costs.append((time.perf_counter() - started) * 1000)
    if kind == "request":
        started, cpu_started = time.perf_counter(), time.process_time()
        if service.refuse(document, typed) is None:
            service.prepare(document, typed)
        return (time.process_time() - cpu_started) * 1000, (time.perf_counter() - started) * 1000
    return statistics.median(cpu_costs), statistics.median(costs)


def median_of_runs(runs: int, measure: Callable[[], tuple[float, float]]) -> list[float]:
    """[CPU ms, wall ms], each the median over ``runs`` runs."""
    results = [measure() for _ in range(runs)]
    return [statistics.median(r[0] for r in results), statistics.median(r[1] for r in results)]


def cases(chars: int, lines: int) -> list[tuple[str, str, int, int, str]]:
    """(name, text, line, column, kind) of each measured case (see ``keystroke_cost``)."""
    ascii_line = long_line(chars)
    wide_line = long_line(chars, extra="'é😀', ")
    big_file = many_lines(lines)
    measured = [
        (f"{chars:,}-character line (ASCII), typing at its middle", ascii_line, 0, chars // 2,
         "both"),
        (f"{chars:,}-character line (ASCII), typing on the next line", ascii_line, 2, 8,
         "both"),
        (f"{chars:,}-character line with an emoji, typing at its middle", wide_line, 0,
         chars // 2, "both"),
        (f"{chars:,}-character CRLF line with an emoji, typing at its middle",
         wide_line.replace("\n", "\r\n"), 0, chars // 2, "both"),
        (f"{lines:,}-line file, typing on its last line", big_file, big_file.count("\n"), 8,
         "both"),
        (f"{lines:,}-line file, typing in its middle", big_file, big_file.count("\n") // 2, 4,
         "both"),
        # CRLF: what the store hands its listeners must not cost an LF copy per keystroke.
        (f"{lines:,}-line CRLF file, typing in its middle", big_file.replace("\n", "\r\n"),
         big_file.count("\n") // 2, 4, "both"),
    ]
    # Flat files: tree-sitter re-parses them in the time of a full parse, however small the
    # edit; a burst of typing must not pay it at each keystroke, only the request after it.
    for count in (5_000, 100_000):
        text = flat_lines(count)
        measured += [
            (f"flat {count:,}-line file (vN = N), typing in its middle", text, count // 2, 2,
             "both"),
            (f"flat {count:,}-line file, a keystroke of a burst (didChange alone)", text,
             count // 2, 2, "typing"),
            (f"flat {count:,}-line file, the request after the burst (preparation alone)",
             text, count // 2, 2, "request"),
        ]
    # Over the syntax tree's 2 MB limit (no tree): a keystroke must cost what it costs just
    # under it, not a look at the whole text (it once searched all of it for long lines).
    big = "".join(f"value_{number} = {number}  # x\n" for number in range(100_000))
    measured += [
        (f"flat {len(big) / 1e6:.1f} MB file (over the tree's limit), typing in its middle",
         big, 50_000, 4, "both"),
        (f"flat {len(big) / 1e6:.1f} MB file, a keystroke of a burst (didChange alone)", big,
         50_000, 4, "typing"),
    ]
    return measured


def measure(args: argparse.Namespace) -> dict[str, list[float]]:
    return {
        name: median_of_runs(
            args.runs,
            lambda: keystroke_cost(text, line, column, args.keystrokes, kind),  # noqa: B023
        )
        for name, text, line, column, kind in cases(args.chars, args.lines)
        if args.only is None or args.only in name
    }


def measure_elsewhere(checkout: str, args: argparse.Namespace) -> dict[str, list[float]]:
    """The same cases on the code of another checkout (its ``.ci/mypy`` package tree)."""
    env = {**os.environ, "PYTHONPATH": os.path.join(checkout, ".ci", "mypy")}
    command = [sys.executable, __file__, "--json", "--runs", str(args.runs),
               "--keystrokes", str(args.keystrokes), "--chars", str(args.chars),
               "--lines", str(args.lines)] + (["--only", args.only] if args.only else [])
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
    parser.add_argument("--only", help="measure only the cases whose name has this text")
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
