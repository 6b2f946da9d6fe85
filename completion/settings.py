"""Typed settings, parsed from the client's camelCase JSON.

Invalid values never fail the session: each problem is reported and the default kept.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

Backend = Literal["embedded", "vllm", "fake"]
Multiline = Literal["auto", "always", "never"]
ContextLayout = Literal["auto", "files", "comments"]

DEFAULT_MODEL_ID = "Qwen/Qwen2.5-Coder-0.5B-Instruct"


@dataclass(kw_only=True)
class ModelSettings:
    # Hugging Face repository id; for the embedded backend the offline mirror covers this id.
    id: str = DEFAULT_MODEL_ID
    # A local directory (safetensors or GGUF) that overrides ``id`` for the embedded backend.
    path: str | None = None
    # FIM template name ("qwen", "starcoder", ...); "auto" infers it from the model name.
    template: str = "auto"
    # Where prepared models live; default: $LOOMLINE_CACHE or ~/.cache/loomline.
    cache_dir: str | None = None
    # Threads for the embedded model; 0 = torch's default.
    threads: int = 0


@dataclass(kw_only=True)
class EngineSettings:
    # OpenAI-compatible completion endpoints (vLLM), e.g. "http://127.0.0.1:8000/v1".
    urls: list[str] = field(default_factory=list)
    # The model name the server knows (vLLM's --served-model-name); default: model.id.
    served_model: str | None = None
    # Name of the environment variable that holds the API key (never the key itself).
    api_key_env: str = "LOOMLINE_API_KEY"
    connect_timeout_ms: int = 2000
    read_timeout_ms: int = 10000
    # Candidates per request, ranked by post-processing.
    candidates: int = 1
    # LoRA adapter per repository: {"/path/to/repo": "adapter-name"}; "*" for all.
    adapters: dict[str, str] = field(default_factory=dict)
    verify_tls: bool = True


@dataclass(kw_only=True)
class CompletionSettings:
    enabled: bool = True
    # Languages where completion is off, e.g. ["markdown", "plaintext"].
    disabled_languages: list[str] = field(default_factory=list)
    multiline: Multiline = "auto"
    max_tokens: int = 128
    single_line_max_tokens: int = 48
    temperature: float = 0.0
    # Prompt budget in tokens (context + prefix + suffix).
    prompt_tokens: int = 1024
    # Share of the cursor window given to the text after the cursor.
    suffix_share: float = 0.25
    complete_in_comments: bool = True
    complete_in_strings: bool = False
    # Documents larger than this get no completion (clear message, empty answer).
    max_file_bytes: int = 2_000_000
    # Wait until the pause is long for this user's typing speed (twice their median gap
    # between keys, at most maxDebounceMs) before asking the model; explicit triggers never wait.
    adaptive_debounce: bool = True
    max_debounce_ms: int = 350
    # Keep a running generation while the user types what it says; the next request joins it.
    reuse_running: bool = True


@dataclass(kw_only=True)
class ContextSettings:
    enabled: bool = True
    # Share of the prompt budget for cross-file context and similar snippets.
    budget_share: float = 0.4
    # How other files' code goes into the prompt: "files" (repository markers), "comments"
    # (line comments at the head of the prefix), or "auto" (what the model preset says).
    layout: ContextLayout = "auto"
    # Globs never read, indexed or sent to an engine (on top of .gitignore).
    exclude: list[str] = field(default_factory=lambda: [
        "**/.env", "**/.env.*", "**/*.pem", "**/*.key", "**/id_rsa*", "**/secrets/**",
        "**/node_modules/**", "**/.git/**", "**/.venv/**",
    ])
    max_index_files: int = 20_000


@dataclass(kw_only=True)
class FakeSettings:
    """The scripted backend, for tests and client development: no model, instant answers."""

    response: str = "return 42"
    chunk_delay_ms: int = 5
    load_delay_ms: int = 0


@dataclass(kw_only=True)
class Settings:
    backend: Backend = "embedded"
    model: ModelSettings = field(default_factory=ModelSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    completion: CompletionSettings = field(default_factory=CompletionSettings)
    context: ContextSettings = field(default_factory=ContextSettings)
    fake: FakeSettings = field(default_factory=FakeSettings)
    # Keep accept/dismiss events in a local file (they never leave the machine).
    record_events: bool = False
    log_level: Literal["error", "warning", "info", "debug"] = "info"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def parse_settings(raw: Any, base: Settings | None = None) -> tuple[Settings, list[str]]:
    """Settings from camelCase JSON over ``base`` (defaults if none), plus problems found.

    Accepts both ``{"backend": ...}`` and ``{"loomline": {"backend": ...}}``.
    """
    problems: list[str] = []
    settings = dataclasses.replace(base) if base is not None else Settings()
    if raw is None:
        return settings, problems
    if isinstance(raw, dict) and isinstance(raw.get("loomline"), dict):
        raw = raw["loomline"]
    if not isinstance(raw, dict):
        return settings, [f"settings must be an object, got {type(raw).__name__}"]
    return _merge(settings, raw, "", problems), problems


def _merge(target: Any, raw: dict[str, Any], prefix: str, problems: list[str]) -> Any:
    hints = typing.get_type_hints(type(target))
    fields_by_name = {f.name: f for f in dataclasses.fields(target)}
    changes: dict[str, Any] = {}
    for key, value in raw.items():
        name = _snake(str(key))
        where = f"{prefix}{key}"
        if name not in fields_by_name:
            problems.append(f"unknown setting '{where}' ignored")
            continue
        hint = hints[name]
        current = getattr(target, name)
        if dataclasses.is_dataclass(current) and not isinstance(current, type):
            if isinstance(value, dict):
                changes[name] = _merge(dataclasses.replace(current), value, where + ".", problems)
            else:
                problems.append(f"setting '{where}' must be an object; kept the default")
            continue
        converted, ok = _convert(value, hint)
        if ok:
            changes[name] = converted
        else:
            problems.append(f"setting '{where}' has an invalid value {value!r}; kept {current!r}")
    return dataclasses.replace(target, **changes)


def _convert(value: Any, hint: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Literal:
        return value, value in args
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            converted, ok = _convert(value, arg)
            if ok:
                return converted, True
        return value, False
    if hint is type(None):
        return None, value is None
    if origin is list:
        if not isinstance(value, list):
            return value, False
        items = [_convert(item, args[0]) for item in value]
        return [item for item, _ in items], all(ok for _, ok in items)
    if origin is dict:
        if not isinstance(value, dict):
            return value, False
        ok = all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        return dict(value), ok
    if hint is bool:
        return value, isinstance(value, bool)
    if hint is int:
        return value, isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return (float(value) if ok else value), ok
    if hint is str:
        return value, isinstance(value, str)
    return value, False


def validate(settings: Settings) -> list[str]:
    """Range checks that types alone cannot express."""
    problems = []
    c = settings.completion
    if not 1 <= c.max_tokens <= 4096:
        problems.append("completion.maxTokens must be between 1 and 4096")
    if not 64 <= c.prompt_tokens <= 32768:
        problems.append("completion.promptTokens must be between 64 and 32768")
    if not 0.0 <= c.suffix_share <= 0.9:
        problems.append("completion.suffixShare must be between 0 and 0.9")
    if not 0 <= c.max_debounce_ms <= 2000:
        problems.append("completion.maxDebounceMs must be between 0 and 2000")
    if not 0.0 <= settings.context.budget_share <= 0.9:
        problems.append("context.budgetShare must be between 0 and 0.9")
    if settings.backend == "vllm" and not settings.engine.urls:
        problems.append("backend 'vllm' needs engine.urls")
    return problems
