"""Where LoRA adapters live, and the manifest each one carries.

An adapter is named (``engine.adapters`` maps workspace folders to names); the name ``N``
resolves to ``<cacheDir>/adapters/N`` (``model.cacheDir``, default ``$LOOMLINE_CACHE`` or
``~/.cache/loomline``), which is where ``loomline adapt`` writes by default. The directory is a
standard PEFT adapter (``adapter_config.json`` + ``adapter_model.safetensors``, what the
embedded engine and ``vllm --lora-modules N=DIR`` load) plus ``manifest.json``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from loomline.completion.model_store import ModelStore

ADAPTERS_DIR = "adapters"
MANIFEST = "manifest.json"
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def valid_adapter_name(name: str) -> bool:
    """A name that is one path part: letters, digits, ``.``, ``_``, ``-`` (no separators)."""
    return bool(_NAME.match(name)) and name not in {".", ".."}


def adapter_name_for(folder: str | Path) -> str:
    """The default name of a workspace folder's adapter: its last path part, made valid."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(folder).resolve().name).strip(".-")
    return base[:100] or "workspace"


def adapters_dir(cache_dir: str | Path | None = None) -> Path:
    """``<cacheDir>/adapters``: the folder that holds every named adapter."""
    return ModelStore(cache_dir).cache_dir / ADAPTERS_DIR


def adapter_dir(name: str, cache_dir: str | Path | None = None) -> Path:
    """The directory of the adapter ``name``; ``ValueError`` for a name that is no valid name."""
    if not valid_adapter_name(name):
        raise ValueError(f"invalid adapter name {name!r} (letters, digits, '.', '_', '-')")
    return adapters_dir(cache_dir) / name


def is_adapter_dir(path: Path) -> bool:
    return (path / ADAPTER_CONFIG).is_file() and (path / ADAPTER_WEIGHTS).is_file()


def adapter_rank(path: Path) -> int | None:
    """The largest LoRA rank of the PEFT adapter at ``path`` (its ``adapter_config.json``:
    ``r`` and any per-module ``rank_pattern``), or None if it cannot be read."""
    try:
        config = json.loads((path / ADAPTER_CONFIG).read_text(encoding="utf-8"))
        ranks = [config["r"], *(config.get("rank_pattern") or {}).values()]
        return max(int(rank) for rank in ranks)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def other_base_model(path: Path, model_id: str) -> str | None:
    """The base model the adapter at ``path`` was trained for (its manifest's ``base_model``)
    when that is not ``model_id``; None when it is, or when no manifest says."""
    base = (read_manifest(path) or {}).get("base_model")
    return base if isinstance(base, str) and base != model_id else None


def adapter_stamp(path: Path) -> tuple[int, int] | None:
    """(modification time in ns, size) of the adapter's weights: tells a retrained adapter
    from the one loaded; None when there are none."""
    try:
        stat = (path / ADAPTER_WEIGHTS).stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


@dataclass(slots=True)
class Manifest:
    """What an adapter was trained from and how well it did (``manifest.json``).

    ``metrics``: ``{"before": {...}, "after": {...}}`` with ``heldout_loss`` (mean cross-entropy
    per middle token, nats) and ``exact_match`` (share 0..1) on the held-out files.
    """

    base_model: str
    base_model_dir: str
    workspace: str
    data_hash: str
    train_samples: int
    heldout_samples: int
    heldout_files: list[str]
    settings: dict[str, Any]
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    format: int = 1

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / MANIFEST
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        return path


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest of an adapter directory as JSON, or None (absent or unreadable)."""
    try:
        data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
