"""Every bench script starts: its command line parses (``--help``). The benches are not part
of the test pass, so a broken argument parser (bench_quality.py once defined ``--runtime``
twice and stopped at start-up in every mode) would otherwise go unnoticed until someone
wants figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

BENCHES = sorted((REPO / "tests" / "bench").glob("bench_*.py"))


def test_the_benches_are_found() -> None:
    assert len(BENCHES) >= 10


@pytest.mark.parametrize("script", BENCHES, ids=lambda path: path.name)
def test_the_bench_command_line_parses(script: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(script), "--help"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
