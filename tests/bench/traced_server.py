"""``loomline`` under tracemalloc, for bench_soak.py's ``--trace``: each SIGUSR2 writes a
snapshot to ``$LOOMLINE_TRACE_OUT.N`` (N = 1, 2, ...) and then an empty ``.N.done`` file.

    python tests/bench/traced_server.py --log-level warning lsp

tree-sitter allocates through Python's allocator, so its trees are traced too.
"""

from __future__ import annotations

import os
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType

FRAMES = 10


def main() -> int:
    tracemalloc.start(FRAMES)
    out = os.environ["LOOMLINE_TRACE_OUT"]
    taken = [0]

    def snapshot(signum: int, frame: FrameType | None) -> None:
        taken[0] += 1
        tracemalloc.take_snapshot().dump(f"{out}.{taken[0]}")
        Path(f"{out}.{taken[0]}.done").touch()

    signal.signal(signal.SIGUSR2, snapshot)
    from loomline.server.cli import main as loomline

    return loomline(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
