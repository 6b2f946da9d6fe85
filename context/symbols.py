"""What tree-sitter nodes mean as symbols: scopes, names, signatures, doc lines, tag queries.

Shared by position analysis (enclosing scopes) and the workspace index (definitions), so both
name and describe a function the same way.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from tree_sitter import Node, Query, QueryCursor, Tree

from loomline.context.languages import family, get_language

log = logging.getLogger(__name__)

# family -> node type -> kind, for nodes that enclose code (functions, classes, ...).
SCOPE_KINDS: dict[str, dict[str, str]] = {
    "python": {"function_definition": "function", "class_definition": "class"},
    "javascript": {
        "function_declaration": "function", "generator_function_declaration": "function",
        "function_expression": "function", "arrow_function": "function",
        "generator_function": "function", "method_definition": "method",
        "class_declaration": "class", "class": "class",
    },
    "go": {
        "function_declaration": "function", "method_declaration": "method",
        "func_literal": "function", "type_spec": "type",
    },
    "rust": {
        "function_item": "function", "impl_item": "impl", "trait_item": "trait",
        "mod_item": "module", "struct_item": "struct", "enum_item": "enum",
    },
    "java": {
        "class_declaration": "class", "interface_declaration": "interface",
        "enum_declaration": "enum", "record_declaration": "class",
        "method_declaration": "method", "constructor_declaration": "method",
    },
    "c": {"function_definition": "function", "struct_specifier": "struct"},
    "cpp": {
        "function_definition": "function", "class_specifier": "class",
        "struct_specifier": "struct", "namespace_definition": "namespace",
    },
}
SCOPE_KINDS["typescript"] = {
    **SCOPE_KINDS["javascript"],
    "abstract_class_declaration": "class", "interface_declaration": "interface",
    "enum_declaration": "enum",
}

# Kinds whose whole (short) text says more than their header.
_TYPE_KINDS = frozenset({"struct", "enum", "interface", "type", "trait"})
_CLASS_KINDS = frozenset({"class", "impl", "trait", "interface", "struct"})
_NAME_LEAVES = frozenset({
    "identifier", "field_identifier", "qualified_identifier", "destructor_name",
    "operator_name", "type_identifier", "namespace_identifier", "property_identifier",
})
_WRAPPERS = frozenset({
    "export_statement", "decorated_definition", "template_declaration", "lexical_declaration",
    "variable_declaration", "type_declaration",
})
MAX_SIGNATURE_CHARS = 400
MAX_SIGNATURE_LINES = 8
MAX_TYPE_LINES = 15


@dataclass(frozen=True, slots=True)
class RawDefinition:
    """A definition found in one parsed file (the index adds the path)."""

    name: str
    kind: str
    line: int
    end_line: int
    signature: str
    doc: str
    container: str | None


def node_text(node: Node, source: bytes) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", errors="replace")


def _declarator_name(node: Node | None) -> Node | None:
    """The name node inside a C/C++ declarator chain (pointer -> function -> identifier)."""
    for _ in range(12):
        if node is None or node.type in _NAME_LEAVES:
            return node
        inner = node.child_by_field_name("declarator")
        if inner is None:
            inner = next((c for c in node.named_children if c.type in _NAME_LEAVES), None)
        node = inner
    return None


def name_node(node: Node) -> Node | None:
    """The node naming a definition, or ``None`` for anonymous ones."""
    name = node.child_by_field_name("name")
    if name is not None:
        return name
    if node.type == "impl_item":
        kind = node.child_by_field_name("type")
        if kind is not None and kind.type == "generic_type":
            kind = kind.child_by_field_name("type")
        return kind
    if node.type == "assignment":  # a Python class attribute
        left = node.child_by_field_name("left")
        return left if left is not None and left.type == "identifier" else None
    if node.type in ("function_definition", "declaration", "field_declaration"):
        return _declarator_name(node.child_by_field_name("declarator"))
    if node.type == "type_definition":
        return _declarator_name(node.child_by_field_name("declarator"))
    parent = node.parent
    if node.type in ("arrow_function", "function_expression", "class", "generator_function"):
        if parent is not None and parent.type == "variable_declarator":
            return parent.child_by_field_name("name")
        if parent is not None and parent.type == "pair":
            return parent.child_by_field_name("key")
        if parent is not None and parent.type == "assignment_expression":
            return parent.child_by_field_name("left")
    return None


def definition_name(node: Node, source: bytes) -> tuple[str, str | None]:
    """(name, qualifier) of a definition; C++ ``A::m`` gives ("m", "A")."""
    found = name_node(node)
    if found is None:
        return "", None
    text = node_text(found, source)
    if found.type == "qualified_identifier" and "::" in text:
        scope, _, name = text.rpartition("::")
        return name, scope
    if node.type == "impl_item":
        trait = node.child_by_field_name("trait")
        if trait is not None:
            return text, node_text(trait, source)
    return text.rsplit(".", 1)[-1], None


def _body(node: Node) -> Node | None:
    target = node
    if node.type == "variable_declarator":
        value = node.child_by_field_name("value")
        if value is not None:
            target = value
    body = target.child_by_field_name("body")
    if body is None and node.type == "type_spec":
        kind = node.child_by_field_name("type")
        body = next(
            (c for c in kind.named_children if c.type.endswith("_list")), None
        ) if kind is not None else None
    return body


def _clip(text: str, max_lines: int) -> str:
    lines = [line.rstrip() for line in text.splitlines()]
    if len(lines) > max_lines:
        lines = [*lines[:max_lines], "..."]
    clipped = "\n".join(lines).strip()
    return clipped if len(clipped) <= MAX_SIGNATURE_CHARS else clipped[:MAX_SIGNATURE_CHARS] + "..."


def signature_of(node: Node, source: bytes, kind: str = "") -> str:
    """The header of a definition (its lines up to the body), or a short type's whole text."""
    start = node
    if node.type == "variable_declarator" and node.parent is not None:
        start = node.parent  # "const f = (a) =>" reads better than "f = (a) =>"
    parent = node.parent
    if node.type in ("type_spec", "type_alias") and parent and parent.named_child_count == 1:
        start = parent
    body = _body(node)
    whole = source[start.start_byte : node.end_byte].decode("utf-8", errors="replace")
    if start is node and node.type in ("type_spec", "type_alias"):
        whole = "type " + whole
    if kind in _TYPE_KINDS and whole.count("\n") < MAX_TYPE_LINES:
        return _clip(whole, MAX_TYPE_LINES)
    if node.type == "assignment":  # a class attribute: its (first) line
        return _clip(whole.split("\n", 1)[0], 1)
    colon = next((c for c in node.children if c.type == ":"), None)  # Python headers
    if colon is not None and colon.end_byte > start.start_byte:
        header = source[start.start_byte : colon.end_byte].decode("utf-8", errors="replace")
        return _clip(header, MAX_SIGNATURE_LINES)
    if body is None or body.start_byte <= start.start_byte:
        return _clip(_header_lines(whole), MAX_SIGNATURE_LINES)
    header = source[start.start_byte : body.start_byte].decode("utf-8", errors="replace")
    return _clip(header, MAX_SIGNATURE_LINES)


