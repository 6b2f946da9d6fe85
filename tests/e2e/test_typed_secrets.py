"""The real server over stdio: credential literals in several languages' syntax, a password
returned as a literal, and tokens half typed at the cursor never reach the engine (a fake
engine records every prompt)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_lsp import LanguageClient

from tests.lsp_client import Session, inline, loomline_client, open_doc, show_context

PASSWORD = "hunter2-Xy9!qWz"
RETURNED = "plantedpw_Zq8#xV2!mK"
# Half typed at the end of each document, where the cursor is.
HALF_TYPED = ["AKIAZQ7PLAN", "ghp_Pl4nT3dT0k", "sk-proj-7Qx2Pla", "xoxb-2109876",
              "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAzPl4nt3dK3yB0"]
DOCUMENTS = {
    "app.ts": ("typescript", f'const password: string = "{PASSWORD}";\n'
                             f'function adminPassword(): string {{ return "{RETURNED}"; }}\n'
                             'const key = "'),
    "main.go": ("go", f'var passwd string = `{PASSWORD}`\n'
                      f'func adminPassword() string {{ return "{RETURNED}" }}\n'
                      'key := "'),
    "main.rs": ("rust", f'const API_KEY: &str = r#"{PASSWORD}"#;\n'
                        f'fn admin_password() -> &\'static str {{ "{RETURNED}" }}\n'
                        'let key = "'),
    "App.java": ("java", f'private static final String SECRET = "{PASSWORD}";\n'
                         f'String adminPassword() {{ return "{RETURNED}"; }}\n'
                         'String key = "'),
    "app.py": ("python", f'token = b"{PASSWORD}"\n'
                         f'def admin_password():\n    return "{RETURNED}"\n'
                         'KEY = """'),
}


@pytest.fixture
def record(tmp_path: Path) -> Path:
    return tmp_path / "prompts.jsonl"


@pytest.fixture
def typed_session(tmp_path: Path, record: Path) -> Session:
    options = {"backend": "fake", "fake": {"response": "x", "chunkDelayMs": 0,
                                           "recordPrompts": str(record)}}
    return Session(options=options, root_uri=tmp_path.as_uri())


client = loomline_client("typed_session")


def _leaked(text: str) -> list[str]:
    pieces = [PASSWORD, RETURNED] + [s.split("\n")[-1][-8:] for s in HALF_TYPED]
    return [piece for piece in pieces if piece in text]


async def test_secrets_typed_in_any_language_never_reach_a_prompt(
    client: LanguageClient, tmp_path: Path, record: Path
) -> None:
    asked = 0
    for name, (language, head) in DOCUMENTS.items():
        for typed in HALF_TYPED:
            text = head + typed
            uri = (tmp_path / f"{len(typed)}-{name}").as_uri()
            open_doc(client, uri, text, language)
            lines = text.split("\n")
            line, character = len(lines) - 1, len(lines[-1])
            shown = await show_context(client, uri, line, character)
            assert not _leaked(shown["prompt"]), (name, typed, shown["prompt"][-200:])
            await inline(client, uri, line, character)
            asked += 1
    prompts = [json.loads(line)["prompt"] for line in record.read_text().splitlines()]
    assert len(prompts) >= asked // 2 > 0
    assert [p for p in prompts if _leaked(p)] == []
    assert all("<redacted>" in p for p in prompts)
