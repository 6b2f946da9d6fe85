"""Secrets out of prompt text: each value ``detect-secrets`` finds becomes ``<redacted>``.

Redaction works on the text that goes into a prompt (a piece, the prefix, the suffix), never
on the document, so positions in the document stay what they are. ``detect-secrets``' plugins
(AWS keys, GitHub / GitLab / Slack / Stripe / OpenAI / npm / PyPI tokens, JWTs, secret-sounding
assignments, high-entropy quoted strings, ...) judge one line at a time; private key blocks span
lines, so a block (``-----BEGIN ... PRIVATE KEY-----`` to its ``END`` line, or to the end of
the text when it is cut there) and the bare base64 lines of a key body are found here; what
its plugins miss on a line (credential literals in other languages' syntax, unquoted values,
password-shaped literals, half-typed tokens) is found by ``context/secret_shapes.py``.

Typing changes one line at a time: each line's findings are kept (a bounded cache keyed by the
line), so a keystroke costs a split, a lookup per line and a join.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from loomline.context.bounded_cache import BoundedCache
from loomline.context.secret_shapes import (
    is_placeholder,
    is_run,
    password_literals,
    shaped_secrets,
)

PLACEHOLDER = "<redacted>"
# Findings of this many lines (about 200 bytes each, whatever the line's length: the key is a
# digest): the windows around the cursors of a dozen documents; and of so many characters of
# found values at most (a line's findings may be long: a pasted key).
MAX_CACHED_LINES = 8_192
MAX_CACHED_FINDING_CHARS = 2_000_000
MAX_CACHED_TEXTS = 32
MAX_CACHED_TEXT_CHARS = 2_000_000  # keys and results: about 4 MB at most

_BEGIN = r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
_END = r"-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
# A whole block, or from its header to the end of the text when the text ends inside it.
_KEY_BLOCK = re.compile(_BEGIN + r".*?(?:" + _END + r"|\Z)", re.DOTALL)
# The text starts inside a block (a window cut out of a key): up to the first END.
_KEY_TAIL = re.compile(r"\A(?:(?!-----BEGIN).)*?" + _END, re.DOTALL)
# One bare line of a key body (64 base64 characters in PEM; 40 at least here).
_BASE64_LINE = re.compile(r"^[ \t]*[A-Za-z0-9+/]{40,}={0,2}[ \t]*\r?$")
_BODY_ENTROPY = 4.0
# The characters a token goes on with after what a plugin matched (a JWT's signature ...).
_TOKEN_TAIL = re.compile(r"[\w\-+/=.]*")

# A line that says its hex string is a digest (a checksum, a commit): no secret, though hex.
_NAMES_A_DIGEST = re.compile(r"(?i)sha\d*|md5|blake2|digest|checksum|hash|commit")
_DIGEST_LENGTHS = frozenset({32, 40, 56, 64, 96, 128})  # MD5, SHA-1, SHA-2 in hex

LineSecrets = Callable[[str, str], tuple[str, ...]]

# Lines longer than this are judged in pieces cut after whitespace (``_pieces``), when that
# finds exactly what the whole line gives: every plugin's match is then free of whitespace
# (tokens, keys, quoted high-entropy strings, URLs with a password). Those whose match may hold
# whitespace (a keyword, an assignment, ``aws ... key``, an npm ``_authToken``, a Cloudant
# URL, a credential-named literal of ``secret_shapes``) all need one of these words: a line
# with one is judged whole. (A password-shaped literal pairs quotes across whitespace: it is
# read on the whole line apart.)
LONG_LINE_CHARS = 1_024
PIECE_CHARS = 128
# Where a piece may end: after whitespace, next to one of these characters (the first of the
# word after it, the last but one before it: a few places in a line of code or data), found
# by the regex engine rather than a Python loop.
_PIECE_END = re.compile(r"(?<=[08HPXhpx\"'(\[].)\s+|\s+(?=[08HPXhpx\"'(\[])")
# (A test holds these to every name ``secret_shapes`` and detect-secrets' keyword rules read.)
_CONTEXT_WORDS = ("key", "pw", "pass", "token", "secret", "contrase", "credential", "aws",
                  "auth", "cloudant", "private", "begin")


class _Detector:
    """``detect-secrets``' plugins, built once; ``secrets(line, file_type)`` -> the values."""

    def __init__(self) -> None:
        from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
        from detect_secrets.plugins.high_entropy_strings import (
            HexHighEntropyString,
            HighEntropyStringsPlugin,
        )
        from detect_secrets.plugins.ip_public import IPPublicDetector
        from detect_secrets.plugins.keyword import (
            DENYLIST,
            QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP,
            REGEX_BY_FILETYPE,
            KeywordDetector,
        )
        from detect_secrets.util.filetype import determine_file_type

        # Every plugin detect-secrets ships but public IP addresses (code, not credentials).
        classes: list[type[Any]] = list(get_mapping_from_secret_type_to_class().values())
        self._plugins: list[Any] = [
            cls() for cls in sorted(classes, key=lambda c: c.__name__)
            if cls is not IPPublicDetector
        ]
        self._high_entropy = HighEntropyStringsPlugin
        self._hex_type = HexHighEntropyString.secret_type
        self._keyword = KeywordDetector
        # The keyword rules are the slowest by far; a line without a keyword skips them.
        self._keyword_gate = re.compile("|".join(DENYLIST), re.IGNORECASE)
        self._regexes = REGEX_BY_FILETYPE
        self._default_regexes = QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP
        self._file_type = determine_file_type

    def _random_enough(self, plugin: Any, value: str, line: str) -> bool:
        """A high-entropy finding that is a secret: above the plugin's limit, not a run
        (``abcdef...``, ``0123...``), and not hex of a digest's length or on a line that
        names a digest (a checksum, a commit: a hex credential has a name, which the keyword
        rules see)."""
        if plugin.calculate_shannon_entropy(value) <= plugin.entropy_limit:
            return False
        if is_run(value):
            return False
        hex_digest = plugin.secret_type == self._hex_type and (
            len(value) in _DIGEST_LENGTHS or _NAMES_A_DIGEST.search(line)
        )
        return not hex_digest

    def secrets(self, line: str, filename: str) -> Iterator[str]:
        """The secret values in ``line``; code inside a string literal (a notebook's JSON,
        an escaped snippet) is judged with its quotes unescaped too."""
        yield from self._in(line, filename)
        if '\\"' in line or "\\'" in line:
            yield from self._in(line.replace('\\"', '"').replace("\\'", "'"), filename)

    def _in(self, line: str, filename: str) -> Iterator[str]:
        for plugin in self._plugins:
            if isinstance(plugin, self._keyword):
                if not self._keyword_gate.search(line):
                    continue
                regexes = self._regexes.get(self._file_type(filename), self._default_regexes)
                found = plugin.analyze_string(line, denylist_regex_to_group=regexes)
            else:
                found = plugin.analyze_string(line)
            for value in found:
                if not value or (isinstance(plugin, self._keyword) and is_placeholder(value)):
                    continue
                if isinstance(plugin, self._high_entropy) and not self._random_enough(
                    plugin, value, line
                ):
                    continue
                yield value
        # What the plugins miss: credential literals in any language's syntax, unquoted
        # values, password-shaped literals, half-typed tokens (context/secret_shapes.py).
        yield from shaped_secrets(line, filename)


