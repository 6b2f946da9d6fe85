"""Context for the prompt from beyond the cursor's window: definitions and similar code.

``collect_context`` gathers, in priority order:

1. definitions the file imports whose names are used near the cursor,
2. the headers of the other definitions the file imports by name, one line each, one piece
   per module (code often goes on with a name imported but not yet used nearby; a header costs
   a tenth of a class with its members),
3. workspace definitions of other names used near the cursor (found in the index),
4. snippets of open or recently edited files similar to the code before the cursor.

The order depends only on the inputs (ties broken by path and line), so while the user types
the pieces, and hence the prompt's head, stay the same and the engine's prefix cache holds.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from loomline.context.imports import ImportTarget, resolve_imports
from loomline.context.index import Definition, WorkspaceIndex
from loomline.context.languages import line_comment
from loomline.context.snippets import (
    MAX_LINE_CHARS,
    WINDOW,
    SnippetCache,
    TextOrigin,
    similar_snippets,
    token_set,
)
from loomline.context.workspace_folders import display_name, is_uri, relative_to

_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")
_IMPORT_LINE = re.compile(r"^\s*(?:import|from|use|#\s*include|package|export\s+\*)\b")
_KEYWORDS = frozenset(
    """
and as assert async await break case catch class const continue def default defer del
delete do elif else enum except export extends false final finally fn for from func
function go if impl import in instanceof interface is lambda let loop match mod module mut
new nil none not null or package pass pub raise return self static struct super switch
this throw true try type typeof use var void where while with yield None True False int
str float bool list dict string number boolean any unknown char long short double unsigned
signed include define auto
""".split()  # noqa: SIM905
)
_CLASS_KINDS = frozenset({"class", "struct", "interface", "trait", "enum", "impl"})
MAX_MEMBERS = 24
_MEMBER_KINDS = frozenset({"method", "function", "field"})
MAX_PIECE_CHARS = 1_500

Kind = Literal["definition", "snippet"]


@dataclass(frozen=True, slots=True)
class ContextPiece:
    path: str  # absolute path of the source file
    text: str
    reason: str  # e.g. "definition of `foo` imported from pkg/mod.py"
    kind: Kind
    score: float
    start_line: int = 0
    end_line: int = 0


def names_near_cursor(
    text: str, offset: int, lines_before: int = 30, lines_after: int = 10
) -> list[str]:
    """Identifiers around the cursor, nearest first (import lines and keywords left out)."""
    start = offset
    for _ in range(lines_before):
        start = text.rfind("\n", 0, max(start - 1, 0))
        if start <= 0:
            start = 0
            break
    end = offset
    for _ in range(lines_after):
        found = text.find("\n", end + 1)
        if found == -1:
            end = len(text)
            break
        end = found
    # (Of very long lines, only what lies within a few of them of the cursor: the end of a
    # 400,000-character line is no nearer the cursor than a line 30 lines away.)
    start = max(start, offset - 2 * MAX_LINE_CHARS)
    end = min(end, offset + MAX_LINE_CHARS)
    distance: dict[str, int] = {}
    cursor_line = text.count("\n", start, offset)
    for number, line in enumerate(text[start:end].split("\n")):
        if _IMPORT_LINE.match(line):
            continue
        for name in _IDENTIFIER.findall(line):
            if len(name) < 2 or name in _KEYWORDS:
                continue
            gap = abs(number - cursor_line)
            if gap < distance.get(name, 1 << 30):
                distance[name] = gap
    return sorted(distance, key=lambda name: (distance[name], name))


def _relative(path: str, index: WorkspaceIndex | None) -> str:
    relative = relative_to(path, str(index.root)) if index is not None else None
    return relative or display_name(path)


def definition_text(definition: Definition, index: WorkspaceIndex | None) -> str:
    """A definition as prompt text: doc comment, header, and a class's member headers."""
    comment = line_comment(definition.language_id)
    lines = [f"{comment} {definition.doc}"] if definition.doc else []
    lines.append(definition.signature)
    if definition.kind in _CLASS_KINDS and index is not None:
        # Members in the same file: inside a class body, or in impl blocks / receiver
        # methods elsewhere in the file (Rust, Go). One line each, public ones and the
        # constructor, so that a long class still shows the names code calls.
        members = [
            d for d in index.definitions_in(definition.path)
            if d.container == definition.name and d.line != definition.line
            and d.kind in _MEMBER_KINDS and _is_public_member(d.name)
        ][:MAX_MEMBERS]
        for member in members:
            lines.append("    " + _one_line(member.signature))
    text = "\n".join(lines)
    return text if len(text) <= MAX_PIECE_CHARS else text[:MAX_PIECE_CHARS] + "\n..."


