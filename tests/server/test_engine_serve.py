"""`loomline engine serve`: its start-up progress in a log file (no terminal), the checks
before starting vLLM, and what it prints once vLLM serves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loomline.server.engine_serve import _announce, _cannot_start, _progress_lines
from loomline.server.vllm_server import ServeConfig, lora_module


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


def test_no_start_without_a_model(tmp_path: Path) -> None:
    assert "run `loomline model pull`" in (_cannot_start(ServeConfig(tmp_path, python="py")) or "")
    (tmp_path / "config.json").write_text("{}")
    # Another interpreter's vLLM is its own business (not imported here: that takes long).
    assert _cannot_start(ServeConfig(tmp_path, python="/other/python")) is None


def test_announce_prints_the_settings_that_point_loomline_at_vllm(capsys) -> None:
    _announce(ServeConfig(Path("/m"), served_model_name="team/coder"), "http://h:8000/v1")
    first, second = capsys.readouterr().out.splitlines()
    assert first == "vLLM is serving 'team/coder' at http://h:8000/v1"
    assert json.loads(second.removeprefix("Loomline settings: ")) == {
        "backend": "vllm", "engine": {"urls": ["http://h:8000/v1"], "servedModel": "team/coder"}}


def _adapter(path: Path, r: int, pattern: dict[str, int] | None = None) -> str:
    path.mkdir(parents=True)
    (path / "adapter_config.json").write_text(json.dumps({"r": r, "rank_pattern": pattern or {}}))
    return str(path)


def test_lora_adapters_are_checked_before_vllm_starts(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    small, wide = _adapter(tmp_path / "small", 8), _adapter(tmp_path / "wide", 20, {"q": 48})
    config = ServeConfig(model, python="/other/python", loras=[("s", small), ("w", wide)])
    assert config.lora_rank() == 64  # 48, rounded up to a rank vLLM accepts
    assert _cannot_start(config) is None
    command = config.command()
    assert command[command.index("--max-lora-rank") + 1] == "64"
    config.max_lora_rank = 32
    assert _cannot_start(config) == "--lora w: rank 48 is above --max-lora-rank 32"
    missing = ServeConfig(model, python="/other/python", loras=[("m", str(tmp_path / "none"))])
    problem = _cannot_start(missing) or ""
    assert problem.startswith(f"--lora m={tmp_path / 'none'}: no PEFT adapter")
    # Nothing to read (a dry run planning another machine): vLLM's default.
    assert missing.lora_rank() == 16


def test_a_lora_by_name_is_the_adapter_loomline_adapt_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOMLINE_CACHE", str(tmp_path))
    assert lora_module("payments") == ("payments", str(tmp_path / "adapters" / "payments"))
    assert lora_module("web=~/a/web") == ("web", str(Path("~/a/web").expanduser()))
    for bad in ("=x", "name=", "../up"):
        with pytest.raises(ValueError):
            lora_module(bad)


def test_dry_run_checks_the_lora_adapters_that_are_here(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from loomline.server.engine_serve import serve_main

    monkeypatch.setenv("LOOMLINE_CACHE", str(tmp_path / "cache"))
    wide = _adapter(tmp_path / "wide", 48)
    (tmp_path / "plain").mkdir()
    base = ["--model", "/m", "--dry-run", "--vllm-build", "cuda"]
    refused = [
        (["--lora", f"p={tmp_path / 'plain'}"], f"--lora p={tmp_path / 'plain'}: no PEFT adapter"),
        (["--lora", f"w={wide}", "--max-lora-rank", "32"],
         "--lora w: rank 48 is above --max-lora-rank 32"),
        (["--lora", f"w={wide}", "--max-lora-rank", "0"], "--max-lora-rank must be one of"),
        (["--lora", f"x={wide}", "--lora", "x=/elsewhere"], "--lora x given more than once"),
        (["--lora", "mdrepo", "--lora", "mdrepo"], "--lora mdrepo given more than once"),
    ]
    for extra, message in refused:
        assert serve_main([*base, *extra]) == 2, extra
        captured = capsys.readouterr()
        assert message in captured.err and captured.out == "", extra
    # Absent here (an unknown name, a path on the machine the command is for): a note.
    assert serve_main([*base, "--lora", "mdrepo", "--lora", "w=/adapters/w"]) == 0
    captured = capsys.readouterr()
    assert "--lora-modules" in captured.out
    assert f"--lora mdrepo: {tmp_path / 'cache' / 'adapters' / 'mdrepo'} is not on this machine" \
        in captured.err
    assert "--lora w: /adapters/w is not on this machine" in captured.err


def test_an_adapter_for_another_base_model_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from loomline.server.engine_serve import serve_main

    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    adapter = _adapter(tmp_path / "a", 8)
    (tmp_path / "a" / "manifest.json").write_text(json.dumps({"base_model": "other/coder"}))
    config = ServeConfig(model, python="/other/python", loras=[("a", adapter)],
                         served_model_name="team/coder")
    message = "--lora a: the adapter was trained for other/coder, not the served model team/coder"
    assert (_cannot_start(config) or "").startswith(message)
    assert serve_main(["--model", str(model), "--served-model-name", "team/coder",
                       "--lora", f"a={adapter}", "--dry-run", "--vllm-build", "cuda"]) == 2
    assert message in capsys.readouterr().err
    config.served_model_name = "other/coder"
    assert _cannot_start(config) is None
