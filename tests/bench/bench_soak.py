"""Soak bench: does the server's memory stay flat through a long editing session?

A real ``loomline lsp`` over stdio with the fake backend: after a warm-up, 50,000 one-character
``didChange`` keystrokes, then 5,000 inline completions (each answered before the next). The
server's resident memory (VmRSS) is printed every 5,000 keystrokes and every 500 completions;
the target is under 10 MB of growth over the whole run. The typed lines are deleted every 40
lines (one more didChange), so the document stays small and what grows is what the server
keeps, not the document (typed into one growing document, 50,000 characters make 1,500 lines
whose text and syntax tree alone add about 5 MB).

    .venv/bin/python tests/bench/bench_soak.py [--keystrokes 50000] [--completions 5000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.lsp_soak import soak

TARGET_MB = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keystrokes", type=int, default=50_000)
    parser.add_argument("--completions", type=int, default=5_000)
    parser.add_argument("--every", type=int, default=5_000, help="keystrokes between readings")
    args = parser.parse_args()
    started = time.perf_counter()
    first: list[int] = []

    def report(phase: str, done: int, rss: int) -> None:
        first.append(rss) if not first else None
        growth = (rss - first[0]) / 2**20
        print(f"{phase:12} {done:7d}  rss {rss / 2**20:8.1f} MB  growth {growth:+7.2f} MB",
              flush=True)

    baseline, end = soak(args.keystrokes, args.completions, args.every, report)
    growth_mb = (end - baseline) / 2**20
    verdict = "ok" if growth_mb < TARGET_MB else "OVER TARGET"
    print(f"growth over {args.keystrokes} keystrokes and {args.completions} completions: "
          f"{growth_mb:+.2f} MB (target < {TARGET_MB:.0f} MB: {verdict}); "
          f"{time.perf_counter() - started:.0f} s")
    return 0 if growth_mb < TARGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
