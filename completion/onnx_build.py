"""The ONNX model for the ``onnx`` runtime: built once from the prepared safetensors.

ONNX Runtime GenAI's own model builder (``python -m onnxruntime_genai.models.builder``) runs in
a subprocess (it imports torch and transformers, which this process need not hold) and writes
into a fresh directory in the model cache; a manifest with every file's size and sha256 is
written last, so a build that was cut short is never taken for a model and is redone. Loading
checks the sizes (instant); ``loomline model verify --runtime onnx`` checks the checksums too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from loomline.completion.model_store import (
    ModelNotFound,
    ModelStore,
    ProgressCallback,
    is_model_dir,
    sha256_file,
)
from loomline.completion.onnx_memory import KILLED, killed_hint, memory_shortfall

log = logging.getLogger(__name__)

MANIFEST = "loomline-onnx.json"
# Bump when the build's options change, so models built with the old ones are rebuilt.
BUILD_FORMAT = 1
BUILDER_MODULE = "onnxruntime_genai.models.builder"
# Measured on the 2-core machine (0.5B, int4): int8 activations in the int4 MatMuls (accuracy
# level 4, which uses VNNI: prefill 548 vs 496 tokens/s at level 1, decode 79 vs 59 tokens/s),
# and logits for the last position only during prefill. The embedding table stays f32: int4
# (op_types_to_quantize=MatMul/Gather) halves the files (834 -> 402 MB) and saves ~120 MB of
# RSS, but moved the first line of one of ten FIM prompts away from torch's (an extra space of
# indentation), so quality wins.
CPU_QUANTIZED_OPTIONS = {"prune_lm_head": "true", "accuracy_level": "4"}


def execution_provider() -> str:
    """``cuda`` where ONNX Runtime GenAI was built with CUDA and sees a GPU, else ``cpu``."""
    try:
        import onnxruntime_genai as og

        return "cuda" if og.is_cuda_available() else "cpu"
    except Exception:
        return "cpu"


def builder_options(precision: str, provider: str) -> dict[str, str]:
    """The builder's ``--extra_options`` for a precision (int4, int8, fp32) and provider."""
    if precision in ("int4", "int8") and provider == "cpu":
        return dict(CPU_QUANTIZED_OPTIONS)
    return {"prune_lm_head": "true"}


def is_onnx_dir(path: Path) -> bool:
    return (path / "genai_config.json").is_file()


@dataclass(frozen=True, slots=True)
class OnnxBuild:
    """One ONNX model to build: from ``source`` (safetensors) into ``target``."""

    source: Path
    target: Path
    precision: str
    provider: str

    @property
    def options(self) -> dict[str, str]:
        return builder_options(self.precision, self.provider)

    def recipe(self) -> dict[str, object]:
        """What the model is made of; a model with another recipe is rebuilt."""
        return {
            "format": BUILD_FORMAT,
            "precision": self.precision,
            "provider": self.provider,
            "options": self.options,
            "source": str(self.source),
            "source_files": _fingerprint(self.source),
        }


def _fingerprint(source: Path) -> dict[str, list[int]]:
    """Size and modification time of the source weights: a re-prepared source is noticed."""
    return {
        p.name: [p.stat().st_size, p.stat().st_mtime_ns]
        for p in sorted(source.glob("*.safetensors"))
    }


def planned_build(
    store: ModelStore, source: Path, name: str, precision: str, provider: str
) -> OnnxBuild:
    """The ONNX model of ``source`` at ``<cache>/onnx/<name>-<precision>-<provider>``."""
    target = store.cache_dir / "onnx" / f"{name}-{precision}-{provider}"
    return OnnxBuild(source, target, precision, provider)


def plan_for(
    store: ModelStore,
    model_id: str,
    local_path: str | None,
    precision: str,
    progress: ProgressCallback,
    provider: str | None = None,
    allow_download: bool = True,
) -> OnnxBuild:
    """The build for a model id (or ``model.path``), preparing its safetensors if needed.

    Raises ``ModelNotFound`` when there is no safetensors model to build from.
    """
    source = store.resolve(model_id, local_path, progress=progress, allow_download=allow_download)
    if not is_model_dir(source):
        raise ModelNotFound(f"the onnx runtime builds from safetensors; {source} holds none")
    if local_path:  # named after the folder, with its path's hash: two folders may share a name
        digest = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:8]
        name = f"{source.name}-{digest}"
    else:
        name = store.prepared_dir(model_id).name
    return planned_build(store, source, name, precision, provider or execution_provider())