class SecretRedactor:
    """Redacts prompt text; one per process is enough (``redact_text``, ``redact_around``).

    ``filename`` (a name or path; only its extension counts) picks the assignment rules of the
    language. Thread-safe: its caches are ``BoundedCache``s.
    """

    def __init__(self, max_cached_lines: int = MAX_CACHED_LINES) -> None:
        self._detector: _Detector | None = None
        self._cache: BoundedCache[tuple[str, bytes], tuple[str, ...]] = BoundedCache(
            MAX_CACHED_FINDING_CHARS, max_cached_lines)
        # Whole texts: while the user types on one line, the lines above and below it are
        # the same text as at the last keystroke. Bounded by their characters too: each is
        # up to a prompt's window, and a large document's windows are large.
        self._texts: BoundedCache[tuple[str, str], str] = BoundedCache(
            MAX_CACHED_TEXT_CHARS, MAX_CACHED_TEXTS)

    def text(self, text: str, filename: str = "") -> str:
        """``text`` with every secret value replaced by ``PLACEHOLDER``."""
        if not text:
            return text
        key = (_extension(filename), text)
        done = self._texts.get(key)
        if done is None:
            lines = _redact_key_blocks(text).split("\n")
            done = "\n".join(self._line(line, key[0]) for line in lines)
            self._texts.put(key, done)
        return done

    def around(
        self, before: str, after: str, filename: str = "", keep_chars: int | None = None
    ) -> tuple[str, str]:
        """The prefix and suffix of a cursor, each redacted; the cursor's line is judged as
        one line (a secret the cursor stands in is redacted on both sides). ``keep_chars``:
        only the whole lines within that many characters of the cursor are kept (and judged),
        for a prompt that can hold no more."""
        if keep_chars is not None:
            before, after = _last_lines(before, keep_chars), _first_lines(after, keep_chars)
        before, after = _redact_key_blocks(before), _redact_key_blocks(after)
        head, newline_before, before_line = before.rpartition("\n")
        after_line, newline_after, tail = after.partition("\n")
        before_line, after_line = self._split_line(before_line, after_line, _extension(filename))
        if newline_before:
            before_line = self.text(head, filename) + newline_before + before_line
        if newline_after:
            after_line = after_line + newline_after + self.text(tail, filename)
        return before_line, after_line

    # ---- lines ----------------------------------------------------------------------------
    def _line(self, line: str, filename: str) -> str:
        if _is_key_body(line):
            return PLACEHOLDER
        spans = _spans(line, self._secrets(line, filename))
        return _replace(line, spans) if spans else line

    def _split_line(self, left: str, right: str, filename: str) -> tuple[str, str]:
        joined = left + right
        if _is_key_body(joined):
            return PLACEHOLDER, ""
        spans = _spans(joined, self._secrets(joined, filename))
        if not spans:
            return left, right
        cut = len(left)
        left = _replace(left, [(s, min(e, cut)) for s, e in spans if s < cut])
        right = _replace(right, [(s - cut, e - cut) for s, e in spans if s >= cut])
        # A secret across the cursor: its placeholder went before the cursor; the rest goes.
        across = next((e - cut for s, e in spans if s < cut < e), 0)
        return left, right[across:]

    def _detector_for(self) -> _Detector:
        if self._detector is None:  # detect-secrets loads on first use, not at start-up
            self._detector = _Detector()
        return self._detector

    def _secrets(self, line: str, filename: str) -> tuple[str, ...]:
        if len(line) < 8:  # nothing a plugin finds is shorter with its context
            return ()
        if len(line) > LONG_LINE_CHARS and not _reads_across_whitespace(line):
            # A long line is judged piece by piece, each piece found again in the cache when
            # only its neighbours changed (typing moves the window over an enormous line).
            # (Quotes pair from the line's start, across whitespace: the password-shaped
            # literals are read on the whole line, one regular expression.)
            found = set(password_literals(line))
            if '\\"' in line or "\\'" in line:
                found.update(password_literals(line.replace('\\"', '"').replace("\\'", "'")))
            for piece in _pieces(line):
                found.update(self._secrets_of(piece, filename))
            return tuple(sorted(found))
        return self._secrets_of(line, filename)

    def _secrets_of(self, line: str, filename: str) -> tuple[str, ...]:
        # A digest, not the line: keys of a typing session (a new line each keystroke, some of
        # them very long) would otherwise hold megabytes.
        key = (filename, hashlib.blake2b(line.encode("utf-8", "surrogatepass"),
                                         digest_size=16).digest())
        found = self._cache.get(key)
        if found is None:
            found = tuple(sorted(set(self._detector_for().secrets(line, filename or "x.txt"))))
            self._cache.put(key, found)
        return found


