"""`loomline engine serve` writing its start-up progress into a log file (no terminal)."""

from __future__ import annotations

from loomline.server.engine_serve import _progress_lines


def test_progress_lines_only_when_the_message_changes_and_not_too_often(capsys):
    update = _progress_lines(every_s=10)
    update(0.0, "(EngineCore pid=1) INFO 11-28 00:23:59 [core.py:12] loading weights")
    update(0.25, "(EngineCore pid=1) INFO 11-28 00:23:59 [core.py:12] loading weights")
    update(3.0, "INFO [core.py:40] warming up")  # too soon after the last line
    update(12.0, "INFO [core.py:40] warming up")
    update(30.0, "INFO [core.py:40] warming up")  # unchanged
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "starting vLLM: 0 s: loading weights",
        "starting vLLM: 12 s: warming up",
    ]
