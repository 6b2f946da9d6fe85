"""Long lines are judged in pieces (so typing over an enormous line rescans only the pieces
it changed): the pieces find every secret the whole line gives, for every kind of token, at
any place, and a line that holds a word some detector reads across whitespace (a keyword, an
assignment) is judged whole."""

from __future__ import annotations

import pytest
from detect_secrets.plugins.keyword import DENYLIST
from hypothesis import given, settings
from hypothesis import strategies as st

from loomline.context.redaction import (
    LONG_LINE_CHARS,
    PLACEHOLDER,
    SecretRedactor,
    _pieces,
    _reads_across_whitespace,
    _spans,
    redact_around,
)
from loomline.context.secret_shapes import _CREDENTIAL_NAME
from tests.context.test_redaction import AWS_ID, GITHUB, JWT, SLACK, STRIPE

# Tokens whose detectors read no whitespace, as values in a long line of code.
TOKENS = [
    f'"{AWS_ID}"', f"'{GITHUB}'", JWT, SLACK, f'"{STRIPE}"',
    '"9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a"',  # hex, high entropy, quoted
    "'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3A='",  # base64, quoted
    "https://hooks.slack.com/services/T0123ABCD/B0123ABCD/abcdefghijklmnopqrstuvwx",
    "postgres://admin:Hunter2Xyz@db.example.com:5432/app",
    "AKCp5bdkf8GXMLd8KwhKhb7uDY1KJyk2qdFJ3YZxBRS6hVzXd2hZFCwfLYrmb9SYWc8Ptrtr1",
    '"Xk9#mP2$vL7qR4"',  # password-shaped: its quotes must pair as on the whole line
    "AKIAIOSFOD",  # half typed
]
FILLER = st.sampled_from(["0, ", "x + 1, ", "value", " ", "  ", "\t", "f(a, b), ", "[1, 2], ",
                          '"a string with spaces in it", ', "'it''s', ", '"', "`x y`, "])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(FILLER, st.sampled_from(TOKENS)), min_size=200, max_size=600))
def test_the_pieces_find_what_the_whole_line_gives(parts: list[str]) -> None:
    line = "data = [" + "".join(parts) + "]"
    if len(line) <= LONG_LINE_CHARS:
        return
    assert "".join(_pieces(line)) == line
    redactor = SecretRedactor()
    whole = _spans(line, redactor._secrets_of(line, "x.py"))  # the line judged at once
    pieces = _spans(line, redactor._secrets(line, "x.py"))
    # (A value the whole line gives may take in the blank before it: `\sAKC…`; the blank is
    # no secret.)
    assert all(any(a <= s and e <= b for a, b in pieces)
               for s, e in map(lambda span: _without_blanks(line, span), whole)), (whole, pieces)


def _without_blanks(line: str, span: tuple[int, int]) -> tuple[int, int]:
    start, end = span
    while start < end and line[start].isspace():
        start += 1
    while end > start and line[end - 1].isspace():
        end -= 1
    return start, end


@pytest.mark.parametrize("cursor", [10, 2_000, 4_097, 9_000])
def test_typing_over_a_long_line_leaks_nothing(cursor: int) -> None:
    """The window around a cursor moving through an enormous line (the prompt's), a secret
    in it: redacted on every keystroke, at any place of the window."""
    line = "".join(f"{n}, " for n in range(3_000))
    line = line[:5_000] + f'"{GITHUB}", ' + line[5_000:]
    for typed in range(6):
        text = line[:cursor] + "a" * typed + line[cursor:]
        at = cursor + typed
        before, after = redact_around(text[max(0, at - 4_400) : at], text[at : at + 600],
                                      "x.py")
        assert GITHUB not in before + after
        if at - 4_400 < 5_000 < at + 600:
            assert PLACEHOLDER in before + after


def test_a_long_line_with_a_keyword_is_judged_whole() -> None:
    """``password = "…"`` reads across whitespace: a long line holding it is not cut."""
    line = "".join(f"{n}, " for n in range(600)) + 'password = "Xk9#mP2$vL7qR4", 1'
    assert len(line) > LONG_LINE_CHARS
    assert "Xk9#mP2$vL7qR4" not in SecretRedactor().text(line, "x.py")


def test_a_password_literal_after_a_string_cut_in_pieces() -> None:
    """A piece may end inside a string that holds spaces; quotes pair from the line's start,
    so the password-shaped literal after it is still found (read on the whole line)."""
    unit = 's="some text here with spaces", call(first, y), "Xk9#mP2$vL7qR4", '
    line = "values = [" + "1, " * 60 + unit + "1, " * 400 + "]"
    starts = [len("".join(_pieces(line)[:n])) for n in range(len(_pieces(line)))]
    string = line.index('"some')
    assert any(string < start < string + 28 for start in starts)  # cut inside the string
    assert "Xk9#mP2$vL7qR4" not in SecretRedactor().text(line, "x.py")


NAMES_READ_ACROSS_WHITESPACE = [
    pytest.param(_CREDENTIAL_NAME, id="secret_shapes credential names"),
    *(pytest.param(f"(?i){word}", id=f"detect-secrets keyword {word}") for word in DENYLIST),
]


@pytest.mark.parametrize("pattern", NAMES_READ_ACROSS_WHITESPACE)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_every_name_a_detector_reads_across_whitespace_keeps_a_line_whole(
    pattern: str, data: st.DataObject
) -> None:
    """The long-line gate's words are the redactor's own list; a credential name added to
    ``secret_shapes`` (or a keyword detect-secrets adds) that none of them covers would let
    the line be cut, its assignment missed."""
    name = data.draw(st.from_regex(pattern, fullmatch=True))
    assert _reads_across_whitespace(name), name
