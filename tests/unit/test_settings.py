from __future__ import annotations

from typing import Any

import pytest

from loomline.completion.settings import (
    Settings,
    SettingsStore,
    parse_settings,
)
from loomline.completion.templates import templates


def test_camel_case_nested_settings():
    settings, problems = parse_settings(
        {"backend": "fake", "completion": {"maxTokens": 64, "disabledLanguages": ["markdown"]}}
    )
    assert problems == []
    assert settings.backend == "fake"
    assert settings.completion.max_tokens == 64
    assert settings.completion.disabled_languages == ["markdown"]


def test_wrapped_in_loomline_key_and_merged_over_base():
    base, _ = parse_settings({"completion": {"maxTokens": 10}})
    settings, _ = parse_settings({"loomline": {"completion": {"temperature": 0.2}}}, base)
    assert settings.completion.max_tokens == 10
    assert settings.completion.temperature == 0.2


def test_invalid_values_keep_defaults_and_are_reported():
    settings, problems = parse_settings(
        {"backend": "gpt9", "completion": {"maxTokens": "many", "temperature": True}, "x": 1}
    )
    defaults = Settings()
    assert settings.backend == defaults.backend
    assert settings.completion.max_tokens == defaults.completion.max_tokens
    assert settings.completion.temperature == defaults.completion.temperature
    assert len(problems) == 4
    assert any("unknown setting 'x'" in p for p in problems)


def test_context_layout_is_one_of_its_names():
    settings, problems = parse_settings({"context": {"layout": "comments"}})
    assert settings.context.layout == "comments" and problems == []
    settings, problems = parse_settings({"context": {"layout": "sideways"}})
    assert settings.context.layout == "auto" and len(problems) == 1


def test_not_an_object():
    settings, problems = parse_settings([1, 2])
    assert settings == Settings() and problems


def test_range_validation():
    # Range and cross-field checks are part of parsing now (there was a separate validate()).
    settings, problems = parse_settings({"completion": {"maxTokens": 0}, "backend": "vllm"})
    assert any("maxTokens" in p for p in problems)
    assert any("engine.urls" in p for p in problems)
    assert settings.completion.max_tokens == 128 and settings.backend == "embedded"


# ---- one bad value costs that value only --------------------------------------------------
def test_one_out_of_range_number_keeps_the_rest():
    # This used to discard the whole object, so the session started the embedded model.
    settings, problems = parse_settings({"backend": "fake", "completion": {"maxTokens": 0}})
    assert settings.backend == "fake"
    assert settings.completion.max_tokens == 128
    assert problems == ["setting 'completion.maxTokens': must be between 1 and 4096 (got 0); "
                        "kept 128"]


def test_a_bad_value_keeps_the_current_value_not_the_default():
    base, _ = parse_settings({"completion": {"maxTokens": 10, "multiline": "never"}})
    settings, problems = parse_settings(
        {"completion": {"maxTokens": 5000, "multiline": "sometimes", "temperature": 0.5}}, base
    )
    assert settings.completion.max_tokens == 10
    assert settings.completion.multiline == "never"
    assert settings.completion.temperature == 0.5
    assert problems == [  # in the order the fields are declared
        "setting 'completion.multiline': input should be 'auto', 'always' or 'never'; "
        "kept 'never'",
        "setting 'completion.maxTokens': must be between 1 and 4096 (got 5000); kept 10",
    ]


def test_each_invalid_value_is_reported_once():
    settings, problems = parse_settings(
        {"completion": {"disabledLanguages": ["go", 1, None]}, "engine": {"adapters": {"a": 1}}}
    )
    assert settings.completion.disabled_languages == []
    assert settings.engine.adapters == {}
    assert problems == [
        "setting 'engine.adapters': an entry was dropped: its value: should be a valid string",
        "setting 'completion.disabledLanguages': every entry should be a valid string; "
        "kept the current value",
    ]


def test_a_section_that_is_not_an_object_keeps_the_section():
    base, _ = parse_settings({"completion": {"maxTokens": 10}})
    settings, problems = parse_settings({"completion": 5, "backend": "fake"}, base)
    assert settings.completion == base.completion and settings.backend == "fake"
    assert problems == ["setting 'completion': must be an object; kept the current value"]


def test_unknown_keys_are_reported_and_the_rest_applies():
    settings, problems = parse_settings(
        {"completion": {"maxTokenz": 5, "maxTokens": 5}, "colour": "red"}
    )
    assert settings.completion.max_tokens == 5
    assert sorted(problems) == [
        "unknown setting 'colour' ignored",
        "unknown setting 'completion.maxTokenz' ignored",
    ]


def test_field_names_are_accepted_too():
    settings, problems = parse_settings({"completion": {"max_tokens": 7}, "record_events": True})
    assert problems == [] and settings.completion.max_tokens == 7 and settings.record_events


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("completion", "maxTokens", "64"),  # no coercion from text
        ("completion", "enabled", 1),  # nor from numbers to booleans
        ("completion", "temperature", True),
        ("completion", "temperature", "0.2"),
        ("context", "exclude", "**/.env"),
        ("engine", "urls", "http://127.0.0.1:8000/v1"),
        ("model", "path", 3),
    ],
)
def test_types_are_strict(section: str, key: str, value: Any):
    settings, problems = parse_settings({section: {key: value}})
    assert settings == Settings()
    assert len(problems) == 1 and f"'{section}.{key}'" in problems[0]


