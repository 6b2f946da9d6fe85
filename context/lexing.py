"""A small lexer that tells code from strings and comments without a grammar.

Good enough for bracket matching and "is the cursor in a comment" when there is no syntax tree
(unknown language, huge file) and for post-processing text that does not parse yet.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Literal

from loomline.context.languages import family

OPENERS = {"(": ")", "[": "]", "{": "}"}
CLOSERS = {")": "(", "]": "[", "}": "{"}

_DQ = r'"(?:\\.|[^"\\\n])*"?'
_SQ = r"'(?:\\.|[^'\\\n])*'?"
_BLOCK = r"/\*[\s\S]*?(?:\*/|\Z)"
_LINE = r"//[^\n]*"
# A `#!` line at the start of the text: a script's shebang (JavaScript, TypeScript, Java's
# source-file mode; Rust unless a `[` follows: `#![allow(x)]` is an inner attribute). Nowhere
# else is `#!` in them, and any other `#` is code (`this.#count`, `#[derive(Debug)]`).
_SHEBANG = r"\A#![^\n]*"
_RUST_SHEBANG = r"\A#!(?![ \t]*\[)[^\n]*"
_PATTERNS = {
    "python": [
        r"#[^\n]*",
        r'(?i:[rbuf]{0,2})"""[\s\S]*?(?:"""|\Z)',
        r"(?i:[rbuf]{0,2})'''[\s\S]*?(?:'''|\Z)",
        _DQ, _SQ,
    ],
    "javascript": [_SHEBANG, _LINE, _BLOCK, r"`(?:\\[\s\S]|[^`\\])*`?", _DQ, _SQ],
    "go": [_LINE, _BLOCK, r"`[^`]*`?", _DQ, r"'(?:\\.|[^'\\\n])+'"],
    # Rust: 'a is a lifetime, so a quote opens a char literal only when one closes it.
    "rust": [_RUST_SHEBANG, _LINE, _BLOCK, r'r#*"[\s\S]*?(?:"#*|\Z)', _DQ,
             r"'(?:\\.[^'\n]*|[^'\\\n])'"],
    "c": [_LINE, _BLOCK, _DQ, _SQ],
}
_PATTERNS["typescript"] = _PATTERNS["javascript"]
_PATTERNS["java"] = [_SHEBANG, _LINE, _BLOCK, r'"""[\s\S]*?(?:"""|\Z)', _DQ, _SQ]
_PATTERNS["cpp"] = [_LINE, _BLOCK, r'R"([^(\s]*)\([\s\S]*?(?:\)\1"|\Z)', _DQ, _SQ]
_GENERIC = [r"#[^\n]*", _LINE, _BLOCK, _DQ, _SQ]
# The characters a string or comment can start with, per family (a raw or prefixed string
# starts with its letter). The regex looks ahead for them first, so the engine skips the
# text between tokens at C speed instead of trying every alternative at each character
# (a 16,000-character window of a long line: 1.2 -> 0.25 ms).
_STARTS = {
    "python": "#\"'rRbBuUfF",
    "javascript": "#/`\"'",
    "go": "/`\"'",
    "rust": "#/r\"'",
    "c": "/\"'",
    "java": "#/\"'",
    "cpp": "/R\"'",
}
_STARTS["typescript"] = _STARTS["javascript"]
_GENERIC_STARTS = "#/\"'"

State = Literal["code", "string", "comment"]


@dataclass(frozen=True, slots=True)
class Token:
    start: int
    text: str
    kind: Literal["bracket", "string", "comment"]


@cache
def _regex(language_family: str | None) -> re.Pattern[str]:
    parts = _PATTERNS.get(language_family or "", _GENERIC)
    strings = "|".join(f"(?:{p})" for p in parts)
    starts = re.escape("()[]{}" + _STARTS.get(language_family or "", _GENERIC_STARTS))
    return re.compile(rf"(?=[{starts}])(?:(?P<bracket>[()\[\]{{}}])|(?P<other>{strings}))")


def tokens(text: str, language_id: str | None) -> Iterator[Token]:
    """Brackets, strings and comments of ``text`` in order (everything else is skipped)."""
    for match in _regex(family(language_id)).finditer(text):
        if match.lastgroup == "bracket":
            yield Token(match.start(), match.group(), "bracket")
        else:
            value = match.group()
            kind: Literal["string", "comment"] = "comment" if _is_comment(value) else "string"
            yield Token(match.start(), value, kind)


def _is_comment(value: str) -> bool:
    return value.startswith(("#", "//", "/*"))


def _terminated(value: str) -> bool:
    if value.startswith(("#", "//")):
        return False  # a line comment runs to the end of its line
    if value.startswith("/*"):
        return len(value) >= 4 and value.endswith("*/")
    body = value.lstrip("rRbBuUfF#")
    for quote in ('"""', "'''"):
        if body.startswith(quote):
            return len(body) >= 6 and body.endswith(quote)
    if len(body) < 2 or body[-1] != body[0]:
        return value.startswith(("r", "R")) and value.endswith(("#", ")\""))
    escapes = len(body[:-1]) - len(body[:-1].rstrip("\\"))
    return escapes % 2 == 0


def state_at_end(text: str, language_id: str | None) -> State:
    """Whether the end of ``text`` lies in code, inside a string or inside a comment."""
    # Only the last token counts: the matches are consumed in C, no Token made for each.
    found = deque(_regex(family(language_id)).finditer(text), maxlen=1)
    if not found or found[0].lastgroup == "bracket" or found[0].end() < len(text):
        return "code"
    value = found[0].group()
    if _terminated(value):
        return "code"
    return "comment" if _is_comment(value) else "string"


class BracketStack:
    """The brackets open so far, innermost last: the one bracket matcher of the code base."""

    def __init__(self, opened: Iterable[str] = ()) -> None:
        self.open: list[str] = list(opened)

    def __bool__(self) -> bool:
        return bool(self.open)

    def push_or_pop(self, bracket: str, strict: bool = True) -> bool:
        """Open or close ``bracket``. False (and the stack unchanged) for a closer that closes
        nothing open or, when ``strict``, a different kind than the innermost open bracket."""
        if bracket in OPENERS:
            self.open.append(bracket)
            return True
        if self.open and (not strict or self.open[-1] == CLOSERS[bracket]):
            self.open.pop()
            return True
        return False


def open_brackets(text: str, language_id: str | None) -> list[str]:
    """The brackets still open at the end of ``text`` (outermost first); strays are ignored."""
    stack = BracketStack()
    for token in tokens(text, language_id):
        if token.kind == "bracket":
            stack.push_or_pop(token.text)
    return stack.open


def keyword_line_starts(
    text: str, keywords: tuple[str, ...], end: int | None = None
) -> list[int]:
    """Start offsets of the lines that contain any of ``keywords``, in order (of
    ``text[:end]``, read in place).

    ``str.find`` locates the keywords far faster than a multi-line regex that tries every
    position of a large file; the caller then matches its regex at these line starts.
    """
    end = len(text) if end is None else end
    starts: set[int] = set()
    for keyword in keywords:
        at = text.find(keyword, 0, end)
        while at != -1:
            starts.add(text.rfind("\n", 0, at) + 1)
            at = text.find(keyword, at + len(keyword), end)
    return sorted(starts)