def _header_lines(text: str) -> str:
    """The lines of an unfinished definition up to the one that opens its body."""
    lines = text.split("\n")
    for number, line in enumerate(lines[:MAX_SIGNATURE_LINES]):
        if line.rstrip().endswith((":", "{", ";")):
            return "\n".join(lines[: number + 1])
    return lines[0]


_COMMENT_MARKERS = re.compile(r"^\s*(?:/\*+!?|\*+/?|//[/!]?|#+)\s?")


def _comment_first_line(text: str) -> str:
    for line in text.splitlines():
        line = _COMMENT_MARKERS.sub("", line).strip().removesuffix("*/").strip()
        if line:
            return line[:200]
    return ""


def doc_line(node: Node, source: bytes, language_family: str) -> str:
    """The first line of a definition's docstring or of the comment just above it."""
    if language_family == "python":
        body = node.child_by_field_name("body")
        first = body.named_children[0] if body is not None and body.named_children else None
        if first is not None and first.type == "expression_statement" and first.named_children:
            string = first.named_children[0]
            if string.type == "string":
                content = node_text(string, source).lstrip("rRbBuUfF").strip("\"'")
                return next((ln.strip() for ln in content.splitlines() if ln.strip()), "")[:200]
        return ""
    anchor = node
    while anchor.parent is not None and anchor.parent.type in _WRAPPERS:
        anchor = anchor.parent
    comment: Node | None = None
    sibling = anchor.prev_named_sibling
    expected_row = anchor.start_point[0]
    while sibling is not None:
        if sibling.type == "attribute_item":  # Rust #[derive(...)] between doc and item
            expected_row = sibling.start_point[0]
        elif "comment" in sibling.type and sibling.end_point[0] >= expected_row - 1:
            comment, expected_row = sibling, sibling.start_point[0]
        else:
            break
        sibling = sibling.prev_named_sibling
    return _comment_first_line(node_text(comment, source)) if comment is not None else ""


