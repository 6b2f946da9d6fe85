"""Building the ONNX model once, with progress, and knowing a finished build from a partial one.

The model builder is replaced by a small script that speaks like it (same output lines, same
files), run the same way: a subprocess through ``python -m``.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from loomline.completion import onnx_build, onnx_memory
from loomline.completion.engines import create_engine
from loomline.completion.engines.onnx import OnnxEngine
from loomline.completion.model_store import ModelNotFound, ModelStore
from loomline.completion.onnx_build import (
    MANIFEST,
    BuildProgress,
    check_built,
    ensure_built,
    plan_for,
    prepare_onnx_model,
)
from loomline.completion.settings import (
    ModelSettings,
    Settings,
    embedded_runtime,
    parse_settings,
)

MODEL_ID = "Qwen/Qwen2.5-Coder-0.5B-Instruct"

FAKE_BUILDER = r'''
import argparse, os, pathlib, sys
parser = argparse.ArgumentParser()
for flag in ("-i", "-o", "-p", "-e", "-c"):
    parser.add_argument(flag)
parser.add_argument("--extra_options", nargs="+")
args = parser.parse_args()
with open(os.environ["FAKE_BUILDER_RUNS"], "a") as runs:
    runs.write(" ".join(sys.argv[1:]) + "\n")
print("Reading embedding layer", flush=True)
for layer in range(2):
    print(f"Reading layer {layer}", flush=True)
print(f"Saving ONNX model in {args.o}", flush=True)
print("INFO - start to quantize /model/embed_tokens/Gather ...", flush=True)
print("INFO - start to quantize /model/layers.1/mlp/up_proj/MatMul ...", flush=True)
if os.environ.get("FAKE_BUILDER_KILLED"):  # as the kernel's out-of-memory killer does
    import signal
    os.kill(os.getpid(), signal.SIGKILL)
if os.environ.get("FAKE_BUILDER_FAIL"):
    print("RuntimeError: out of memory while quantizing", flush=True)
    sys.exit(3)
out = pathlib.Path(args.o)
out.mkdir(parents=True)
(out / "model.onnx").write_bytes(b"graph")
(out / "model.onnx.data").write_bytes(b"w" * 4096)
(out / "tokenizer.json").write_text("{}")
print(f"Saving GenAI config in {args.o}", flush=True)
(out / "genai_config.json").write_text('{"model": {"context_length": 32768}}')
'''


@pytest.fixture
def fake_builder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fake builder on the subprocess's path; returns the file that logs its runs."""
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "fake_onnx_builder.py").write_text(FAKE_BUILDER)
    runs = tmp_path / "runs.txt"
    runs.write_text("")
    monkeypatch.setattr(onnx_build, "BUILDER_MODULE", "fake_onnx_builder")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(scripts), *sys.path]))
    monkeypatch.setenv("FAKE_BUILDER_RUNS", str(runs))
    return runs


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    """A cache holding a prepared (empty) safetensors model for MODEL_ID."""
    store = ModelStore(tmp_path / "cache")
    prepared = store.prepared_dir(MODEL_ID)
    prepared.mkdir(parents=True)
    (prepared / "config.json").write_text('{"num_hidden_layers": 2}')
    (prepared / "model.safetensors").write_bytes(b"s" * 100)
    return store


def _runs(runs: Path) -> int:
    return len(runs.read_text().splitlines())


def _plan(store: ModelStore, precision: str = "int4") -> onnx_build.OnnxBuild:
    return plan_for(store, MODEL_ID, None, precision, lambda m, f: None, provider="cpu")


