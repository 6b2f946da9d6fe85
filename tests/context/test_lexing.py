"""The lexer's look-ahead on the characters a token can start with changes no token: for
every language, it finds what the plain alternation of its patterns finds."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loomline.context import lexing
from loomline.context.languages import FAMILIES

# Every character a pattern of any language starts with, ends with or escapes, and some code.
ALPHABET = "()[]{}#/*\"'`rRbBuUfF\\#x1 \n\t=+,;:<>|-é😀"
LANGUAGES = [*sorted(set(FAMILIES.values())), None]


def _plain_tokens(text: str, family: str | None) -> list[tuple[int, str]]:
    parts = lexing._PATTERNS.get(family or "", lexing._GENERIC)
    strings = "|".join(f"(?:{p})" for p in parts)
    plain = re.compile(rf"(?P<bracket>[()\[\]{{}}])|(?P<other>{strings})")
    return [(match.start(), match.group()) for match in plain.finditer(text)]


@pytest.mark.parametrize("family", LANGUAGES)
@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=ALPHABET, max_size=60))
def test_the_look_ahead_finds_every_token(family: str | None, text: str) -> None:
    found = [(token.start, token.text) for token in lexing.tokens(text, family)]
    assert found == _plain_tokens(text, family)


@pytest.mark.parametrize(
    ("family", "text"),
    [
        ("python", 'x = rb"a(" + f\'{y}\' # c)'),
        ("python", 'BR"""a\n(""" + u"x"'),
        ("python", "y = r'''a(''' + f\"\"\"(\"\"\""),
        ("rust", 'let s = r#"a(b"#; // c('),
        ("cpp", 'auto s = R"x(a)")x"; /* ( */'),
        ("javascript", "const t = `a${b}(` // ("),
        ("go", "s := `a(` + 'b' // ("),
        (None, "a = 'b(' # c("),
    ],
)
def test_prefixed_and_raw_strings_still_hide_their_brackets(family: str, text: str) -> None:
    found = [(token.start, token.text) for token in lexing.tokens(text, family)]
    assert found == _plain_tokens(text, family)
    assert not [t for t in lexing.tokens(text, family) if t.kind == "bracket" and t.start > 8]