def _is_class_member(definition: Definition) -> bool:
    """Methods and fields come with their class's piece, not as pieces of their own."""
    return definition.container is not None and definition.kind in ("method", "field")


def _is_public_member(name: str) -> bool:
    return name in ("__init__", "__call__", "constructor", "new") or not name.startswith("_")


def _one_line(signature: str) -> str:
    """A multi-line header as one line: ``def f(\n    a,\n    b,\n)`` -> ``def f(a, b)``."""
    if "\n" not in signature:
        return signature
    text = " ".join(part.strip() for part in signature.split("\n"))
    text = re.sub(r"([(\[{]) ", r"\1", text)
    return re.sub(r",? ([)\]}])", r"\1", text)


def _definition_piece(
    definition: Definition, reason: str, score: float, index: WorkspaceIndex | None
) -> ContextPiece:
    return ContextPiece(
        path=definition.path, text=definition_text(definition, index), reason=reason,
        kind="definition", score=score, start_line=definition.line, end_line=definition.end_line,
    )


def imported_definitions(
    targets: Iterable[ImportTarget], index: WorkspaceIndex, used: list[str]
) -> tuple[list[ContextPiece], list[ContextPiece]]:
    """(definitions imported and used near the cursor, the headers of the other definitions
    imported by name: one piece per module)."""
    rank = {name: i for i, name in enumerate(used)}
    hot: list[tuple[int, ContextPiece]] = []
    cold: dict[str, list[Definition]] = {}  # by module, in import order
    seen: set[tuple[str, int]] = set()
    for target in targets:
        explicit = set(target.names)
        for path in target.paths:
            for definition in index.definitions_in(path):
                if _is_class_member(definition):
                    continue  # members come with their class
                key = (definition.path, definition.line)
                if key in seen:
                    continue
                named = definition.name in explicit
                near = definition.name in rank
                if not (named or near):
                    continue
                seen.add(key)
                if near:
                    reason = (f"definition of `{definition.name}` imported from "
                              f"{_relative(path, index)}")
                    piece = _definition_piece(definition, reason,
                                              4.0 - rank[definition.name] / 1000, index)
                    hot.append((rank[definition.name], piece))
                else:
                    cold.setdefault(definition.path, []).append(definition)
    hot.sort(key=lambda item: (item[0], item[1].path, item[1].start_line))
    return [p for _, p in hot], [_headers_piece(path, defs, index) for path, defs in cold.items()]


def _headers_piece(
    path: str, definitions: list[Definition], index: WorkspaceIndex | None
) -> ContextPiece:
    """One line per definition (its header), in file order: what a module offers by name."""
    definitions = sorted(definitions, key=lambda d: d.line)
    names = ", ".join(f"`{d.name}`" for d in definitions)
    return ContextPiece(
        path=path,
        text="\n".join(_one_line(d.signature) for d in definitions),
        reason=f"headers of {names}, imported from {_relative(path, index)}",
        kind="definition",
        score=1.0,
        start_line=definitions[0].line,
        end_line=definitions[-1].end_line,
    )


