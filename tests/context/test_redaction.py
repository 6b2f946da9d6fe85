"""Secrets out of prompt text: golden cases for each kind, the cursor's line, the key blocks."""

from __future__ import annotations

import pytest

from loomline.context.redaction import PLACEHOLDER, SecretRedactor, redact_around, redact_text

AWS_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GITHUB = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"
SLACK = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
STRIPE = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwi"
    "aWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
KEY_BODY = [
    "MIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB",
    "aNZ5kVx3LrJ3qZ1WgTBSV8V+SqyAKk1TJqHPnYfXwvC5Ot4GxQH7mQrK+IzP2rN/",
    "q8Rz1Xw2Yv3Uu4Tt5Ss6Rr7Qq8Pp9Oo0Nn1Mm2Ll3Kk4Jj5Ii6Hh7Gg8Ff9Ee0Dd",
]
PRIVATE_KEY = "\n".join(
    ["-----BEGIN RSA PRIVATE KEY-----", *KEY_BODY, "-----END RSA PRIVATE KEY-----"]
)


@pytest.mark.parametrize(
    ("line", "redacted"),
    [
        (f'AWS_ACCESS_KEY_ID = "{AWS_ID}"', f'AWS_ACCESS_KEY_ID = "{PLACEHOLDER}"'),
        (f'AWS_SECRET_ACCESS_KEY = "{AWS_SECRET}"', f'AWS_SECRET_ACCESS_KEY = "{PLACEHOLDER}"'),
        ('password = "Xk9#mP2$vL7qR4"', f'password = "{PLACEHOLDER}"'),
        ('api_key = "9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c"', f'api_key = "{PLACEHOLDER}"'),
        (f"GITHUB_TOKEN = '{GITHUB}'", f"GITHUB_TOKEN = '{PLACEHOLDER}'"),
        (f'slack = "{SLACK}"  # bot', f'slack = "{PLACEHOLDER}"  # bot'),
        (f"stripe.api_key = '{STRIPE}'", f"stripe.api_key = '{PLACEHOLDER}'"),
        (f'headers = {{"jwt": "{JWT}"}}', f'headers = {{"jwt": "{PLACEHOLDER}"}}'),  # all parts
        (f"export AWS_ACCESS_KEY_ID={AWS_ID}", f"export AWS_ACCESS_KEY_ID={PLACEHOLDER}"),
        ('url = "https://user:Pa55w0rdX@db.example.com/x"', None),  # checked below
    ],
)
def test_each_kind_of_secret(line: str, redacted: str | None) -> None:
    out = redact_text(line, "settings.py")
    if redacted is not None:
        assert out == redacted
    assert "Pa55w0rdX" not in out


@pytest.mark.parametrize(
    "line",
    [
        "def add(a, b):",
        '    return "hello world"',
        'url = "https://example.com/api/v1/items"',
        "this_is_a_long_identifier_name_for_sure_yes_indeed = 1",
        "VERSION = '1.2.3'",
        'name = "some_function_name_here"',
        "password = get_password()",
        "    abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
        "",
    ],
)
def test_ordinary_code_is_left_alone(line: str) -> None:
    assert redact_text(line, "app.py") == line


def test_a_private_key_block_goes_whole() -> None:
    text = f'x = 1\nKEY = """{PRIVATE_KEY}"""\ny = 2\n'
    assert redact_text(text, "keys.py") == f'x = 1\nKEY = """{PLACEHOLDER}"""\ny = 2\n'


def test_a_key_block_on_one_line() -> None:
    text = 'KEY = "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----"  # pem'
    assert redact_text(text, "keys.py") == f'KEY = "{PLACEHOLDER}"  # pem'


@pytest.mark.parametrize("start", range(1, 4))
def test_a_window_cut_out_of_a_key_holds_none_of_it(start: int) -> None:
    lines = PRIVATE_KEY.split("\n")
    window = "\n".join(["a = 1", *lines[:start]])  # ends inside the block
    assert not any(part in redact_text(window) for part in KEY_BODY)
    window = "\n".join([*lines[start:], "b = 2"])  # starts inside it
    out = redact_text(window)
    assert not any(part in out for part in KEY_BODY) and out.endswith("b = 2")
    window = "\n".join(lines[1:3])  # only body lines
    assert redact_text(window) == f"{PLACEHOLDER}\n{PLACEHOLDER}"


SOURCE = f'''import os

AWS_ACCESS_KEY_ID = "{AWS_ID}"
AWS_SECRET_ACCESS_KEY = "{AWS_SECRET}"
KEY = """{PRIVATE_KEY}"""
TOKEN = "{GITHUB}"  # ci


def connect():
    return os.environ["DB"]
'''
PLANTED = [AWS_ID, AWS_SECRET, GITHUB, *KEY_BODY]


@pytest.mark.parametrize("offset", range(0, len(SOURCE), 7))
def test_no_secret_on_either_side_of_any_cursor(offset: int) -> None:
    before, after = redact_around(SOURCE[:offset], SOURCE[offset:], "secrets.py")
    for secret in PLANTED:
        # Not whole, and not in pieces a model could put together across the cursor.
        assert secret not in before + after
        assert secret[:12] not in before and secret[-12:] not in after