def container_of(node: Node, source: bytes, language_family: str) -> tuple[str | None, bool]:
    """(name of the enclosing class-like definition, whether the node is directly in it)."""
    kinds = SCOPE_KINDS.get(language_family, {})
    parent = node.parent
    direct = True
    while parent is not None:
        kind = kinds.get(parent.type)
        if kind in _CLASS_KINDS:
            name, _ = definition_name(parent, source)
            return name or None, direct
        if kind is not None:
            direct = False
        parent = parent.parent
    return None, False


@cache
def tag_query(language_id: str) -> Query | None:
    """The definitions query (context/queries/<family>.scm) compiled for a languageId."""
    language = get_language(language_id)
    fam = family(language_id)
    if language is None or fam is None:
        return None
    try:
        source = resources.files("loomline.context").joinpath(f"queries/{fam}.scm").read_text()
        return Query(language, source)
    except Exception:
        log.warning("definitions query for %s failed to load", language_id, exc_info=True)
        return None


def extract_definitions(
    tree: Tree, source: bytes, language_id: str, limit: int = 5000
) -> list[RawDefinition]:
    """Definitions (functions, classes, methods, types) in a parsed file, in source order."""
    query = tag_query(language_id)
    fam = family(language_id)
    if query is None or fam is None:
        return []
    found: dict[int, RawDefinition] = {}
    for _, captures in QueryCursor(query).matches(tree.root_node):
        for capture_name, nodes in captures.items():
            if not capture_name.startswith("definition."):
                continue
            node = nodes[0]
            if node.start_byte in found and found[node.start_byte].kind != "function":
                continue
            kind = capture_name.removeprefix("definition.")
            name, qualifier = definition_name(node, source)
            if not name:
                continue
            container, direct = container_of(node, source, fam)
            if node.type == "method_declaration" and fam == "go":
                container, direct = _go_receiver(node, source), True
            if qualifier and container is None:
                container, direct = qualifier, True
            if kind == "function" and container is not None and direct:
                kind = "method"
            found[node.start_byte] = RawDefinition(
                name=name,
                kind=kind,
                line=node.start_point[0],
                end_line=node.end_point[0],
                signature=signature_of(node, source, kind),
                doc=doc_line(node, source, fam),
                container=container,
            )
        if len(found) >= limit:
            break
    return [found[key] for key in sorted(found)]


def _go_receiver(node: Node, source: bytes) -> str | None:
    receiver = node.child_by_field_name("receiver")
    if receiver is None:
        return None
    names = [c for c in _walk(receiver) if c.type == "type_identifier"]
    return node_text(names[0], source) if names else None


def _walk(node: Node) -> list[Node]:
    out = [node]
    for child in node.named_children:
        out.extend(_walk(child))
    return out