def _reads_across_whitespace(line: str) -> bool:
    """Whether some detector may read ``line`` across whitespace (it holds a word they need)."""
    lowered = line.lower()
    return any(word in lowered for word in _CONTEXT_WORDS)


def _pieces(line: str) -> list[str]:
    """``line`` in pieces that end after a run of whitespace, at least ``PIECE_CHARS`` long
    (but the last); where they end is decided by the text there (the word after the
    whitespace starts with one of a few characters), not by where the line starts, so a
    piece away from an edit stays the same text. A piece keeps its trailing whitespace, so a
    plugin sees what follows each value as on the whole line; a line without such a place
    is one piece."""
    pieces: list[str] = []
    start, at = 0, PIECE_CHARS
    # Each end is the first place that a scan of the line from PIECE_CHARS on finds at least
    # PIECE_CHARS after the piece's start: searched for from there, not reached by a Python
    # loop over every place in between. (A place is a whole whitespace run, which such a
    # scan enters at its first character: a search from inside a run starts at its start.)
    while (match := _PIECE_END.search(line, at)) is not None:
        end = match.end()
        pieces.append(line[start:end])
        start, at = end, end + PIECE_CHARS
        if at <= len(line) and line[at - 1].isspace():
            at = end + len(line[end:at].rstrip())  # the start of the run
    pieces.append(line[start:])
    return pieces


