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


@pytest.mark.parametrize(
    ("language_id", "text", "still_open"),
    [
        # A private field is code: its brackets count.
        ("javascript", "this.#items.map((x", ["(", "("]),
        ("typescript", "return this.#n + h(", ["("]),
        # `#!` is a comment only as the first line (a script's shebang).
        ("javascript", "#!/usr/bin/env -S node --title='x(\nmain(", ["("]),
        ("typescript", "#!/usr/bin/env -S npx tsx {\nrun([", ["(", "["]),
        ("java", "#!/usr/bin/java --source 21 (\nclass A {", ["{"]),
        ("rust", "#!/usr/bin/env -S cargo +nightly -Zscript (\nfn main() {", ["{"]),
        # An inner attribute is code, and so is any `#` past the start.
        ("rust", "#![allow(dead_code)]\nfn f(", ["("]),
        ("rust", "#[derive(Debug)]\nstruct S<'a> {", ["{"]),
        # A lifetime opens no char literal.
        ("rust", "fn f<'a>(x: &'a str) -> Holder<'a> { g(", ["{", "("]),
        ("rust", "impl<'a, 'b> S<'a, 'b> { fn f(&'a self) { let q = ')'; (",
         ["{", "{", "("]),
    ],
)
def test_brackets_are_read_in_their_language(
    language_id: str, text: str, still_open: list[str]
) -> None:
    assert lexing.open_brackets(text, language_id) == still_open
    assert lexing.state_at_end(text, language_id) == "code"


@pytest.mark.parametrize(
    ("language_id", "text", "state"),
    [
        ("javascript", "#!/usr/bin/env node", "comment"),
        ("javascript", "x = this.#count", "code"),
        ("rust", "#!/usr/bin/env rust-script", "comment"),
        ("rust", "#![allow(x)", "code"),
        ("rust", "fn f<'a>(x: &'a", "code"),
        ("rust", "let c = 'a", "code"),
        ("java", "#!/usr/bin/java", "comment"),
    ],
)
def test_where_a_text_ends(language_id: str, text: str, state: str) -> None:
    assert lexing.state_at_end(text, language_id) == state