def test_whole_numbers_are_numbers():
    settings, problems = parse_settings({"completion": {"temperature": 1, "suffixShare": 0}})
    assert problems == []
    assert settings.completion.temperature == 1.0
    assert isinstance(settings.completion.temperature, float)


# key, lowest accepted, highest accepted (None: unbounded above)
RANGES = [
    ("model.threads", 0, None),
    ("engine.connectTimeoutMs", 1, None),
    ("engine.readTimeoutMs", 1, None),
    ("engine.candidates", 1, None),
    ("completion.maxTokens", 1, 4096),
    ("completion.singleLineMaxTokens", 1, 4096),
    ("completion.temperature", 0.0, 2.0),
    ("completion.promptTokens", 64, 32768),
    ("completion.suffixShare", 0.0, 0.9),
    ("completion.maxFileBytes", 0, None),
    ("completion.maxDebounceMs", 0, 2000),
    ("context.budgetShare", 0.0, 0.9),
    ("context.maxIndexFiles", 0, None),
    ("fake.chunkDelayMs", 0, None),
    ("fake.loadDelayMs", 0, None),
]


@pytest.mark.parametrize(("key", "low", "high"), RANGES)
def test_ranges_are_declared_on_the_fields(key: str, low: float, high: float | None):
    section, name = key.split(".")
    step = 1 if isinstance(low, int) else 0.05
    edges = [low] if high is None else [low, high]
    for value in edges:
        _, problems = parse_settings({section: {name: value}})
        assert problems == [], (key, value)
    outside = [low - step] if high is None else [low - step, high + step]
    for value in outside:
        settings, problems = parse_settings({section: {name: value}})
        assert settings == Settings()
        assert len(problems) == 1 and f"'{key}'" in problems[0], (key, value, problems)


def test_template_is_checked_when_the_settings_arrive():
    # An unknown template used to leave the engine "starting" forever.
    settings, problems = parse_settings({"model": {"template": "nope"}, "backend": "fake"})
    assert settings.model.template == "auto" and settings.backend == "fake"
    assert len(problems) == 1
    assert "model.template" in problems[0] and "qwen" in problems[0]


@pytest.mark.parametrize("name", ["auto", *sorted(templates())])
def test_every_known_template_is_accepted(name: str):
    settings, problems = parse_settings({"model": {"template": name}})
    assert problems == [] and settings.model.template == name


def test_vllm_needs_urls():
    settings, problems = parse_settings({"backend": "vllm"})
    assert settings.backend == "embedded"
    assert problems == ["backend 'vllm' needs engine.urls; kept backend 'embedded'"]
    urls = ["http://127.0.0.1:8000/v1"]
    settings, problems = parse_settings({"backend": "vllm", "engine": {"urls": urls}})
    assert problems == [] and settings.backend == "vllm" and settings.engine.urls == urls
    # Emptying the list of a working vLLM setup keeps the list.
    again, problems = parse_settings({"engine": {"urls": []}}, settings)
    assert again.backend == "vllm" and again.engine.urls == urls and len(problems) == 1


SECRET = "sk-live-0123456789abcdef"


@pytest.mark.parametrize(
    "raw",
    [
        {"backend": SECRET},
        {"engine": {"urls": f"https://me:{SECRET}@engine.example/v1"}},
        {"engine": {"apiKey": SECRET}},
        {"engine": {"apiKeyEnv": [SECRET]}},
        {"model": {"template": SECRET}},
        {"loomline": SECRET},
    ],
)
def test_problems_never_quote_free_text(raw: dict[str, Any]):
    _, problems = parse_settings(raw)
    assert len(problems) == 1
    assert SECRET not in problems[0]


def test_defaults_round_trip_through_camel_case_json():
    settings, problems = parse_settings(Settings().model_dump(by_alias=True))
    assert problems == [] and settings == Settings()


# ---- the one owner ------------------------------------------------------------------------
def test_store_applies_over_its_current_settings_and_says_what_changed():
    store = SettingsStore()
    heard: list[tuple[Settings, frozenset[str]]] = []
    unsubscribe = store.subscribe(lambda settings, changed: heard.append((settings, changed)))
    changed, problems = store.apply({"backend": "fake", "completion": {"maxTokens": 0}})
    assert changed == {"backend"} and len(problems) == 1
    assert store.current.backend == "fake"
    changed, problems = store.apply({"completion": {"maxTokens": 64}})
    assert changed == {"completion"} and problems == []
    assert store.current.backend == "fake" and store.current.completion.max_tokens == 64
    assert [c for _, c in heard] == [{"backend"}, {"completion"}]
    assert heard[-1][0] is store.current
    assert store.apply({"completion": {"maxTokens": 64}}).changed == frozenset()
    assert len(heard) == 2  # no change, no call
    unsubscribe()
    store.apply({"logLevel": "debug"})
    assert len(heard) == 2 and store.current.log_level == "debug"


def test_store_of_settings_or_store():
    store = SettingsStore()
    assert SettingsStore.of(store) is store
    fixed = Settings(backend="fake")
    assert SettingsStore.of(fixed).current is fixed
    assert SettingsStore.of(None).current == Settings()
