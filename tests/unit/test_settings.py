from __future__ import annotations

from loomline.completion.settings import Settings, parse_settings, validate


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
    settings, _ = parse_settings({"completion": {"maxTokens": 0}, "backend": "vllm"})
    problems = validate(settings)
    assert any("maxTokens" in p for p in problems)
    assert any("engine.urls" in p for p in problems)
