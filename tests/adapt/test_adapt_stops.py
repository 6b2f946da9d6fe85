"""``loomline adapt`` end to end on the tiny random model: Ctrl-C saves the last finished step,
``--resume`` refuses a checkpoint past ``--steps``, the adapter names its base model by id."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from loomline.completion.adapt import command  # noqa: E402
from loomline.completion.adapt.session import AdaptSession  # noqa: E402
from tests.adapt.fixture_repo import write_repository  # noqa: E402
from tests.adapt.tiny_model import write_model  # noqa: E402

MODEL_ID = "Qwen/Qwen2.5-Coder-0.5B"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("stops")
    model = write_model(root / "model")
    repo = write_repository(root / "repo")
    return model, repo, root


def adapt(model: Path, repo: Path, output: Path, *extra: str) -> int:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    settings = {"model": {"id": MODEL_ID, "path": str(model), "cacheDir": str(output.parent),
                          "threads": 1}}
    args = parser.parse_args([
        str(repo), "--output", str(output), "--settings", json.dumps(settings),
        "--rank", "2", "--batch-size", "1", "--max-seq-len", "128", "--max-samples", "8",
        "--heldout-samples", "0", "--checkpoint-every", "100", "--device", "cpu", *extra])
    return command.run(args)


def trainer_step(output: Path) -> int:
    return int(torch.load(output / "checkpoint" / "trainer_state.pt", weights_only=False)["step"])


def test_ctrl_c_saves_the_last_finished_step_and_resume_goes_on(
    setup: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model, repo, root = setup
    output = root / "interrupted"
    seen: list[int] = []
    follow = AdaptSession.follow_free_cores

    def interrupt_at_third(self: Any) -> None:  # the step hook: after each finished step
        seen.append(1)
        if len(seen) == 3:
            raise KeyboardInterrupt
        follow(self)

    monkeypatch.setattr(AdaptSession, "follow_free_cores", interrupt_at_third)
    assert adapt(model, repo, output, "--steps", "6") == 130
    err = capsys.readouterr().err
    assert "stopped at step 3/6; checkpoint saved; resume with --resume" in err
    assert "Traceback" not in err
    assert trainer_step(output) == 3
    assert not (output / "manifest.json").exists()

    monkeypatch.setattr(AdaptSession, "follow_free_cores", follow)
    assert adapt(model, repo, output, "--steps", "6", "--resume") == 0
    manifest = json.loads((output / "manifest.json").read_text())
    assert manifest["training"]["resumed_from"] == 3
    assert manifest["training"]["steps_done"] == 6 and trainer_step(output) == 6


def test_resume_past_steps_is_refused_and_keeps_the_manifest(
    setup: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    model, repo, root = setup
    output = root / "past"
    assert adapt(model, repo, output, "--steps", "4") == 0
    before = (output / "manifest.json").read_text()
    assert json.loads(before)["training"]["last_loss"] is not None
    assert adapt(model, repo, output, "--steps", "2", "--resume") == 2
    assert "already past --steps 2" in capsys.readouterr().err
    assert (output / "manifest.json").read_text() == before
    assert trainer_step(output) == 4


def test_the_adapter_names_its_base_model_by_id(setup: tuple[Path, Path, Path]) -> None:
    model, repo, root = setup
    output = root / "portable"
    assert adapt(model, repo, output, "--steps", "1") == 0
    for directory in (output, output / "checkpoint"):
        config = json.loads((directory / "adapter_config.json").read_text())
        assert config["base_model_name_or_path"] == MODEL_ID
    assert json.loads((output / "manifest.json").read_text())["base_model_dir"] == str(model)
