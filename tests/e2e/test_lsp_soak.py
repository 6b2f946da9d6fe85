"""A bounded soak: memory stays flat through 5,000 keystrokes and 500 completions over stdio
(tests/bench/bench_soak.py runs ten times as many and prints the curve)."""

from __future__ import annotations

from tests.lsp_soak import soak

# Before the fix the server grew about 2 KB per keystroke (pygls' finished notification
# futures) and more per completion (the fake engine's list of every request): about 10 MB
# here. After it, about 0.3 MB (allocator noise; the document stays small).
LIMIT_MB = 3.0


def test_memory_stays_flat_through_a_typing_session():
    readings: list[tuple[str, int, int]] = []
    baseline, end = soak(5_000, 500, every=2_500,
                         report=lambda *reading: readings.append(reading))
    growth_mb = (end - baseline) / 2**20
    assert growth_mb < LIMIT_MB, f"grew {growth_mb:.1f} MB: {readings}"