def _last_lines(text: str, chars: int) -> str:
    """The whole lines at the end of ``text`` within ``chars`` (all of it without a break)."""
    if len(text) <= chars:
        return text
    cut = text.find("\n", len(text) - chars)
    return text if cut == -1 else text[cut + 1 :]


def _first_lines(text: str, chars: int) -> str:
    if len(text) <= chars:
        return text
    cut = text.rfind("\n", 0, chars)
    return text if cut == -1 else text[: cut + 1]


def _redact_key_blocks(text: str) -> str:
    if "PRIVATE KEY" not in text:
        return text
    text = _KEY_TAIL.sub(PLACEHOLDER, text, count=1)
    return _KEY_BLOCK.sub(PLACEHOLDER, text)


def _is_key_body(line: str) -> bool:
    """A bare line of base64 with digits and both cases: a key's body, not a long word."""
    if _BASE64_LINE.match(line) is None:
        return False
    body = line.strip()
    mixed = any(c.isdigit() for c in body) and body.lower() != body and body.upper() != body
    return mixed and _entropy(body) > _BODY_ENTROPY


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _spans(line: str, values: tuple[str, ...]) -> list[tuple[int, int]]:
    """Where the values stand in ``line`` (each where no letter or digit runs into it, when it
    stands so anywhere), each taken on to the end of its token; merged, in order."""
    spans: list[tuple[int, int]] = []
    for value in values:
        plain = [m.start() for m in re.finditer(re.escape(value), line)]
        bounded = [s for s in plain if s == 0 or not line[s - 1].isalnum()]
        for start in bounded or plain:
            tail = _TOKEN_TAIL.match(line, start + len(value))
            spans.append((start, tail.end() if tail else start + len(value)))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _replace(line: str, spans: list[tuple[int, int]], placeholder: str = PLACEHOLDER) -> str:
    for start, end in reversed(spans):
        line = line[:start] + placeholder + line[end:]
    return line


def _extension(filename: str) -> str:
    name = filename.rsplit("/", 1)[-1]
    return "x" + name[name.rfind(".") :] if "." in name else ""


_REDACTOR = SecretRedactor()


def preload() -> None:
    """Load the detector (about 0.3 s of imports) in a background thread, so that the first
    completion does not wait for it; a completion that comes first loads it itself."""
    threading.Thread(target=_REDACTOR._detector_for, name="loomline-secrets", daemon=True).start()


def redact_text(text: str, filename: str = "") -> str:
    """``text`` (a prompt piece) with each detected secret value replaced by ``<redacted>``."""
    return _REDACTOR.text(text, filename)


def redact_around(
    before: str, after: str, filename: str = "", keep_chars: int | None = None
) -> tuple[str, str]:
    """The text before and after a cursor, redacted (see ``SecretRedactor.around``)."""
    return _REDACTOR.around(before, after, filename, keep_chars)


# A credential in an HTTP header or an error message about it: "Bearer <key>", "api_key: <key>".
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=\-]{4,}")
_AUTH_FIELD = re.compile(
    r"(?i)((?:authorization|x-api-key|api[-_]?key|access[-_]?token)[\"']?\s*[:=]\s*[\"']?"
    r"(?:(?:bearer|basic|token)\s+)?)(?!<redacted>|(?:bearer|basic|token)\s)[^\s\"',;}]{4,}"
)


def redact_credentials(text: str, known: Iterable[str] = ()) -> str:
    """Text that may reach a log or the user (an engine's error body, an exception): every
    ``known`` credential value, whatever follows ``Bearer`` / ``Authorization:`` /
    ``api_key=``, and every secret the detector finds become ``<redacted>``."""
    for value in sorted(known, key=len, reverse=True):
        if len(value) >= 4:
            text = text.replace(value, PLACEHOLDER)
    text = _AUTH_SCHEME.sub(lambda m: m.group(1) + m.group(2) + PLACEHOLDER, text)
    text = _AUTH_FIELD.sub(lambda m: m.group(1) + PLACEHOLDER, text)
    return redact_text(text)