def prepare_onnx_model(
    store: ModelStore,
    model_id: str,
    local_path: str | None,
    precision: str,
    progress: ProgressCallback,
) -> Path:
    """A directory ONNX Runtime GenAI can load: ``model.path`` itself when it holds an ONNX
    model, else the cached build of the safetensors model (built now if missing or partial).
    """
    if local_path and is_onnx_dir(Path(local_path).expanduser()):
        return Path(local_path).expanduser()
    return ensure_built(plan_for(store, model_id, local_path, precision, progress), progress)


def verify_onnx_model(store: ModelStore, model_id: str, precision: str) -> tuple[bool, str]:
    """``loomline model verify --runtime onnx``: the build's files against their sha256."""
    try:
        build = plan_for(store, model_id, None, precision, _quiet, allow_download=False)
    except ModelNotFound as error:
        return False, str(error)
    ok, why = check_built(build, checksums=True)
    if not ok:  # say what makes it
        why += (f"; build it with: loomline model pull {model_id} --runtime onnx "
                f"--precision {precision}")
    return ok, why


def _quiet(message: str, fraction: float | None) -> None:
    log.debug("%s", message)


# ---- checking ---------------------------------------------------------------------------
def check_built(build: OnnxBuild, checksums: bool = False) -> tuple[bool, str]:
    """Whether ``build.target`` holds a finished build of this recipe: every file of the
    manifest present with its size (and sha256 when ``checksums``). Returns (ok, why)."""
    manifest_path = build.target / MANIFEST
    if not manifest_path.is_file():
        return False, f"{build.target} has no finished ONNX build"
    try:
        manifest = json.loads(manifest_path.read_text())
        files: dict[str, dict[str, object]] = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        return False, f"{manifest_path} is unreadable ({error})"
    if manifest.get("recipe") != build.recipe():
        return False, f"{build.target} was built from other weights or with other options"
    for name, facts in files.items():
        path = build.target / name
        if not path.is_file() or path.stat().st_size != facts.get("size"):
            return False, f"{path} is missing or has the wrong size"
        if checksums and sha256_file(path) != facts.get("sha256"):
            return False, f"{path} does not match its sha256"
    what = "sizes and checksums" if checksums else "sizes"
    return True, f"ONNX model ({build.precision}, {build.provider}) at {build.target}: {what} ok"


def _write_manifest(directory: Path, build: OnnxBuild, seconds: float) -> None:
    files = {
        p.name: {"size": p.stat().st_size, "sha256": sha256_file(p)}
        for p in sorted(directory.iterdir())
        if p.is_file()
    }
    manifest = {"recipe": build.recipe(), "build_seconds": round(seconds, 1), "files": files}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=1))


# ---- building ---------------------------------------------------------------------------
def ensure_built(build: OnnxBuild, progress: ProgressCallback) -> Path:
    """``build.target``, built first unless a finished build of this recipe is there."""
    ok, why = check_built(build)
    if ok:
        return build.target
    if (shortfall := memory_shortfall(build.source)) is not None:
        log.warning("%s", shortfall)
        progress(shortfall, None)
    build.target.parent.mkdir(parents=True, exist_ok=True)
    with _build_lock(build.target):
        ok, _ = check_built(build)  # another process may have built it meanwhile
        if not ok:
            log.info("building the ONNX model: %s", why)
            run_builder(build, progress)
    return build.target


