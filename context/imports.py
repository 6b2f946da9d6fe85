"""Which workspace files a document imports, read from its import statements.

Handles Python absolute and relative imports (modules and packages' ``__init__.py``), JS/TS
relative imports (extension resolution and index files), Go packages by directory inside the
module, Rust ``use crate::``/``super::``/``self::`` paths and ``mod`` items, Java imports by
package path and C/C++ local ``#include "..."``. Only files the workspace index knows are
returned, so ignored and vendored code stays out.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from loomline.context.index import WorkspaceIndex
from loomline.context.languages import family
from loomline.context.lexing import keyword_line_starts

_HEAD_CHARS = 100_000  # imports live near the top; never scan a whole huge file


@dataclass(frozen=True, slots=True)
class ImportTarget:
    """One import statement resolved to files of the workspace."""

    module: str  # as written: "pkg.util", "./api", "crate::a::b", "com.acme.Cart"
    paths: tuple[str, ...]  # absolute paths of the files it refers to
    names: tuple[str, ...]  # names imported explicitly; () means the whole module
    alias: str | None = None  # the local name of the module, if any
    line: int = 0


@dataclass(frozen=True, slots=True)
class _RawImport:
    module: str
    names: tuple[str, ...]
    alias: str | None
    line: int


def _scan(regex: re.Pattern[str], text: str, *keywords: str) -> Iterator[re.Match[str]]:
    """``regex`` matched at the start of every line holding a keyword, in order."""
    for start in keyword_line_starts(text, keywords):
        match = regex.match(text, start)
        if match is not None:
            yield match


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index)


def _split_names(clause: str) -> list[tuple[str, str]]:
    """``a, b as c`` -> [(a, a), (b, c)]: (imported name, local name)."""
    out = []
    for part in clause.replace("(", " ").replace(")", " ").replace("\n", " ").split(","):
        words = part.split()
        if not words or words[0] in ("*", "type"):
            words = words[1:] if words and words[0] == "type" else []
        if not words:
            continue
        local = words[2] if len(words) >= 3 and words[1] == "as" else words[0]
        out.append((words[0], local))
    return out


# -- Python -----------------------------------------------------------------------------------

_PY_FROM = re.compile(r"^[ \t]*from[ \t]+([.\w]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]+)", re.M)
_PY_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^\n#;]+)", re.M)


def _python_imports(text: str) -> list[_RawImport]:
    found = []
    for match in _scan(_PY_FROM, text, "import"):
        names = tuple(name for name, _ in _split_names(match.group(2)))
        found.append(_RawImport(match.group(1), names, None, _line_of(text, match.start())))
    for match in _scan(_PY_IMPORT, text, "import"):
        for module, local in _split_names(match.group(1)):
            alias = local if local != module else module.split(".")[0]
            found.append(_RawImport(module, (), alias, _line_of(text, match.start())))
    return found


def _resolve_python(raw: _RawImport, path: str, index: WorkspaceIndex) -> list[str]:
    module = raw.module
    dots = len(module) - len(module.lstrip("."))
    parts = [p for p in module.lstrip(".").split(".") if p]
    candidates: list[str] = []
    if dots:
        base = os.path.dirname(path)
        for _ in range(dots - 1):
            base = os.path.dirname(base)
        stem = os.path.join(base, *parts) if parts else base
        candidates = [stem + ".py", stem + ".pyi", os.path.join(stem, "__init__.py")]
        found = [c for c in candidates if index.has_file(c)]
        for name in raw.names:  # "from . import sub" imports a module
            sub = os.path.join(stem, name)
            found += [c for c in (sub + ".py", os.path.join(sub, "__init__.py"))
                      if index.has_file(c)]
        return found
    relative = "/".join(parts)
    found = _by_suffix(index, relative + ".py", path) or _by_suffix(
        index, relative + "/__init__.py", path
    )
    for name in raw.names:
        found += _by_suffix(index, f"{relative}/{name}.py", path)
    return found


def _by_suffix(index: WorkspaceIndex, relative: str, near: str) -> list[str]:
    """Indexed files whose path ends with ``relative``, the one closest to ``near`` first."""
    basename = relative.rsplit("/", 1)[-1]
    tail = "/" + relative
    matches = [p for p in index.files_named(basename) if p.endswith(tail)]
    if len(matches) <= 1:
        return matches
    best = max(matches, key=lambda p: (len(os.path.commonpath([p, near])), p))
    return [best]


# -- JavaScript / TypeScript ------------------------------------------------------------------

_JS_FROM = re.compile(
    r"[ \t]*(?:import|export)\s+(?:type\s+)?([\w$*\s{},]*?)\s*from\s*['\"]([^'\"\n]+)['\"]"
)
_JS_BARE = re.compile(r"^\s*import\s*['\"]([^'\"\n]+)['\"]", re.M)
_JS_REQUIRE = re.compile(
    r"[ \t]*(?:const|let|var)\s+([\w${}\s,:]+?)\s*=\s*require\(\s*['\"]([^'\"\n]+)['\"]\s*\)"
)
_JS_EXTENSIONS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")


def _js_imports(text: str) -> list[_RawImport]:
    found = []
    for regex, keywords in ((_JS_FROM, ("import", "export")), (_JS_REQUIRE, ("require",))):
        for match in _scan(regex, text, *keywords):
            clause, module = match.group(1), match.group(2)
            alias = None
            names: list[str] = []
            namespace = re.search(r"\*\s*as\s+([\w$]+)", clause)
            if namespace:
                alias = namespace.group(1)
            braces = re.search(r"\{([^}]*)\}", clause)
            if braces:
                names += [name for name, _ in _split_names(braces.group(1).replace(":", " as "))]
            default = re.sub(r"\{[^}]*\}|\*\s*as\s+[\w$]+", "", clause).strip(" ,")
            if default and re.fullmatch(r"[\w$]+", default):
                alias = alias or default
            found.append(_RawImport(module, tuple(names), alias, _line_of(text, match.start())))
    for match in _scan(_JS_BARE, text, "import"):
        found.append(_RawImport(match.group(1), (), None, _line_of(text, match.start())))
    return found


def _resolve_js(raw: _RawImport, path: str, index: WorkspaceIndex) -> list[str]:
    if not raw.module.startswith((".", "/")):
        return []  # packages from node_modules are not ours to show
    target = posixpath.normpath(posixpath.join(os.path.dirname(path), raw.module))
    stem, ext = posixpath.splitext(target)
    candidates = [target]
    if ext in (".js", ".jsx", ".mjs", ".cjs"):  # TS sources import their compiled names
        candidates += [stem + e for e in (".ts", ".tsx", ".mts", ".cts")]
    candidates += [target + e for e in _JS_EXTENSIONS]
    candidates += [posixpath.join(target, "index" + e) for e in _JS_EXTENSIONS]
    for candidate in candidates:
        if index.has_file(candidate):
            return [candidate]
    return []


# -- Go ---------------------------------------------------------------------------------------

_GO_BLOCK = re.compile(r"^import\s*\(([^)]*)\)", re.M)
_GO_SINGLE = re.compile(r"^import\s+(?:([\w.]+)\s+)?\"([^\"]+)\"", re.M)
_GO_SPEC = re.compile(r"(?:([\w.]+)\s+)?\"([^\"]+)\"")


def _go_imports(text: str) -> list[_RawImport]:
    found = []
    for block in _scan(_GO_BLOCK, text, "import"):
        for spec in _GO_SPEC.finditer(block.group(1)):
            line = _line_of(text, block.start(1) + spec.start())
            found.append(_RawImport(spec.group(2), (), spec.group(1), line))
    for match in _scan(_GO_SINGLE, text, "import"):
        found.append(_RawImport(match.group(2), (), match.group(1),
                                _line_of(text, match.start())))
    return [
        _RawImport(r.module, r.names, r.alias or r.module.rsplit("/", 1)[-1], r.line)
        for r in found
    ]


@lru_cache(maxsize=256)
def _go_module(directory: str, stop: str) -> tuple[str, str] | None:
    """(module path, module folder) of the go.mod at or above ``directory``."""
    current = directory
    while True:
        go_mod = os.path.join(current, "go.mod")
        if os.path.isfile(go_mod):
            try:
                with open(go_mod, encoding="utf-8", errors="replace") as handle:
                    match = re.search(r"^module\s+(\S+)", handle.read(), re.M)
            except OSError:
                return None
            return (match.group(1), current) if match else None
        parent = os.path.dirname(current)
        if parent == current or not current.startswith(stop):
            return None
        current = parent


def _resolve_go(raw: _RawImport, path: str, index: WorkspaceIndex) -> list[str]:
    module = _go_module(os.path.dirname(path), str(index.root))
    if module is None:
        return []
    name, folder = module
    if raw.module != name and not raw.module.startswith(name + "/"):
        return []
    directory = os.path.join(folder, raw.module[len(name) :].lstrip("/"))
    return [p for p in index.files_in_directory(directory.rstrip("/"))
            if p.endswith(".go") and not p.endswith("_test.go")]


# -- Rust -------------------------------------------------------------------------------------

_RUST_USE = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.M)
_RUST_MOD = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", re.M)


def _expand_use(tree: str) -> list[list[str]]:
    """``a::{b, c::D}`` -> [[a, b], [a, c, D]] (one level of braces is enough in practice)."""
    tree = re.sub(r"\s+", "", re.sub(r"\s+as\s+\w+", "", tree))
    match = re.match(r"^(.*?)::\{(.*)\}$", tree)
    if not match:
        return [tree.split("::")]
    head = match.group(1).split("::")
    items, depth, current = [], 0, ""
    for ch in match.group(2):
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        current += ch
    items.append(current)
    return [head + item.replace("{", "").replace("}", "").split("::") for item in items if item]


def _rust_imports(text: str) -> list[_RawImport]:
    found = []
    for match in _scan(_RUST_USE, text, "use "):
        for segments in _expand_use(match.group(1)):
            found.append(_RawImport("::".join(segments), (), None, _line_of(text, match.start())))
    for match in _scan(_RUST_MOD, text, "mod "):
        found.append(_RawImport("self::" + match.group(1), (), match.group(1),
                                _line_of(text, match.start())))
    return found


def _rust_module_of(path: str) -> tuple[str, list[str]] | None:
    """(crate src folder, module segments) of a Rust file."""
    parts = Path(path).parts
    if "src" not in parts:
        return None
    at = len(parts) - 1 - parts[::-1].index("src")
    src = str(Path(*parts[: at + 1]))
    segments = list(parts[at + 1 :])
    last = segments.pop()
    if last not in ("lib.rs", "main.rs", "mod.rs"):
        segments.append(last.removesuffix(".rs"))
    return src, segments


def _resolve_rust(raw: _RawImport, path: str, index: WorkspaceIndex) -> tuple[list[str], str]:
    located = _rust_module_of(path)
    if located is None:
        return [], ""
    src, current = located
    segments = raw.module.split("::")
    if segments[0] == "crate":
        base, rest = [], segments[1:]
    elif segments[0] in ("self", "super"):
        base = list(current)
        rest = segments
        while rest and rest[0] in ("self", "super"):
            if rest[0] == "super" and base:
                base.pop()
            rest = rest[1:]
    else:
        return [], ""
    for take in range(len(rest), -1, -1):
        module = base + rest[:take]
        stem = os.path.join(src, *module)
        candidates = [stem + ".rs", os.path.join(stem, "mod.rs")] if module else [
            os.path.join(src, "lib.rs"), os.path.join(src, "main.rs")]
        for candidate in candidates:
            if index.has_file(candidate):
                item = rest[take] if take < len(rest) else ""
                return [candidate], item if item not in ("*", "self") else ""
    return [], ""


# -- Java, C / C++ ----------------------------------------------------------------------------

_JAVA_IMPORT = re.compile(r"^\s*import\s+(static\s+)?([\w.]+)(\.\*)?\s*;", re.M)
_C_INCLUDE = re.compile(r'^\s*#\s*include\s*(?:"([^"]+)"|<([^>]+)>)', re.M)


def _resolve_java(module: str, static: bool, wildcard: bool,
                  path: str, index: WorkspaceIndex) -> tuple[list[str], str]:
    parts = module.split(".")
    if static and not wildcard:
        parts, member = parts[:-1], parts[-1]
    else:
        member = ""
    if wildcard:
        tail = "/" + "/".join(parts)
        folders = [d for d in index.directories() if d.endswith(tail)]
        files = [p for d in folders[:1] for p in index.files_in_directory(d)
                 if p.endswith(".java")]
        return files, ""
    found = _by_suffix(index, "/".join(parts) + ".java", path)
    return found, member or parts[-1]


def _resolve_include(include: str, angled: bool, path: str, index: WorkspaceIndex) -> list[str]:
    """``"x.h"`` next to the file first, then anywhere; ``<lib/x.h>`` only if the workspace
    has it (a project's own include folder), never the system's headers."""
    if not angled:
        local = posixpath.normpath(posixpath.join(os.path.dirname(path), include))
        if index.has_file(local):
            return [local]
    return _by_suffix(index, include.lstrip("./"), path)


# -- entry point ------------------------------------------------------------------------------


def resolve_imports(
    text: str, path: str, language_id: str | None, index: WorkspaceIndex
) -> list[ImportTarget]:
    """The workspace files ``text`` (the document at ``path``) imports, in statement order."""
    fam = family(language_id)
    head = text[:_HEAD_CHARS]
    path = str(Path(path))
    targets: list[ImportTarget] = []
    if fam == "python":
        for raw in _python_imports(head):
            paths = _resolve_python(raw, path, index)
            targets.append(ImportTarget(raw.module, tuple(paths), raw.names, raw.alias, raw.line))
    elif fam in ("javascript", "typescript"):
        for raw in _js_imports(head):
            paths = _resolve_js(raw, path, index)
            targets.append(ImportTarget(raw.module, tuple(paths), raw.names, raw.alias, raw.line))
    elif fam == "go":
        for raw in _go_imports(head):
            paths = _resolve_go(raw, path, index)
            targets.append(ImportTarget(raw.module, tuple(paths), (), raw.alias, raw.line))
    elif fam == "rust":
        for raw in _rust_imports(head):
            paths, item = _resolve_rust(raw, path, index)
            names = (item,) if item else ()
            targets.append(ImportTarget(raw.module, tuple(paths), names, raw.alias, raw.line))
    elif fam == "java":
        for match in _scan(_JAVA_IMPORT, head, "import"):
            static, module, wildcard = match.group(1), match.group(2), match.group(3)
            paths, name = _resolve_java(module, bool(static), bool(wildcard), path, index)
            names = (name,) if name else ()
            targets.append(ImportTarget(module, tuple(paths), names, None,
                                        _line_of(head, match.start())))
    elif fam in ("c", "cpp"):
        for match in _scan(_C_INCLUDE, head, "include"):
            include = match.group(1) or match.group(2)
            paths = _resolve_include(include, match.group(1) is None, path, index)
            targets.append(ImportTarget(include, tuple(paths), (), None,
                                        _line_of(head, match.start())))
    return [t for t in targets if t.paths or t.module]
