"""Secret shapes that ``detect-secrets``' plugins miss, one line at a time (used by
``context/redaction.py``, which redacts what these return).

- **Credential literals in every language's syntax.** A credential-named variable, field,
  key or argument (``password``, ``passwd``, ``secret``, ``token``, ``api_key`` ...) given a
  string literal: with a type annotation (``password: string = "..."``), a literal prefix
  (``r"..."``, ``b'...'``, ``@"..."``, ``r#"..."#``), brace initialisation
  (``password{"..."}``), a key (``"password": "..."``, ``'password' => '...'``), and while it
  is typed: a literal without its closing quote is taken to the end of the line.
- **Unquoted credential values** (shell, ``.env``, INI, YAML, Go ``:=`` of a name): in
  configuration files a bare word is the value; in code it names something (``os.environ``).
- **Password-shaped literals**: a quoted string of 8 to 64 characters without spaces that
  mixes lower case, upper case, digits and punctuation (``"plantedpw_Zq8#xV2!mK"``), unless
  it reads as a format, a pattern, a path or a template.
- **Half-typed tokens**: a known token prefix followed by some of its key material
  (``AKIAIOSFOD``, ``ghp_aBc1``, ``sk-proj-ab12``, ``xoxb-1234``): the plugins' patterns
  want the whole token, so a key is sent piece by piece while it is typed or pasted slowly.

``detect-secrets``' own filters (templates, sequential strings, UUIDs, ``$`` references)
keep names and placeholders out.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator

# A name that ends like a credential (``DB_PASSWORD``, ``githubToken``, ``api-key``).
_CREDENTIAL_NAME = (
    r"(?:password|passwd|passphrase|pwd|secret|token|credentials?"
    r"|(?:api|access|private|secret|auth|client|master|signing|encryption)[_-]?key)s?"
)
# Name, an optional type annotation, then how a value is given, then a literal's prefix and
# its opening quote; the value runs to the closing quote or to the end of the line.
_CREDENTIAL_LITERAL = re.compile(
    r"(?i)(?<![A-Za-z])(?P<name>" + _CREDENTIAL_NAME + r")[\"'`\]]?"
    # ": string", ": Optional[str]", ": &'static str" (TS, Python, Rust, Kotlin); Go's
    # "secret string"; C's "secret[]"
    r"(?:\s*:\s*[A-Za-z_&*'][\w.<>\[\]|?&*' ]*?|\s+\*?[A-Za-z_][\w.]*|\[\d*\])?"
    r"\s*(?::=|=>|=|:|\{)\s*"
    r"(?:[rRbBuUfFL@]{1,2}|u8|r#+|R)?"  # r"..", b'..', @"..", r#".."#, u8"..", R"(..)"
    r"(?P<quote>[\"'`])(?P<value>(?:\\.|(?!(?P=quote)).)*)(?:(?P=quote)|$)",
)
_UNQUOTED_CREDENTIAL = re.compile(
    r"(?i)(?<![A-Za-z])" + _CREDENTIAL_NAME + r"[\"']?\s*(?::=|=|:)\s*"
    r"([^\s\"'`(){}\[\],;]+)"
)
# An unquoted value in code that names something instead of being a secret: numbers, names
# and dotted names without digits (``os.environ``, ``settings.API_KEY``), templates.
_NAMES_SOMETHING = re.compile(r"^(?:[\d.]+|[A-Za-z_][A-Za-z_.]*|[$%<{].*)$")
_CONFIG_EXTENSIONS = frozenset({
    "", "x.env", "x.ini", "x.cfg", "x.conf", "x.properties", "x.yaml", "x.yml", "x.toml",
    "x.sh", "x.bash", "x.zsh", "x.envrc", "x.npmrc", "x.pypirc", "x.netrc", "x.txt",
})
_CONFIG_NAMES_SOMETHING = re.compile(r"^(?:[\d.]+|true|false|null|none|nil|[$%<{].*)$", re.I)

# f"tok-{n}", "${HOME}/x", "#{user}", "$API_TOKEN" (not "p$ss": a shell variable is upper case).
_INTERPOLATION = re.compile(r"\{[^}]*\}|\$\{|#\{|\$[A-Z_][A-Z0-9_]+\b")
_QUOTED = re.compile(r"([\"'`])((?:\\.|(?!\1).){8,64}?)\1")
# Punctuation that names, versions, locales, e-mail addresses and paths rarely hold.
_PUNCTUATION = set("!#$%&*+=?^~|;")
# What a format, a pattern, a path, a URL or a template has that a password rarely does.
_NOT_A_PASSWORD = re.compile(
    r"\s|://|^[/.~]|\\|%[-+#0 ]*\d*[sdifgexXobrcu]|%\(|\{[^}]*\}|\[[^\]]*\]|\(\?|^\^|\$$"
    r"|^[#@]|[*+?]\)|<[a-z/]|&&|\|\||==|!=|\.\.\.|\$[{(]|\$[A-Z_][A-Z0-9_]+\b|\w/\w",
)

# Known token prefixes and the key characters after them; at least ``min`` of those make a
# token worth redacting before the plugins can recognise the whole of it.
_HALF_TYPED = re.compile(
    r"(?<![A-Za-z0-9])(?:"
    r"AKIA[0-9A-Z]{4,}|ASIA(?=[A-Z]*[0-9])[0-9A-Z]{4,}"  # AWS key ids
    r"|gh[pousr]_[A-Za-z0-9]{4,}|github_pat_[A-Za-z0-9_]{4,}"  # GitHub
    r"|glpat-[A-Za-z0-9_-]{4,}"  # GitLab
    r"|xox[abposr]-[0-9A-Za-z-]{4,}"  # Slack
    r"|sk-(?:proj|ant|svcacct|admin)-[A-Za-z0-9_-]{4,}"  # OpenAI, Anthropic
    r"|sk-(?=[A-Za-z0-9_-]*[0-9A-Z])[A-Za-z0-9_-]{6,}"
    r"|(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{4,}"  # Stripe
    r"|AIza[0-9A-Za-z_-]{6,}"  # Google API keys
    r"|npm_(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Z])[A-Za-z0-9]{8,}|pypi-AgE[A-Za-z0-9_-]{4,}"
    r"|hf_(?=[A-Za-z0-9]*[A-Z])(?=[A-Za-z0-9]*[a-z])[A-Za-z0-9]{8,}"  # Hugging Face
    r")"
)


def shaped_secrets(line: str, file_type: str) -> Iterator[str]:
    """The secret values in ``line`` by the rules above; ``file_type`` is the redactor's
    ``x.EXT`` form of the file name ("" without an extension)."""
    for match in _CREDENTIAL_LITERAL.finditer(line):
        value, closed = match.group("value"), match.end() > match.end("value")
        if _inside_a_literal(line, match.start(), match.end("name")):
            continue  # "Enter password: " says the word; the quote after it closes it
        # A value that starts with a space, or an unclosed one with a space in it, is what
        # follows a literal that holds the name ('Password: ', x): no value at all.
        if not value or value[0].isspace() or (not closed and any(c.isspace() for c in value)):
            continue
        if not is_placeholder(value):
            yield value
    config = file_type in _CONFIG_EXTENSIONS
    names_something = _CONFIG_NAMES_SOMETHING if config else _NAMES_SOMETHING
    for match in _UNQUOTED_CREDENTIAL.finditer(line):
        value = match.group(1)
        if len(value) >= (1 if config else 6) and not names_something.match(value):
            yield value
    yield from password_literals(line)
    for match in _HALF_TYPED.finditer(line):
        yield match.group(0)


def password_literals(line: str) -> Iterator[str]:
    """The password-shaped string literals of ``line`` (its quotes paired from the line's
    start: a line read in pieces reads these whole)."""
    for match in _QUOTED.finditer(line):
        if password_shaped(match.group(2)):
            yield match.group(2)


def _inside_a_literal(line: str, start: int, name_end: int) -> bool:
    """Whether the name at ``start`` stands inside a string literal that goes on after it
    (not a quoted key such as ``"password": ...``)."""
    for quote in "\"'`":
        if line.count(quote, 0, start) % 2 and not line.startswith(quote, name_end):
            return True
    return False


def password_shaped(value: str) -> bool:
    """Lower case, upper case, a digit and punctuation, varied, and no mark of a format,
    a pattern, a path or a template."""
    if not 8 <= len(value) <= 64 or _NOT_A_PASSWORD.search(value):
        return False
    classes = (any(c.islower() for c in value), any(c.isupper() for c in value),
               any(c.isdigit() for c in value), any(c in _PUNCTUATION for c in value))
    return all(classes) and _entropy(value) >= 3.0


def is_placeholder(value: str) -> bool:
    """A template, an environment reference, a path, a masked value, a sequence or a UUID:
    not a secret (detect-secrets' heuristics, and a few of ours)."""
    from detect_secrets.filters.heuristic import (
        is_potential_uuid,
        is_prefixed_with_dollar_sign,
        is_templated_secret,
    )

    if len(value) >= 2 and (is_templated_secret(value) or is_prefixed_with_dollar_sign(value)):
        return True
    if _INTERPOLATION.search(value):
        return True
    if value.startswith(("%(", "/", "~/", "./")) or value.strip("*x•.-_ ") == "":
        return True  # a format, a path, a masked value ("********")
    return len(value) >= 8 and (is_run(value) or is_potential_uuid(value))


_RUNS = ("0123456789ABCDEF" * 3, ("0123456789" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ") * 2)


def is_run(value: str) -> bool:
    """Characters in their order, wrapping (``123456789ABCDEF0``): test data, not a key;
    ``detect-secrets``' ``is_sequential_string`` wants them from the start."""
    from detect_secrets.filters.heuristic import is_sequential_string

    upper = value.upper()
    return is_sequential_string(value) or any(upper in run for run in _RUNS)


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())
