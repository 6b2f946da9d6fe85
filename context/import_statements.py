"""The import statements of a file, as written: what the position analysis reports.

With a syntax tree the statements are found by keyword and confirmed by the tree (an
``import`` inside a string does not count); without one, by a regular expression per language
at the lines that hold the keyword.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from loomline.context.lexing import keyword_line_starts

MAX_IMPORTS = 200

_IMPORT_TYPES: dict[str, frozenset[str]] = {
    "python": frozenset({"import_statement", "import_from_statement", "future_import_statement"}),
    "javascript": frozenset({"import_statement"}),
    "typescript": frozenset({"import_statement"}),
    "go": frozenset({"import_declaration"}),
    "rust": frozenset({"use_declaration", "extern_crate_declaration"}),
    "java": frozenset({"import_declaration"}),
    "c": frozenset({"preproc_include"}),
    "cpp": frozenset({"preproc_include", "using_declaration"}),
}
_IMPORT_KEYWORDS: dict[str, tuple[bytes, ...]] = {
    "python": (b"import",), "javascript": (b"import",), "typescript": (b"import",),
    "go": (b"import",), "rust": (b"use", b"extern"), "java": (b"import",),
    "c": (b"include",), "cpp": (b"include", b"using"),
}
_IMPORT_REGEX: dict[str, re.Pattern[str]] = {
    "python": re.compile(r"^(?:import\s+\S.*|from\s+\S+\s+import\s+.*)$", re.M),
    "javascript": re.compile(r"^import\s.*$", re.M),
    "go": re.compile(r'^import\s+(?:\([^)]*\)|.*)$', re.M),
    "rust": re.compile(r"^(?:pub\s+)?use\s.*$", re.M),
    "java": re.compile(r"^import\s.*$", re.M),
    "c": re.compile(r"^\s*#\s*include\s.*$", re.M),
}
_IMPORT_REGEX["typescript"] = _IMPORT_REGEX["javascript"]
_IMPORT_REGEX["cpp"] = _IMPORT_REGEX["c"]


def tree_imports(fam: str, root: Node, source: bytes) -> list[str]:
    """Import statements, found by keyword and confirmed by the tree (not in strings)."""
    wanted = _IMPORT_TYPES.get(fam, frozenset())
    found: dict[int, str] = {}
    for keyword in _IMPORT_KEYWORDS.get(fam, ()):
        at = source.find(keyword)
        while at != -1 and len(found) < MAX_IMPORTS:
            end = at + len(keyword)
            if (at == 0 or not _word_byte(source[at - 1])) and (
                end >= len(source) or not _word_byte(source[end])
            ):
                node: Node | None = root.descendant_for_byte_range(at, end)
                for _ in range(4):
                    if node is None or node.type in wanted:
                        break
                    node = node.parent
                if node is not None and node.type in wanted and node.start_byte not in found:
                    text = source[node.start_byte : node.end_byte].decode("utf-8", "replace")
                    found[node.start_byte] = text.strip()[:500]
            at = source.find(keyword, end)
    return [found[start] for start in sorted(found)]


def _word_byte(value: int) -> bool:
    return value == 95 or 48 <= value <= 57 or 65 <= value <= 90 or 97 <= value <= 122


def text_imports(text: str, fam: str | None) -> list[str]:
    """Import statements found by the language's regular expression (no tree at hand)."""
    regex = _IMPORT_REGEX.get(fam or "")
    if regex is None:
        return []
    head = min(len(text), 200_000)  # read in place, as if the text ended there: no copy
    keywords = {"rust": ("use",), "c": ("include",), "cpp": ("include",)}.get(fam or "",
                                                                            ("import",))
    found = []
    for start in keyword_line_starts(text, keywords, head):
        match = regex.match(text, start, head)
        if match is not None:
            found.append(match.group().strip()[:500])
    return found[:MAX_IMPORTS]