def index_lookups(
    used: list[str], index: WorkspaceIndex, current_path: str, *, limit: int = 8,
    per_name: int = 2, max_ambiguity: int = 6,
) -> list[ContextPiece]:
    """Workspace definitions of names used near the cursor, defined outside this file."""
    pieces: list[ContextPiece] = []
    here = os.path.dirname(current_path)
    for rank, name in enumerate(used):
        if not 0 < index.count(name) <= max_ambiguity + 1:
            continue
        found = [d for d in index.lookup(name) if d.path != current_path and
                 not _is_class_member(d)]
        if not found or len(found) > max_ambiguity:
            continue
        found.sort(key=lambda d: (os.path.dirname(d.path) != here, d.path, d.line))
        for definition in found[:per_name]:
            reason = (f"definition of `{name}` used near the cursor, from "
                      f"{_relative(definition.path, index)}")
            pieces.append(_definition_piece(definition, reason, 3.0 - rank / 1000, index))
        if len(pieces) >= limit:
            break
    return pieces[:limit]


_DEFAULT_CACHE = SnippetCache()


def _from_the_index(
    document_text: str,
    path: str,
    language_id: str | None,
    index: WorkspaceIndex | None,
    used: list[str],
) -> list[ContextPiece]:
    """Definitions of what the document imports and uses near the cursor, then definitions
    of other names used near the cursor that the index knows."""
    if index is None:
        return []
    targets = resolve_imports(document_text, path, language_id, index)
    hot, headers = imported_definitions(targets, index, used)
    pieces = hot + headers
    covered = {(p.path, p.start_line) for p in pieces}
    covered_names: set[str] = set()
    for target in targets:
        covered_names.update(target.names)
    return pieces + [
        p for p in index_lookups([n for n in used if n not in covered_names], index, path)
        if (p.path, p.start_line) not in covered
    ]


def collect_context(
    document_text: str,
    path: str,
    language_id: str | None,
    offset: int,
    index: WorkspaceIndex | None,
    open_documents: Mapping[str, str],
    recent: Mapping[str, str] | None = None,
    *,
    max_pieces: int = 12,
    max_snippets: int = 3,
    snippet_cache: SnippetCache | None = None,
    origin: TextOrigin | None = None,
    cursor_line: int | None = None,
) -> list[ContextPiece]:
    """Context pieces for a completion at code-point ``offset`` of the document at ``path``.

    ``open_documents`` and ``recent`` map paths to texts (recently edited files may be closed);
    a document that is not a file goes by its URI instead. ``origin``: the document whose
    ``lf_text`` ``document_text`` is, if it is one (its changes spare a keystroke the
    reading of all its text: see ``SnippetCache.windows``); ``cursor_line``: the line of
    ``offset``, if the caller knows it (else it is counted).
    """
    path = os.path.abspath(path)
    offset = min(max(offset, 0), len(document_text))
    used = names_near_cursor(document_text, offset)
    pieces = _from_the_index(document_text, path, language_id, index, used)
    if cursor_line is None:
        cursor_line = document_text.count("\n", 0, offset)
    query_start = offset
    for _ in range(WINDOW):
        query_start = document_text.rfind("\n", 0, max(query_start - 1, 0))
        if query_start <= 0:
            query_start = 0
            break
    # (The end of a very long cursor line is query enough.)
    query = token_set(document_text[max(query_start, offset - 2 * MAX_LINE_CHARS) : offset])
    documents: dict[str, str] = {}
    for texts in (open_documents, recent or {}):
        for doc_path, text in texts.items():
            documents.setdefault(doc_path if is_uri(doc_path) else os.path.abspath(doc_path), text)
    documents[path] = document_text
    snippets = similar_snippets(
        query, sorted(documents.items()), snippet_cache or _DEFAULT_CACHE,
        exclude=(path, cursor_line - 4 * WINDOW, cursor_line + 2 * WINDOW), limit=max_snippets,
        origins={path: origin} if origin is not None else None,
    )
    for snippet in snippets:
        name = _relative(snippet.path, index)
        pieces.append(ContextPiece(
            path=snippet.path, text=snippet.text,
            reason=f"similar to lines {snippet.start_line + 1}-{snippet.end_line} of {name}",
            kind="snippet", score=2.0 + snippet.score,
            start_line=snippet.start_line, end_line=snippet.end_line,
        ))
    unique: list[ContextPiece] = []
    seen: set[tuple[str, int, str]] = set()
    for piece in pieces:
        key = (piece.path, piece.start_line, piece.kind)
        if key not in seen:
            seen.add(key)
            unique.append(piece)
    return unique[:max_pieces]
