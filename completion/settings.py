"""Typed settings, parsed from the client's camelCase JSON, and the one store that owns them.

Parsing is pydantic's (strict types, ranges declared on the fields); this module adds what a
language server needs on top: invalid values never fail the session. Each invalid value is
reported once and replaced by the current value (the default on the first parse), unknown keys
are reported and ignored, and everything else still applies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from loomline.completion.next_edit.formats import formats as next_edit_formats
from loomline.completion.templates import templates
from loomline.context.workspace_folders import adapter_key_problem

Backend = Literal["embedded", "vllm", "fake"]
Multiline = Literal["auto", "always", "never"]
ContextLayout = Literal["auto", "files", "comments"]
LogLevel = Literal["error", "warning", "info", "debug"]
Runtime = Literal["auto", "torch", "onnx"]
OnnxPrecision = Literal["int4", "int8", "fp32"]



def _adapter_key(key: str) -> str:
    problem = adapter_key_problem(key)
    if problem is not None:
        raise ValueError(problem)
    return key


# A key of ``engine.adapters``: a folder's path, ``file:`` URI or name, or ``*``.
AdapterKey = Annotated[str, AfterValidator(_adapter_key)]

DEFAULT_MODEL_ID = "Qwen/Qwen2.5-Coder-0.5B-Instruct"

# The top-level settings an engine is built from: a change to any of them needs a new engine.
ENGINE_SECTIONS = frozenset({"backend", "model", "engine", "fake"})


class _Section(BaseModel):
    # camelCase from clients, snake_case from Python; no coercion ("5" is not 5, true is not 1).
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        strict=True,
        extra="forbid",
    )


def _auto_or_known(value: str, kind: str, known: Iterable[str]) -> str:
    """``value`` if it is "auto" or one of ``known``; ValueError naming the choices otherwise."""
    names = sorted(known)
    if value != "auto" and value not in names:
        raise ValueError(f"unknown {kind} (known: auto, {', '.join(names)})")
    return value


class ModelSettings(_Section):
    # Hugging Face repository id; for the embedded backend the offline mirror covers this id.
    id: str = DEFAULT_MODEL_ID
    # A local directory (safetensors or GGUF) that overrides ``id`` for the embedded backend.
    path: str | None = None
    # FIM template name ("qwen", "starcoder", ...); "auto" infers it from the model name.
    template: str = "auto"
    # Where prepared models live; default: $LOOMLINE_CACHE or ~/.cache/loomline.
    cache_dir: str | None = None
    # Threads for the embedded model; 0 = the cores other programs leave free, re-measured
    # between requests (engines/threads.py).
    threads: int = Field(default=0, ge=0)
    # What runs the embedded model: transformers + torch (bf16), or ONNX Runtime GenAI in a
    # process of its own; "auto": onnx, or torch when LoRA adapters are configured
    # (``embedded_runtime``).
    runtime: Runtime = "auto"
    # Weights of the ONNX model, built once from the prepared safetensors (runtime "onnx").
    onnx_precision: OnnxPrecision = "int8"

    @field_validator("template")
    @classmethod
    def _known_template(cls, value: str) -> str:
        # An unknown name would only fail when the engine starts, leaving it "starting".
        return _auto_or_known(value, "template", templates())


class EngineSettings(_Section):
    # OpenAI-compatible completion endpoints (vLLM), e.g. "http://127.0.0.1:8000/v1".
    urls: list[str] = Field(default_factory=list)
    # The model name the server knows (vLLM's --served-model-name); default: model.id.
    served_model: str | None = None
    # Name of the environment variable that holds the API key (never the key itself).
    api_key_env: str = "LOOMLINE_API_KEY"
    connect_timeout_ms: int = Field(default=2000, ge=1)
    read_timeout_ms: int = Field(default=10000, ge=1)
    # Candidates per request, ranked by post-processing.
    candidates: int = Field(default=1, ge=1)
    # LoRA adapter per folder: {"/path/to/repo": "adapter-name", "repo-folder-name": ...,
    # "*": ...}; the innermost folder holding a document wins (``WorkspaceFolders.adapter_for``);
    # "" means the base model.
    # A bad entry is dropped alone (``_drop_invalid``): the others still apply.
    adapters: dict[AdapterKey, str] = Field(default_factory=dict)
    verify_tls: bool = True


class CompletionSettings(_Section):
    enabled: bool = True
    # Languages where completion is off, e.g. ["markdown", "plaintext"].
    disabled_languages: list[str] = Field(default_factory=list)
    multiline: Multiline = "auto"
    max_tokens: int = Field(default=128, ge=1, le=4096)
    single_line_max_tokens: int = Field(default=48, ge=1, le=4096)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    # Prompt budget in tokens (context + prefix + suffix).
    prompt_tokens: int = Field(default=1024, ge=64, le=32768)
    # Share of the cursor window given to the text after the cursor.
    suffix_share: float = Field(default=0.25, ge=0.0, le=0.9)
    complete_in_comments: bool = True
    complete_in_strings: bool = False
    # Documents larger than this get no completion (clear message, empty answer).
    max_file_bytes: int = Field(default=2_000_000, ge=0)
    # Wait until the pause is long for this user's typing speed (twice their median gap
    # between keys, at most maxDebounceMs) before asking the model; explicit triggers never wait.
    adaptive_debounce: bool = True
    max_debounce_ms: int = Field(default=350, ge=0, le=2000)
    # Keep a running generation while the user types what it says; the next request joins it.
    reuse_running: bool = True
    # Every completion ends by then, whatever the engine does, with its whole lines so far (if
    # usable). 10 s: the embedded 0.5B on 2 CPU cores prefills 1024 tokens in ~2.4 s and writes
    # ~12 tokens/s (a 48-token line in ~6.5 s quiet); with another job on the cores 5 s cut
    # ordinary one-line answers (HumanEval single-line EM 33.8 -> 30.0). A remote engine
    # answers well within it; a dripping or hung one is cut here.
    deadline_ms: int = Field(default=10_000, ge=100, le=120_000)
    # For completions the user asked for (explicit trigger): a whole multi-line answer from the
    # embedded model (prefill + 128 tokens at ~12 tokens/s) fits, with room for a busy machine.
    explicit_deadline_ms: int = Field(default=30_000, ge=100, le=300_000)


class ContextSettings(_Section):
    enabled: bool = True
    # Share of the prompt budget for cross-file context and similar snippets.
    budget_share: float = Field(default=0.4, ge=0.0, le=0.9)
    # How other files' code goes into the prompt: "files" (repository markers), "comments"
    # (line comments at the head of the prefix), or "auto" (what the model preset says).
    layout: ContextLayout = "auto"
    # Globs never read, indexed or sent to an engine (on top of .gitignore).
    exclude: list[str] = Field(default_factory=lambda: [
        "**/.env", "**/.env.*", "**/*.pem", "**/*.key", "**/id_rsa*", "**/secrets/**",
        "**/node_modules/**", "**/.git/**", "**/.venv/**",
    ])
    max_index_files: int = Field(default=20_000, ge=0)
    # The user's recent edits (unified diffs of this and other files) as a piece of ordinary
    # completion prompts; off until the quality bench says it helps.
    edit_history: bool = False


class NextEditSettings(_Section):
    """Next edit suggestions: the change the user will likely make next, near the last one."""

    enabled: bool = True
    # The pause after the last change before the model is asked (at least; the typing
    # rhythm may ask for more, as for completions); requests the user makes never wait.
    debounce_ms: int = Field(default=200, ge=0, le=5000)
    # Lines the model may rewrite around the cursor (a format trained on a fixed size, such
    # as Sweep's 21, keeps its own).
    window_lines: int = Field(default=20, ge=3, le=200)
    # The prompt format: "auto" (from model.id), or one of completion/next_edit/formats.json.
    format: str = "auto"
    # Every next edit (typed or asked for) ends by then, with the whole lines the model wrote
    # (the rest of the window as it is). Its own bound, not the completions': the model
    # rewrites the whole window (a 20-line one is ~150-300 tokens, a completion's line 48),
    # 2-12 s with the ONNX int8 0.5B on 2 cores at load ~3 (bench_next_edit_deadline.py; a
    # whole 20-line window 12 s), more on a busy machine; a request the user's typing
    # supersedes is cancelled anyway.
    deadline_ms: int = Field(default=30_000, ge=100, le=300_000)

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        return _auto_or_known(value, "format", next_edit_formats())


class FakeSettings(_Section):
    """The scripted backend, for tests and client development: no model, instant answers."""

    response: str = "return 42"
    chunk_delay_ms: int = Field(default=5, ge=0)
    load_delay_ms: int = Field(default=0, ge=0)
    # Append every prompt the fake engine receives to this file (JSON lines: {"prompt": ...,
    # "adapter": ...}), so that tests over the wire see exactly what an engine would; ""
    # records nothing.
    record_prompts: str = ""


class Settings(_Section):
    backend: Backend = "embedded"
    model: ModelSettings = Field(default_factory=ModelSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    completion: CompletionSettings = Field(default_factory=CompletionSettings)
    context: ContextSettings = Field(default_factory=ContextSettings)
    fake: FakeSettings = Field(default_factory=FakeSettings)
    next_edit: NextEditSettings = Field(default_factory=NextEditSettings)
    # Keep accept/dismiss events in a local file (they never leave the machine).
    record_events: bool = False
    log_level: LogLevel = "info"


def embedded_runtime(settings: Settings) -> tuple[Literal["torch", "onnx"], str]:
    """What runs the embedded model, and why: ``model.runtime`` when it names one; for "auto",
    ONNX Runtime (several times faster on a CPU) unless ``engine.adapters`` names a LoRA
    adapter, which only torch applies."""
    runtime = settings.model.runtime
    if runtime != "auto":
        return runtime, f"model.runtime is '{runtime}'"
    if any(settings.engine.adapters.values()):
        return "torch", "model.runtime 'auto' runs torch: engine.adapters names LoRA adapters"
    return "onnx", "model.runtime 'auto' runs onnx (no LoRA adapters configured)"


# ---- parsing -----------------------------------------------------------------------------
def parse_settings(raw: Any, base: Settings | None = None) -> tuple[Settings, list[str]]:
    """Settings from camelCase JSON over ``base`` (defaults if none), plus problems found.

    Accepts both ``{"backend": ...}`` and ``{"loomline": {"backend": ...}}``. Keys absent from
    ``raw`` keep their ``base`` value. Problems are sentences naming the key (``completion.
    maxTokens``); they quote numbers and choices but never free text, which may hold a URL
    with credentials or a key pasted by mistake.
    """
    base = base if base is not None else Settings()
    if raw is None:
        return base.model_copy(deep=True), []
    if isinstance(raw, dict) and isinstance(raw.get("loomline"), dict):
        raw = raw["loomline"]
    if not isinstance(raw, dict):
        return base.model_copy(deep=True), [f"settings must be an object, got {_kind(raw)}"]
    current = base.model_dump()
    merged = _overlay(Settings, current, raw)
    problems: list[str] = []
    # Each round drops the values pydantic refused; a dropped value falls back to ``current``,
    # which is valid, so the second round passes. The bound only guards against surprises.
    for _round in range(3):
        try:
            settings = Settings.model_validate(merged)
            break
        except ValidationError as error:
            problems += _drop_invalid(error, merged, current)
    else:  # pragma: no cover - unreachable while ``base`` is valid
        return base.model_copy(deep=True), problems
    settings, cross_field = _check_rules(settings, base)
    return settings, problems + cross_field


def _overlay(
    model: type[BaseModel], current: dict[str, Any], raw: dict[Any, Any]
) -> dict[str, Any]:
    """``current`` (keyed by field name) with ``raw`` (camelCase or field names) laid over it,
    section by section. Unknown keys stay under their own name for pydantic to refuse."""
    merged = dict(current)
    for key, value in raw.items():
        name = _field_name(model, key)
        if name is None:
            merged[str(key)] = value
            continue
        section = _section_model(model, name)
        if section is not None and isinstance(value, dict):
            merged[name] = _overlay(section, merged[name], value)
        else:
            merged[name] = value
    return merged


def _drop_invalid(
    error: ValidationError, merged: dict[str, Any], current: dict[str, Any]
) -> list[str]:
    """Put back the current value of every key pydantic refused (remove unknown keys); one
    problem per key, however many items of a list were wrong."""
    problems: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for detail in error.errors():
        path, known = _setting_path(detail["loc"])
        entry = _object_entry(detail["loc"], path) if known else None
        if (*path, *([entry] if entry is not None else [])) in seen:
            continue
        seen.add((*path, *([entry] if entry is not None else [])))
        key = _display_key(path)
        target, old = merged, current
        for part in path[:-1]:
            target, old = target[part], old[part]
        if entry is not None:
            # One bad entry of an object setting goes alone; the message never quotes the
            # key (it may be a private path) and the other entries still apply.
            entries = target[path[-1]] = dict(target[path[-1]])  # never the client's object
            entries.pop(entry, None)
            problems.append(f"setting '{key}': an entry was dropped: {_entry_reason(detail)}")
            continue
        if not known:
            target.pop(path[-1], None)
            problems.append(f"unknown setting '{key}' ignored")
            continue
        target[path[-1]] = old[path[-1]]
        problems.append(f"setting '{key}': {_reason(detail, path)}; kept {_kept(path, old)}")
    return problems


def _setting_path(loc: tuple[int | str, ...]) -> tuple[tuple[str, ...], bool]:
    """The field names from the top down to the setting an error is about (a list item's or
    a dict entry's error is about the whole list or dict), and whether that setting exists."""
    model: type[BaseModel] | None = Settings
    path: list[str] = []
    for part in loc:
        if model is None:
            break
        path.append(str(part))
        if str(part) not in model.model_fields:
            return tuple(path), False
        model = _section_model(model, str(part))
    return tuple(path), True


def _object_entry(loc: tuple[int | str, ...], path: tuple[str, ...]) -> str | None:
    """The key of the entry of an object setting (``engine.adapters``) an error is about,
    or None when the error is about the setting as a whole (or the setting is no object)."""
    if len(loc) <= len(path) or not isinstance(loc[len(path)], str):
        return None
    annotation = _field_info(path).annotation
    return str(loc[len(path)]) if getattr(annotation, "__origin__", None) is dict else None


def _entry_reason(detail: ErrorDetails) -> str:
    if detail["type"] == "value_error":
        return str(detail["ctx"]["error"])
    reason = detail["msg"][0].lower() + detail["msg"][1:]
    return f"its value: {reason.removeprefix('input ')}"


def _check_rules(settings: Settings, base: Settings) -> tuple[Settings, list[str]]:
    """Rules across fields; a broken rule keeps the current values of the fields it names."""
    if settings.backend == "vllm" and not settings.engine.urls:
        engine = settings.engine.model_copy(update={"urls": list(base.engine.urls)})
        kept = settings.model_copy(update={"backend": base.backend, "engine": engine})
        return kept, [f"backend 'vllm' needs engine.urls; kept backend '{base.backend}'"]
    return settings, []


# ---- naming and describing settings ------------------------------------------------------
def _section_model(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    annotation = model.model_fields[name].annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _field_name(model: type[BaseModel], key: object) -> str | None:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return name
    return None


def _display_key(path: tuple[str, ...]) -> str:
    """``("completion", "max_tokens")`` -> ``"completion.maxTokens"`` (unknown parts as given)."""
    model: type[BaseModel] | None = Settings
    parts: list[str] = []
    for name in path:
        info = model.model_fields.get(name) if model is not None else None
        if info is None:
            parts.append(name)
            model = None
        else:
            parts.append(info.alias or name)
            model = _section_model(model, name) if model is not None else None
    return ".".join(parts)


def _reason(detail: ErrorDetails, path: tuple[str, ...]) -> str:
    if detail["type"] == "value_error":
        return str(detail["ctx"]["error"])
    if detail["type"] == "model_type":
        return "must be an object"
    low, high = _bounds(path)
    if detail["type"] in {"greater_than_equal", "less_than_equal"} and None not in (low, high):
        reason = f"must be between {low} and {high}"
    else:
        reason = detail["msg"][0].lower() + detail["msg"][1:]
    if len(detail["loc"]) > len(path):
        return f"every entry {reason.removeprefix('input ')}"
    if _quotable(detail["input"]):
        reason += f" (got {detail['input']!r})"
    return reason


def _bounds(path: tuple[str, ...]) -> tuple[object, object]:
    info = _field_info(path)
    low = next((m.ge for m in info.metadata if hasattr(m, "ge")), None)
    high = next((m.le for m in info.metadata if hasattr(m, "le")), None)
    return low, high


def _field_info(path: tuple[str, ...]) -> FieldInfo:
    """The pydantic field of a known setting, e.g. ``("completion", "max_tokens")``."""
    model: type[BaseModel] | None = Settings
    info = None
    for name in path:
        assert model is not None
        info = model.model_fields[name]
        model = _section_model(model, name)
    assert info is not None
    return info


def _kept(path: tuple[str, ...], old: dict[str, Any]) -> str:
    value = old[path[-1]]
    choices = getattr(_field_info(path).annotation, "__args__", ())
    if _quotable(value) or (isinstance(value, str) and value in choices):
        return repr(value)
    return "the current value"


def _quotable(value: object) -> bool:
    return value is None or isinstance(value, bool | int | float)


def _kind(value: object) -> str:
    kinds = {list: "a list", dict: "an object", str: "text", bool: "a boolean"}
    return kinds.get(type(value), type(value).__name__)


# ---- the owner -----------------------------------------------------------------------------
class Applied(NamedTuple):
    """What ``SettingsStore.apply`` did: the top-level fields (``"backend"``, ``"model"``,
    ``"completion"``, ...) whose value changed, and the problems to show the user."""

    changed: frozenset[str]
    problems: list[str]


SettingsListener = Callable[[Settings, frozenset[str]], None]


class SettingsStore:
    """The session's settings, owned here and nowhere else.

    Everyone who needs a setting holds the store and reads ``current`` when it needs a value,
    so nothing goes stale; ``apply`` is the only way to change them. Listeners hear about each
    change (the new settings and the changed top-level fields).
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self._current = settings if settings is not None else Settings()
        self._listeners: list[SettingsListener] = []

    @classmethod
    def of(cls, settings: Settings | SettingsStore | None) -> SettingsStore:
        """The store itself, or a store of its own for fixed settings (tests, benches)."""
        return settings if isinstance(settings, SettingsStore) else cls(settings)

    @property
    def current(self) -> Settings:
        return self._current

    def apply(self, raw: Any) -> Applied:
        """Lay client JSON over the current settings (see ``parse_settings``)."""
        settings, problems = parse_settings(raw, self._current)
        old = self._current
        changed = frozenset(
            name for name in Settings.model_fields if getattr(old, name) != getattr(settings, name)
        )
        self._current = settings
        if changed:
            for listener in list(self._listeners):
                listener(settings, changed)
        return Applied(changed, problems)

    def subscribe(self, listener: SettingsListener) -> Callable[[], None]:
        """Call ``listener`` after each change; returns the function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)
