"""FIM templates and model presets, loaded from ``presets.json`` (data, not code paths)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FimTemplate:
    name: str
    prefix: str
    suffix: str
    middle: str
    # Repository-level markers; an empty ``repo_name`` means the family has none.
    repo_name: str
    file: str
    current_file: str
    stop: tuple[str, ...]

    def fim(self, prefix: str, suffix: str) -> str:
        """Prefix-suffix-middle prompt: the model writes what goes between."""
        return f"{self.prefix}{prefix}{self.suffix}{suffix}{self.middle}"

    def special_tokens(self) -> tuple[str, ...]:
        return (self.prefix.strip(), self.suffix.strip(), self.middle.strip(), *self.stop)


@dataclass(frozen=True, slots=True)
class ModelPreset:
    match: str
    template: str
    context_tokens: int
    # How context from other files goes into the prompt: "files" (the family's repository
    # markers) or "comments" (line comments at the head of the prefix).
    context_layout: str = "files"


def read_data(path: Path) -> dict[str, object]:
    """A data file of templates or formats: a JSON object (UTF-8)."""
    data: dict[str, object] = json.loads(path.read_text("utf-8"))
    return data


def named_records(raw: object, make: Callable[..., T]) -> dict[str, T]:
    """A data file's ``{name: {field: value}}`` table as records made by ``make`` with
    ``name=`` and the fields (``stop``, a list of strings, as a tuple)."""
    assert isinstance(raw, dict)
    return {
        name: make(name=name, **{**fields, "stop": tuple(fields["stop"])})
        for name, fields in raw.items()
    }


def model_key(model_id: str) -> str:
    """A model id as the data files' ``match`` strings are written (lower case, ``-``)."""
    return model_id.lower().replace("_", "-")


@cache
def _presets() -> dict[str, object]:
    return read_data(Path(__file__).with_name("presets.json"))


@cache
def templates() -> dict[str, FimTemplate]:
    return named_records(_presets()["templates"], FimTemplate)


@cache
def model_presets() -> tuple[ModelPreset, ...]:
    raw = _presets()["models"]
    assert isinstance(raw, list)
    return tuple(ModelPreset(**entry) for entry in raw)


def preset_for_model(model_name: str) -> ModelPreset | None:
    key = model_key(model_name)
    return next((p for p in model_presets() if p.match in key), None)


def context_layout_for(model_name: str, setting: str = "auto") -> str:
    """The layout a setting names, else the model preset's (measured per model), else files."""
    if setting != "auto":
        return setting
    preset = preset_for_model(model_name)
    return preset.context_layout if preset else "files"


def template_for(model_name: str, setting: str = "auto") -> FimTemplate:
    """The template a setting names, else the one the model's name implies, else Qwen's."""
    table = templates()
    if setting != "auto":
        if setting not in table:
            raise KeyError(f"unknown FIM template '{setting}' (known: {', '.join(sorted(table))})")
        return table[setting]
    preset = preset_for_model(model_name)
    return table[preset.template] if preset else table["qwen"]
