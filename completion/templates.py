"""FIM templates and model presets, loaded from ``presets.json`` (data, not code paths)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path


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


@cache
def _presets() -> dict[str, object]:
    text = Path(__file__).with_name("presets.json").read_text("utf-8")
    data: dict[str, object] = json.loads(text)
    return data


@cache
def templates() -> dict[str, FimTemplate]:
    raw = _presets()["templates"]
    assert isinstance(raw, dict)
    return {
        name: FimTemplate(name=name, **{**fields, "stop": tuple(fields["stop"])})
        for name, fields in raw.items()
    }


@cache
def model_presets() -> tuple[ModelPreset, ...]:
    raw = _presets()["models"]
    assert isinstance(raw, list)
    return tuple(ModelPreset(**entry) for entry in raw)


def preset_for_model(model_name: str) -> ModelPreset | None:
    lowered = model_name.lower().replace("_", "-")
    return next((p for p in model_presets() if p.match in lowered), None)


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