def test_a_cursor_inside_a_token_redacts_both_sides() -> None:
    text = f'TOKEN = "{GITHUB}"\nx = 1'
    cut = text.index(GITHUB) + 10
    assert redact_around(text[:cut], text[cut:], "a.py") == (
        f'TOKEN = "{PLACEHOLDER}', '"\nx = 1'
    )


def test_the_cursor_just_before_a_secret_keeps_the_placeholder_after_it() -> None:
    text = f'TOKEN = "{GITHUB}"'
    cut = text.index(GITHUB)
    assert redact_around(text[:cut], text[cut:], "a.py") == ('TOKEN = "', f'{PLACEHOLDER}"')


def test_text_without_secrets_comes_back_unchanged() -> None:
    text = "def f(x):\n    return x * 2\n"
    for cut in range(len(text) + 1):
        assert redact_around(text[:cut], text[cut:], "a.py") == (text[:cut], text[cut:])


def test_lines_are_judged_once() -> None:
    redactor = SecretRedactor(max_cached_lines=4)
    calls: list[str] = []
    detector = redactor._detector_for()
    real = detector.secrets

    def counting(line: str, filename: str):  # type: ignore[no-untyped-def]
        calls.append(line)
        return real(line, filename)

    detector.secrets = counting  # type: ignore[method-assign]
    redactor.text("first line of code\nsecond line of code", "a.py")
    redactor.text("first line of code\nsecond line of code!", "a.py")
    assert calls == ["first line of code", "second line of code", "second line of code!"]


def test_only_whole_lines_near_the_cursor_are_kept() -> None:
    before = "a = 1\nbb = 2\nccc = 3\n"
    after = "d = 4\nee = 5\nfff = 6\n"
    assert redact_around(before, after, "a.py", keep_chars=10) == ("ccc = 3\n", "d = 4\n")
    assert redact_around(before, after, "a.py", keep_chars=100) == (before, after)
    one_line = "x" * 50
    assert redact_around(one_line, one_line, "a.py", keep_chars=10) == (one_line, one_line)


def test_a_window_that_starts_inside_a_key_keeps_none_of_it() -> None:
    before = f"x = 1\n{PRIVATE_KEY}\ny = 2\n"
    cut = len(before) - before.index(KEY_BODY[1])  # the window starts in the key's body
    kept, _ = redact_around(before, "", "k.py", keep_chars=cut)
    assert not any(part in kept for part in KEY_BODY) and kept.endswith("y = 2\n")


@pytest.mark.parametrize(
    ("filename", "line", "redacted"),
    [
        ("deploy.sh", f"export AWS_SECRET_ACCESS_KEY={AWS_SECRET}",
         f"export AWS_SECRET_ACCESS_KEY={PLACEHOLDER}"),
        ("credentials", f"aws_secret_access_key = {AWS_SECRET}",
         f"aws_secret_access_key = {PLACEHOLDER}"),
        ("app.env", "DB_PASSWORD=hunter2secret", f"DB_PASSWORD={PLACEHOLDER}"),
        (".env", "SECRET_KEY=django-insecure-abc123xyz", f"SECRET_KEY={PLACEHOLDER}"),
        ("main.go", 'token := "Zk9QbGFudGVkU2lnbmF0dXJl"', f'token := "{PLACEHOLDER}"'),
        # Names, numbers and templates are no secrets.
        ("a.py", "max_tokens = 128000", None),
        ("a.py", 'tokenizer_path = "models/qwen2.5"', None),
        ("a.py", 'PASSWORD = os.getenv("PW")', None),
        ("a.py", "api_key = settings.OPENAI_API_KEY", None),
        ("a.sh", "TOKEN=${GITHUB_TOKEN}", None),
        ("a.py", "password = None", None),
        ("a.py", "self.token = token", None),
    ],
)
def test_unquoted_credential_assignments(filename: str, line: str, redacted: str | None) -> None:
    assert redact_text(line, filename) == (line if redacted is None else redacted)


@pytest.mark.parametrize(
    "line",
    [
        '    "api_key = \\"c2f7e1a94b3d8e6f0a1b2c3d4e5f6a7b\\"\\n",',  # a notebook's JSON
        f'    "AWS_SECRET_ACCESS_KEY = \\"{AWS_SECRET}\\"\\n",',
        '    "password = \\"Xk9mP2vL7qR4zz\\"\\n",',
    ],
)
def test_code_inside_a_string_literal(line: str) -> None:
    out = redact_text(line, "analysis.ipynb")
    assert PLACEHOLDER in out
    assert not any(s in out for s in ("c2f7e1a9", AWS_SECRET[:12], "Xk9mP2vL"))


def test_preload_loads_the_detector_in_the_background() -> None:
    import threading

    from loomline.context import redaction

    redaction.preload()
    for thread in threading.enumerate():
        if thread.name == "loomline-secrets":
            thread.join(timeout=30)
    assert redaction._REDACTOR._detector is not None