@contextlib.contextmanager
def _build_lock(target: Path) -> Iterator[None]:
    """One build per target at a time across processes (two editors starting together)."""
    try:
        import fcntl
    except ImportError:  # no advisory locks here: builds may race; each writes its own dir
        yield
        return
    with open(target.with_name(target.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def builder_command(build: OnnxBuild, output: Path, cache: Path) -> list[str]:
    options = [f"{key}={value}" for key, value in build.options.items()]
    return [
        sys.executable, "-m", BUILDER_MODULE,
        "-i", str(build.source), "-o", str(output),
        "-p", build.precision, "-e", build.provider, "-c", str(cache),
        "--extra_options", *options,
    ]  # fmt: skip


def run_builder(build: OnnxBuild, progress: ProgressCallback) -> None:
    """Run the model builder into a fresh directory, then move it to ``build.target``.

    Raises ``ModelNotFound`` with the builder's last lines when it fails.
    """
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix=build.target.name + ".partial-", dir=build.target.parent))
    try:
        output = work / "model"
        command = builder_command(build, output, work / "cache")
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error")
        tail = _follow(command, env, BuildProgress(build, progress, started))
        if not is_onnx_dir(output):
            raise ModelNotFound(
                "the ONNX model builder failed:\n"
                + "\n".join(tail[-15:])
                + (killed_hint(build.source) if tail and tail[-1] == KILLED else "")
            )
        progress("checksumming the ONNX model", 0.99)
        _write_manifest(output, build, time.monotonic() - started)
        shutil.rmtree(build.target, ignore_errors=True)
        os.replace(output, build.target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    progress(f"ONNX model built in {time.monotonic() - started:.0f} s", 1.0)


def _follow(command: list[str], env: dict[str, str], stages: BuildProgress) -> list[str]:
    """Run ``command``, feeding its output lines to ``stages`` (and a tick every second while
    it is silent); returns its last lines."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:  # \r (tqdm) counts as a line end too
            lines.put(line.rstrip())
        lines.put(None)

    reader = threading.Thread(target=read, name="loomline-onnx-build", daemon=True)
    reader.start()
    tail: list[str] = []
    try:
        while True:
            try:
                line = lines.get(timeout=1.0)
            except queue.Empty:
                stages.tick()
                continue
            if line is None:
                break
            stages.line(line)
            if line and "skip to quantize" not in line:
                tail = [*tail[-30:], line]
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
    if process.returncode:
        tail.append(f"(exit status {process.returncode})")
        if process.returncode == -9:  # SIGKILL: what the kernel's out-of-memory killer sends
            tail.append(KILLED)
    return tail


# The builder's output lines that start a stage: (text in the line, stage, fraction done).
_STAGE_MARKS = (
    ("Reading embedding layer", "reading the weights", 0.15),
    ("Saving ONNX model", "writing the graph", 0.25),
    ("embed_tokens/Gather", "quantizing the embedding table", 0.45),
    ("/lm_head/", "quantizing the output layer", 0.85),
    ("Saving GenAI config", "saving", 0.95),
    ("Saving processing files", "saving", 0.95),
)
# Lines naming a layer: (pattern of its number, stage, fraction at layer 0, share of all layers).
# "skip to quantize" lines name every node, in no useful order: only real work counts.
_LAYER_MARKS = (
    (re.compile(r"Reading layer (\d+)"), "reading the weights", 0.15, 0.10),
    (re.compile(r"(?:start to quantize|complete quantization of) /model/layers\.(\d+)/"),
     "quantizing the layers", 0.6, 0.25),
)


class BuildProgress:
    """The builder's output lines as stages with a fraction done and the time so far."""

    def __init__(self, build: OnnxBuild, progress: ProgressCallback, started: float) -> None:
        self._progress = progress
        self._started = started
        self._layers = _layer_count(build.source)
        self._what = f"ONNX build ({build.precision})"
        self._stage = "starting the model builder"
        self._fraction = 0.0
        self.tick()

    def line(self, text: str) -> None:
        stage = self._stage_of(text)
        if stage is not None:
            self._stage, self._fraction = stage[0], max(self._fraction, stage[1])
        self.tick()

    def tick(self) -> None:
        elapsed = time.monotonic() - self._started
        self._progress(f"{self._what} {elapsed:.0f} s: {self._stage}", self._fraction)

    def _stage_of(self, text: str) -> tuple[str, float] | None:
        for mark, stage, fraction in _STAGE_MARKS:
            if mark in text:
                return stage, fraction
        for pattern, stage, first, share in _LAYER_MARKS:
            if match := pattern.search(text):
                return stage, first + share * int(match.group(1)) / max(1, self._layers)
        return None


def _layer_count(source: Path) -> int:
    try:
        return int(json.loads((source / "config.json").read_text())["num_hidden_layers"])
    except (OSError, ValueError, KeyError, TypeError):
        return 24