def test_a_build_runs_once_with_progress_and_a_manifest(
    store: ModelStore, fake_builder: Path
) -> None:
    heard: list[tuple[str, float | None]] = []
    built = prepare_onnx_model(store, MODEL_ID, None, "int4", lambda m, f: heard.append((m, f)))
    assert built == store.cache_dir / "onnx" / "Qwen2.5-Coder-0.5B-Instruct-int4-cpu"
    assert (built / MANIFEST).is_file() and (built / "model.onnx.data").stat().st_size == 4096
    assert check_built(_plan(store), checksums=True)[0]
    # The builder got the source, the precision and the measured options.
    (args,) = runs = fake_builder.read_text().splitlines()
    assert f"-i {store.prepared_dir(MODEL_ID)}" in args and "-p int4 -e cpu" in args
    assert "accuracy_level=4" in args and "prune_lm_head=true" in args
    # Progress: the stages in order, the fraction never going back, the time so far shown.
    messages = [m for m, _ in heard]
    stages = ["reading the weights", "writing the graph", "quantizing the embedding table",
              "quantizing the layers", "saving"]  # fmt: skip
    positions = [next(i for i, m in enumerate(messages) if stage in m) for stage in stages]
    assert positions == sorted(positions)
    fractions = [f for _, f in heard if f is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(" s: " in m for m in messages)
    # Prepared again: nothing to build.
    assert prepare_onnx_model(store, MODEL_ID, None, "int4", lambda m, f: None) == built
    assert len(runs) == _runs(fake_builder) == 1


def test_verify_of_a_precision_not_built_says_what_to_run(store: ModelStore) -> None:
    ok, why = onnx_build.verify_onnx_model(store, MODEL_ID, "int4")
    assert not ok
    assert why.endswith(f"loomline model pull {MODEL_ID} --runtime onnx --precision int4")


def test_a_build_cut_short_is_redone(store: ModelStore, fake_builder: Path) -> None:
    plan = _plan(store)
    # What a killed build leaves: its work directory, and a target without a manifest.
    plan.target.mkdir(parents=True)
    (plan.target / "model.onnx").write_bytes(b"half")
    (plan.target.parent / f"{plan.target.name}.partial-dead").mkdir()
    assert check_built(plan)[0] is False
    ensure_built(plan, lambda m, f: None)
    assert check_built(plan)[0] and _runs(fake_builder) == 1
    assert (plan.target / "model.onnx").read_bytes() == b"graph"


def test_a_damaged_file_is_noticed_and_rebuilt(store: ModelStore, fake_builder: Path) -> None:
    plan = _plan(store)
    ensure_built(plan, lambda m, f: None)
    data = plan.target / "model.onnx.data"
    data.write_bytes(b"x" * 4096)  # same size: only the checksum tells
    assert check_built(plan)[0] is True
    ok, why = check_built(plan, checksums=True)
    assert not ok and "sha256" in why
    data.write_bytes(b"x" * 10)  # truncated: the size tells, on every load
    ok, why = check_built(plan)
    assert not ok and "size" in why
    ensure_built(plan, lambda m, f: None)
    assert check_built(plan, checksums=True)[0] and _runs(fake_builder) == 2


def test_new_source_weights_or_another_precision_build_anew(
    store: ModelStore, fake_builder: Path
) -> None:
    ensure_built(_plan(store), lambda m, f: None)
    weights = store.prepared_dir(MODEL_ID) / "model.safetensors"
    weights.write_bytes(b"t" * 120)  # the model was prepared again
    assert check_built(_plan(store))[0] is False
    ensure_built(_plan(store), lambda m, f: None)
    int8 = _plan(store, "int8")
    assert int8.target != _plan(store).target
    ensure_built(int8, lambda m, f: None)
    assert _runs(fake_builder) == 3


def test_a_failed_build_says_why_and_leaves_nothing(
    store: ModelStore, fake_builder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_BUILDER_FAIL", "1")
    plan = _plan(store)
    with pytest.raises(ModelNotFound, match="out of memory") as failure:
        ensure_built(plan, lambda m, f: None)
    assert "exit status 3" in str(failure.value)
    assert not plan.target.exists()
    assert not any(".partial-" in p.name for p in plan.target.parent.iterdir())


def test_a_build_killed_for_memory_says_how_much_it_needs(
    store: ModelStore, fake_builder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The 1.5B's build peaked at 13.3 GB: on a smaller machine the kernel kills it silently.
    monkeypatch.setenv("FAKE_BUILDER_KILLED", "1")
    plan = _plan(store)
    with pytest.raises(ModelNotFound) as failure:
        ensure_built(plan, lambda m, f: None)
    message = str(failure.value)
    assert "killed by SIGKILL, most likely for lack of memory" in message
    assert "needs about 0.0 GB of free memory" in message  # 100 bytes of weights
    assert "loomline model pull" in message
    assert not plan.target.exists()
    # Any other failure gets no such hint.
    monkeypatch.delenv("FAKE_BUILDER_KILLED")
    monkeypatch.setenv("FAKE_BUILDER_FAIL", "1")
    with pytest.raises(ModelNotFound) as failure:
        ensure_built(plan, lambda m, f: None)
    assert "SIGKILL" not in str(failure.value) and "free memory" not in str(failure.value)


def test_too_little_free_memory_is_said_before_the_build(
    store: ModelStore, fake_builder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = store.prepared_dir(MODEL_ID)
    (source / "model.safetensors").write_bytes(b"s" * 1_000_000)
    need = onnx_memory.build_memory_bytes(source)
    assert need == 4_600_000  # 4.6x the weights: the 0.5B's int8 build took 4.55x
    assert onnx_memory.memory_shortfall(source, available=need) is None
    warning = onnx_memory.memory_shortfall(source, available=need // 2)
    assert warning is not None and "needs about 0.0 GB of memory and 0.0 GB is free" in warning
    monkeypatch.setattr(onnx_memory, "available_memory_bytes", lambda: need // 2)
    heard: list[str] = []
    ensure_built(_plan(store), lambda m, f: heard.append(m))  # a warning, not a refusal
    assert heard[0].startswith("building the ONNX model of Qwen2.5-Coder-0.5B-Instruct needs")
    assert _runs(fake_builder) == 1
    # Enough free (or unknown): nothing said.
    monkeypatch.setattr(onnx_memory, "available_memory_bytes", lambda: None)
    assert onnx_memory.memory_shortfall(source) is None


def test_the_free_memory_is_read_from_the_system() -> None:
    free = onnx_memory.available_memory_bytes()
    assert free is None or free > 0


def test_a_local_onnx_model_is_used_as_it_is(tmp_path: Path, fake_builder: Path) -> None:
    onnx_dir = tmp_path / "my-onnx"
    onnx_dir.mkdir()
    (onnx_dir / "genai_config.json").write_text("{}")
    store = ModelStore(tmp_path / "cache")
    assert prepare_onnx_model(store, MODEL_ID, str(onnx_dir), "int4", lambda m, f: None) == (
        onnx_dir
    )
    assert _runs(fake_builder) == 0


def test_a_gguf_only_folder_is_refused_clearly(tmp_path: Path) -> None:
    folder = tmp_path / "gguf-only"
    folder.mkdir()
    (folder / "model.gguf").write_bytes(b"GGUF")
    with pytest.raises(ModelNotFound, match="builds from safetensors"):
        prepare_onnx_model(ModelStore(tmp_path / "c"), MODEL_ID, str(folder), "int4",
                           lambda m, f: None)  # fmt: skip


def test_the_builders_own_output_maps_to_stages(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "config.json").write_text('{"num_hidden_layers": 24}')
    plan = onnx_build.OnnxBuild(source, tmp_path / "out", "int4", "cpu")
    heard: list[tuple[str, float | None]] = []
    stages = BuildProgress(plan, lambda m, f: heard.append((m, f)), started=0.0)
    lines = [  # as onnxruntime-genai 0.18.0's builder prints them
        "Valid precision + execution provider combinations are: FP32 CPU, ...",
        "Loading weights: 100%|██████████| 291/291 [00:00<00:00, 41759.36it/s]",
        "Reading embedding layer",
        "Reading layer 12",
        "Saving ONNX model in /tmp/x",
        "2026-11-30 19:38:48,704 onnxruntime.quantization.matmul_nbits_quantizer [INFO] - "
        "skip to quantize /model/layers.0/input_layernorm/LayerNorm ...",
        "2026-11-30 19:38:56,503 onnxruntime.quantization.matmul_nbits_quantizer [INFO] - "
        "complete quantization of /model/embed_tokens/Gather with 4 bits ...",
        "2026-11-30 19:39:01,484 onnxruntime.quantization.matmul_nbits_quantizer [INFO] - "
        "complete quantization of /model/layers.12/attn/o_proj/MatMul with 4 bits ...",
        "2026-11-30 19:39:07,464 onnxruntime.quantization.matmul_nbits_quantizer [INFO] - "
        "start to quantize /lm_head/MatMul ...",
        "Saving GenAI config in /tmp/x",
    ]
    for line in lines:
        stages.line(line)
    fractions = [f for _, f in heard]
    assert fractions == sorted(fractions)
    assert [round(f or 0, 3) for f in fractions] == [
        0.0, 0.0, 0.0, 0.15, 0.2, 0.25, 0.25, 0.45, 0.725, 0.85, 0.95,
    ]  # fmt: skip
    assert "quantizing the output layer" in heard[-2][0]


def test_the_runtime_is_a_setting_and_chooses_the_engine() -> None:
    settings, problems = parse_settings({"model": {"runtime": "onnx", "onnxPrecision": "fp32"}})
    assert problems == [] and settings.model.runtime == "onnx"
    assert settings.model.onnx_precision == "fp32"
    assert isinstance(create_engine(settings), OnnxEngine)
    torch, _ = parse_settings({"model": {"runtime": "torch"}})
    assert not isinstance(create_engine(torch), OnnxEngine)
    assert Settings().model.runtime == "auto"
    assert isinstance(create_engine(Settings()), OnnxEngine)
    kept, problems = parse_settings({"model": {"runtime": "tensorflow", "onnxPrecision": "q2"}})
    assert kept.model == ModelSettings()
    assert len(problems) == 2 and all("kept" in p for p in problems)
    assert "'model.runtime'" in problems[0] and "'torch'" in problems[0]


@pytest.mark.parametrize(
    ("raw", "runtime"),
    [
        ({}, "onnx"),
        ({"engine": {"adapters": {"*": ""}}}, "onnx"),  # "" is the base model: no adapter
        ({"engine": {"adapters": {"/work/repo": "repo"}}}, "torch"),
        ({"model": {"runtime": "onnx"}, "engine": {"adapters": {"*": "repo"}}}, "onnx"),
        ({"model": {"runtime": "torch"}}, "torch"),
    ],
)
def test_auto_runs_onnx_unless_lora_adapters_are_configured(
    raw: dict[str, Any], runtime: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Only torch applies LoRA adapters: a user who configured them keeps getting them, unless
    they ask for onnx themselves (then the engine says once that it ignores them)."""
    settings, problems = parse_settings(raw)
    assert problems == []
    assert embedded_runtime(settings)[0] == runtime
    with caplog.at_level(logging.INFO, logger="loomline.completion.engines"):
        engine = create_engine(settings)
    assert isinstance(engine, OnnxEngine) is (runtime == "onnx")
    said = [r.getMessage() for r in caplog.records if "model.runtime" in r.getMessage()]
    assert len(said) == 1, said
    assert f"runs {runtime}" in said[0] or f"is '{runtime}'" in said[0], said
    if "adapters" in raw.get("engine", {}) and runtime == "torch":
        assert "LoRA adapters" in said[0]
