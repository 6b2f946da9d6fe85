"""Soak bench: does the server's memory stay flat through a long editing session?

A real ``loomline lsp`` over stdio with the fake backend: after a warm-up, 50,000 one-character
``didChange`` keystrokes, then 5,000 inline completions (each answered before the next). The
server's resident memory (VmRSS) is printed every 5,000 keystrokes and every 500 completions;
the target is under 10 MB of growth over the whole run. Each typed line differs from the
others (its number), as a user's do. By default the typed lines are deleted every 40 lines
(one more didChange), so the document stays small and what grows is what the server keeps,
not the document.

``--grow`` keeps every typed line instead: the document grows by a character a keystroke
(50,000 keystrokes: about 1,300 lines), and so do its text, its syntax tree and whatever is
kept per document; the curve then shows the cost per character (bytes of growth per typed
character are printed). ``--trace`` runs the server under tracemalloc and prints the
allocations still alive at the end that were not at the start, grouped by traceback (the
figures of a traced run are larger and slower: use it to attribute, not to measure).

    .venv/bin/python tests/bench/bench_soak.py [--keystrokes 50000] [--completions 5000]
        [--grow] [--trace [--top 12]]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.lsp_soak import SoakServer, soak

TARGET_MB = 10.0
TRACED_SERVER = Path(__file__).with_name("traced_server.py")


class Snapshots:
    """Asks a traced server (tests/bench/traced_server.py) for tracemalloc snapshots."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="loomline-soak-"))
        self.out = self.folder / "snapshot"
        self.taken = 0
        os.environ["LOOMLINE_TRACE_OUT"] = str(self.out)

    def command(self) -> list[str]:
        return [sys.executable, str(TRACED_SERVER), "--log-level", "warning", "lsp"]

    def take(self, server: SoakServer) -> None:
        self.taken += 1
        server.process.send_signal(signal.SIGUSR2)
        done = Path(f"{self.out}.{self.taken}.done")
        while not done.exists():  # a snapshot of a large heap takes seconds
            if server.process.poll() is not None:
                raise RuntimeError("the traced server exited")
            time.sleep(0.1)

    def print_growth(self, top: int) -> None:
        start = tracemalloc.Snapshot.load(f"{self.out}.1")
        end = tracemalloc.Snapshot.load(f"{self.out}.{self.taken}")
        stats = end.compare_to(start, "traceback")
        total = sum(stat.size_diff for stat in stats)
        print(f"\ntraced growth {total / 2**20:+.2f} MB; the largest by traceback:")
        for stat in stats[:top]:
            print(f"{stat.size_diff / 1024:+10.1f} KiB in {stat.count_diff:+d} blocks "
                  f"(now {stat.size / 1024:.1f} KiB)")
            frames = [line for line in stat.traceback.format(most_recent_first=True)
                      if line.lstrip().startswith("File")]
            for line in frames[:8]:
                print("   ", line.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keystrokes", type=int, default=50_000)
    parser.add_argument("--completions", type=int, default=5_000)
    parser.add_argument("--every", type=int, default=5_000, help="keystrokes between readings")
    parser.add_argument("--grow", action="store_true", help="keep every typed line")
    parser.add_argument("--trace", action="store_true", help="attribute with tracemalloc")
    parser.add_argument("--top", type=int, default=12, help="tracebacks shown with --trace")
    args = parser.parse_args()
    started = time.perf_counter()
    first: list[int] = []

    def report(phase: str, done: int, rss: int) -> None:
        first.append(rss) if not first else None
        growth = (rss - first[0]) / 2**20
        per_char = ""
        if args.grow and phase == "keystrokes" and done:
            per_char = f"  {(rss - first[0]) / done:6.0f} B/char"
        print(f"{phase:12} {done:7d}  rss {rss / 2**20:8.1f} MB  growth {growth:+7.2f} MB"
              f"{per_char}", flush=True)

    snapshots = Snapshots() if args.trace else None
    baseline, end = soak(
        args.keystrokes, args.completions, args.every, report, grow=args.grow,
        command=snapshots.command() if snapshots else None,
        mark=snapshots.take if snapshots else lambda server: None,
    )
    growth_mb = (end - baseline) / 2**20
    verdict = "ok" if growth_mb < TARGET_MB else "OVER TARGET"
    kind = "growing document" if args.grow else "steady-size document"
    print(f"growth over {args.keystrokes} keystrokes and {args.completions} completions "
          f"({kind}): {growth_mb:+.2f} MB (target < {TARGET_MB:.0f} MB: {verdict}); "
          f"{time.perf_counter() - started:.0f} s")
    if snapshots:
        snapshots.print_growth(args.top)
    return 0 if growth_mb < TARGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
