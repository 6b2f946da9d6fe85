"""The settings other places describe are the server's: the VS Code extension's schema
(``contributes.configuration`` in its package.json) and the README's table."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from loomline.completion.settings import Settings
from tests.conftest import REPO

# Keys only the VS Code client reads; it never sends them to the server.
CLIENT_ONLY = {
    "server.command": "how the extension starts the server",
    "server.pythonPath": "how the extension starts the server",
    "server.env": "the server process's environment",
    "completion.debounceMs": "the extension's own wait before it asks",
    "trace.server": "VS Code's LSP message log",
}
# Server keys the extension does not offer (other editors set them in initializationOptions).
SERVER_ONLY = {
    "model.cacheDir", "model.threads", "model.runtime", "model.onnxPrecision",
    "engine.connectTimeoutMs", "engine.readTimeoutMs", "engine.candidates", "engine.adapters",
    "engine.verifyTls",
    "completion.singleLineMaxTokens", "completion.suffixShare", "completion.completeInComments",
    "completion.completeInStrings", "completion.maxFileBytes", "completion.adaptiveDebounce",
    "completion.maxDebounceMs", "completion.reuseRunning",
    "context.maxIndexFiles", "context.editHistory",
    # Next edits: the extension's next-edit front end will offer these.
    "nextEdit.enabled", "nextEdit.debounceMs", "nextEdit.windowLines", "nextEdit.format",
    "fake.response", "fake.chunkDelayMs", "fake.loadDelayMs", "fake.recordPrompts",
    "logLevel",
}
# JSON-schema facts that must agree where both sides state them.
FACETS = ("type", "enum", "minimum", "maximum", "items", "additionalProperties")


def server_schema() -> dict[str, dict[str, Any]]:
    """``{"completion.maxTokens": {"type": "integer", "default": 128, ...}, ...}``: the JSON
    schema pydantic gives each setting, with the default of a fresh ``Settings()``."""
    schema = Settings.model_json_schema(by_alias=True)
    defaults = Settings().model_dump(by_alias=True)
    flat: dict[str, dict[str, Any]] = {}
    for key, prop in schema["properties"].items():
        if "$ref" not in prop:
            flat[key] = {**prop, "default": defaults[key]}
            continue
        section = schema["$defs"][prop["$ref"].rsplit("/", 1)[-1]]
        for name, field in section["properties"].items():
            flat[f"{key}.{name}"] = {**field, "default": defaults[key][name]}
    for prop in flat.values():
        # An optional text: the extension writes "" for "not set" and leaves the key out.
        if {"type": "null"} in prop.get("anyOf", ()):
            (prop["type"],) = (t["type"] for t in prop.pop("anyOf") if t["type"] != "null")
            prop["default"] = "" if prop["default"] is None else prop["default"]
    return flat


def extension_schema() -> dict[str, dict[str, Any]]:
    package = json.loads((REPO / "editor-extension" / "package.json").read_text("utf-8"))
    properties = package["contributes"]["configuration"]["properties"]
    return {key.removeprefix("loomline."): prop for key, prop in properties.items()}


def test_every_extension_setting_is_a_server_setting_or_a_client_one():
    server, extension = server_schema(), extension_schema()
    assert set(CLIENT_ONLY) <= set(extension), "a client-only key left the extension"
    assert set(extension) - set(CLIENT_ONLY) - set(server) == set()


def test_every_server_setting_is_in_the_extension_or_listed_as_server_only():
    server, extension = server_schema(), extension_schema()
    assert SERVER_ONLY.issubset(server)
    assert SERVER_ONLY.isdisjoint(extension), "offered by the extension now: unlist it"
    assert set(server) - set(extension) - SERVER_ONLY == set()


@pytest.mark.parametrize("key", sorted(set(extension_schema()) - set(CLIENT_ONLY)))
def test_the_extension_states_the_servers_default_type_and_range(key: str):
    server, offered = server_schema()[key], extension_schema()[key]
    assert offered["default"] == server["default"]
    assert type(offered["default"]) is type(server["default"]) or offered["type"] == "number"
    for facet in FACETS:
        if facet in offered or facet in server:
            assert offered.get(facet) == server.get(facet), facet


def test_schema_flattening_sees_ranges_choices_and_optional_text():
    server = server_schema()
    assert server["completion.maxTokens"] == {
        "default": 128, "maximum": 4096, "minimum": 1, "title": "Maxtokens", "type": "integer"
    }
    assert server["backend"]["enum"] == ["embedded", "vllm", "fake"]
    assert server["model.path"]["type"] == "string" and server["model.path"]["default"] == ""
    assert server["context.exclude"]["default"] == Settings().context.exclude


def readme_keys() -> list[str]:
    """The keys in the README's configuration table (``a.b` / `c`` names a.b and a.c)."""
    readme = (REPO / "README.md").read_text("utf-8")
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    keys = []
    for line in table.splitlines():
        if not line.startswith("| `"):
            continue
        names = re.findall(r"`([\w.]+)`", line.split("|")[1])
        section = names[0].rpartition(".")[0]
        keys += [names[0], *(f"{section}.{n}" if section else n for n in names[1:])]
    return keys


def test_the_readme_table_names_server_settings():
    keys = readme_keys()
    assert "completion.readTimeoutMs" not in keys and "engine.readTimeoutMs" in keys
    assert len(keys) > 25 and set(keys) <= set(server_schema())
