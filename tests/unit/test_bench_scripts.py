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


# ---- bench_quality.py: several engines in one run, compared pairwise ----------------------
def test_every_model_runs_with_every_runtime_model_by_model() -> None:
    from tests.bench.quality.paired import EngineChoice, engine_choices

    choices = engine_choices(
        "Qwen/Qwen2.5-Coder-0.5B-Instruct, Qwen/Qwen2.5-Coder-1.5B-Instruct", "torch,onnx"
    )
    assert [c.label for c in choices] == ["0.5B torch", "0.5B onnx", "1.5B torch", "1.5B onnx"]
    assert choices[3] == EngineChoice("Qwen/Qwen2.5-Coder-1.5B-Instruct", "onnx")
    # Nothing given: one engine, Loomline's defaults; a repeated item counts once.
    assert engine_choices(None, None) == [EngineChoice()]
    assert [c.label for c in engine_choices(None, "onnx,onnx")] == ["onnx"]
    # Another build of the same model: its preset by id, its files from the folder.
    (other,) = engine_choices("Qwen/Qwen2.5-Coder-0.5B-Instruct@/tmp/builds/int4-k", "onnx")
    assert other == EngineChoice("Qwen/Qwen2.5-Coder-0.5B-Instruct", "onnx", "/tmp/builds/int4-k")
    assert other.label == "0.5B onnx int4-k"


def test_an_engine_choice_sets_only_what_it_names() -> None:
    from loomline.completion.settings import Settings
    from tests.bench.quality.paired import EngineChoice

    settings = Settings()
    default_id = settings.model.id
    EngineChoice(runtime="onnx").apply(settings)
    assert (settings.model.id, settings.model.runtime) == (default_id, "onnx")
    EngineChoice("Qwen/Qwen2.5-Coder-1.5B-Instruct", "torch").apply(settings)
    assert (settings.model.id, settings.model.runtime) == (
        "Qwen/Qwen2.5-Coder-1.5B-Instruct", "torch",
    )  # fmt: skip
    assert not settings.model.path
    EngineChoice(path="/tmp/builds/int4-k").apply(settings)
    assert settings.model.path == "/tmp/builds/int4-k"
    assert settings.model.id == "Qwen/Qwen2.5-Coder-1.5B-Instruct"


def test_an_unknown_runtime_is_named() -> None:
    from tests.bench.quality.paired import engine_choices

    with pytest.raises(ValueError, match="unknown runtime tensorrt"):
        engine_choices(None, "torch,tensorrt")


def test_an_unknown_runtime_stops_bench_quality_with_a_usage_message() -> None:
    script = REPO / "tests" / "bench" / "bench_quality.py"
    done = subprocess.run(
        [sys.executable, str(script), "humaneval", "--runtime", "torch,tpu"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "unknown runtime tpu" in done.stderr


def test_the_sign_test_against_the_binomial_table() -> None:
    from tests.bench.quality.paired import sign_test

    assert sign_test(0, 0) == 1.0
    assert sign_test(3, 3) == 1.0
    assert sign_test(0, 5) == pytest.approx(2 / 32)  # 0.0625: five of five is not yet p < 0.05
    assert sign_test(6, 0) == pytest.approx(2 / 64)
    assert sign_test(1, 7) == sign_test(7, 1) == pytest.approx(2 * 9 / 256)
    assert sign_test(10, 2) == pytest.approx(2 * (1 + 12 + 66) / 4096)


def test_paired_rows_compare_the_cases_both_arms_answered() -> None:
    from tests.bench.quality.paired import paired_rows

    outcomes = {"torch": [1, 1, 0, 1, 0], "onnx": [1, 0, 0, 1, 1, 1], "raw": [0, 0]}
    ids = ["HumanEval/1", "HumanEval/2", "HumanEval/3", "HumanEval/4", "HumanEval/5", "x"]
    rows = {row[0]: row for row in paired_rows(outcomes, ids)}
    assert set(rows) == {"torch vs onnx", "torch vs raw", "onnx vs raw"}
    # torch vs onnx: 5 paired (onnx's 6th has no partner); task 2 only torch, task 5 only onnx.
    assert rows["torch vs onnx"][:7] == ["torch vs onnx", 5, 3, 3, 1, 1, "1.000"]
    assert rows["torch vs onnx"][7] == "2 5"  # ids shortened: "HumanEval/2" -> "2"
    assert rows["torch vs raw"][1:6] == [2, 2, 0, 2, 0]


def test_saved_runs_pair_by_case_and_keep_same_named_arms_apart() -> None:
    from tests.bench.quality.paired import aligned, outcomes_by_set

    def he(system: str, task: str, hit: int) -> dict[str, object]:
        return {"set": "he-single", "system": system, "task": task, "hit": hit}

    runs = {
        "main": [he("loomline 0.5B torch", "t1", 1), he("loomline 0.5B onnx", "t1", 0),
                 he("loomline 0.5B torch", "t2", 0), he("loomline 0.5B onnx", "t2", 0),
                 {"set": "he-multi", "system": "loomline", "task": "m1", "pass": 1}],
        "variant": [he("loomline 0.5B onnx", "t2", 1), he("loomline 0.5B onnx", "t1", 1),
                    he("loomline 0.5B onnx", "t3", 1)],
    }  # fmt: skip
    found = outcomes_by_set(runs)
    assert set(found["he-single"]) == {
        "loomline 0.5B torch", "loomline 0.5B onnx (main)", "loomline 0.5B onnx (variant)",
    }  # fmt: skip
    assert found["he-multi"] == {"loomline": {"m1": 1}}
    outcomes, ids = aligned(found["he-single"])
    assert ids == ["t1", "t2"]  # t3: only one arm answered it
    assert outcomes["loomline 0.5B onnx (variant)"] == [1, 1]
    assert outcomes["loomline 0.5B onnx (main)"] == [0, 0]
