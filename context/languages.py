"""Which tree-sitter grammar parses which document.

Maps LSP languageIds and file suffixes to tree-sitter ``Language`` objects. Grammars come from
the per-language wheels (never downloaded at run time), are loaded on first use and cached.
An unknown or unavailable language gives ``None``: callers then treat the text as plain text.
"""

from __future__ import annotations

import importlib
import logging
import threading
from pathlib import PurePath

from tree_sitter import Language, Parser, Tree

log = logging.getLogger(__name__)

# languageId -> (module, function returning the grammar pointer)
_GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "javascriptreact": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "typescriptreact": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
}

# Other names clients use for the same languages.
_ALIASES = {
    "py": "python", "python3": "python", "js": "javascript", "jsx": "javascriptreact",
    "ts": "typescript", "tsx": "typescriptreact", "golang": "go", "rs": "rust",
    "c++": "cpp", "cxx": "cpp", "objective-c": "c",
}

# languageId -> the family whose syntax rules (blocks, comments, imports) it follows.
FAMILIES: dict[str, str] = {
    "python": "python", "javascript": "javascript", "javascriptreact": "javascript",
    "typescript": "typescript", "typescriptreact": "typescript", "go": "go", "rust": "rust",
    "java": "java", "c": "c", "cpp": "cpp",
}

SUFFIXES: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".pyw": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascriptreact",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "typescriptreact",
    ".go": "go", ".rs": "rust", ".java": "java",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".c++": "cpp", ".hpp": "cpp", ".hh": "cpp",
    ".hxx": "cpp", ".ipp": "cpp", ".inl": "cpp",
}

# languageId -> its line-comment marker, where it is not "//" (C, JS/TS, Go, Rust, Java, ...).
_LINE_COMMENTS: dict[str, str] = {
    "python": "#", "ruby": "#", "shellscript": "#", "perl": "#", "r": "#", "yaml": "#",
    "toml": "#", "dockerfile": "#", "makefile": "#", "elixir": "#", "julia": "#",
    "lua": "--", "sql": "--", "haskell": "--",
}

_cache: dict[str, Language | None] = {}
_lock = threading.Lock()


def normalize_language_id(language_id: str | None) -> str | None:
    """The canonical languageId this module knows, or ``None``."""
    if not language_id:
        return None
    key = language_id.strip().lower()
    key = _ALIASES.get(key, key)
    return key if key in _GRAMMARS else None


def family(language_id: str | None) -> str | None:
    """The syntax family of a languageId ("javascriptreact" -> "javascript"), or ``None``."""
    key = normalize_language_id(language_id)
    return FAMILIES.get(key) if key else None


def line_comment(language_id: str | None) -> str:
    """The marker that starts a line comment in this language ("#", "--", else "//")."""
    key = (language_id or "").strip().lower()
    return _LINE_COMMENTS.get(_ALIASES.get(key, key), "//")


def language_id_for_path(path: str | PurePath) -> str | None:
    """The languageId of a file by its suffix, or ``None`` when no grammar handles it."""
    return SUFFIXES.get(PurePath(path).suffix.lower())


# Languages without a grammar here, by suffix: still named (line comments, settings).
_OTHER_SUFFIXES: dict[str, str] = {
    ".rb": "ruby", ".php": "php", ".lua": "lua", ".sh": "shellscript", ".kt": "kotlin",
    ".swift": "swift", ".cs": "csharp", ".scala": "scala",
}


def editor_language_id(path: str | PurePath) -> str:
    """The languageId an editor gives a file by its suffix; ``"plaintext"`` when unknown."""
    suffix = PurePath(path).suffix.lower()
    return SUFFIXES.get(suffix) or _OTHER_SUFFIXES.get(suffix, "plaintext")


def get_language(language_id: str | None) -> Language | None:
    """The tree-sitter grammar of a languageId, loaded once; ``None`` when unknown."""
    key = normalize_language_id(language_id)
    if key is None:
        return None
    if key in _cache:
        return _cache[key]
    with _lock:
        if key not in _cache:
            _cache[key] = _load(key)
        return _cache[key]


def _load(key: str) -> Language | None:
    module_name, function_name = _GRAMMARS[key]
    try:
        module = importlib.import_module(module_name)
        return Language(getattr(module, function_name)())
    except Exception:  # a missing or incompatible grammar wheel degrades to plain text
        log.warning("tree-sitter grammar for %s is unavailable", key, exc_info=True)
        return None


def get_language_for_path(path: str | PurePath) -> Language | None:
    return get_language(language_id_for_path(path))


def new_parser(language_id: str | None) -> Parser | None:
    """A fresh parser for a languageId (parsers are not thread-safe: one per user)."""
    language = get_language(language_id)
    return Parser(language) if language is not None else None


def encode(text: str) -> bytes:
    """The UTF-8 bytes tree-sitter parses (lone surrogates kept, as positions.py counts)."""
    return text.encode("utf-8", errors="surrogatepass")


def decode(data: bytes) -> str:
    """Inverse of :func:`encode`."""
    return data.decode("utf-8", errors="surrogatepass")


_parsers: threading.local = threading.local()


def shared_parser(language_id: str | None) -> Parser | None:
    """A parser for a languageId reused within the calling thread."""
    key = normalize_language_id(language_id)
    if key is None:
        return None
    parsers: dict[str, Parser | None] | None = getattr(_parsers, "by_id", None)
    if parsers is None:
        parsers = {}
        _parsers.by_id = parsers
    if key not in parsers:
        parsers[key] = new_parser(key)
    return parsers[key]


def parse(language_id: str | None, text: str | bytes) -> Tree | None:
    """Parse a whole text from scratch; ``None`` for unknown languages or a failed parse."""
    parser = shared_parser(language_id)
    if parser is None:
        return None
    try:
        return parser.parse(encode(text) if isinstance(text, str) else text)
    except Exception:
        log.warning("tree-sitter parse failed for %s", language_id, exc_info=True)
        return None
