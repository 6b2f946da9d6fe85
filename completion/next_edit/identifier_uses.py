"""Where a renamed name is used, read from the syntax tree: identifier nodes only (never a
string or a comment), in the renamed declaration's scope, skipping keyword-argument names,
attribute/field accesses of a plain variable, and nested functions that shadow the name.

Positions are ``(line, column)`` in characters of ``text`` (``\\n`` line breaks); tree-sitter
counts UTF-8 bytes, converted here. Languages without a grammar (or documents too big to
parse) have no ``SourceTree``: callers fall back to the text rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node, Tree

from loomline.context.languages import decode, encode, new_parser
from loomline.context.syntax import DEFAULT_MAX_BYTES

Span = tuple[int, int, int]  # (line, start column, end column)

IDENTIFIER_TYPES = frozenset({
    "identifier", "field_identifier", "property_identifier", "type_identifier",
    "shorthand_property_identifier", "shorthand_property_identifier_pattern",
    "private_property_identifier", "namespace_identifier", "statement_identifier",
})
_FUNCTIONS = frozenset({
    "function_definition", "lambda", "function_declaration", "function_expression",
    "generator_function_declaration", "generator_function", "arrow_function",
    "method_definition", "function", "method_declaration", "func_literal", "function_item",
    "closure_expression", "constructor_declaration", "lambda_expression",
})
_CLASSES = frozenset({
    "class_definition", "class_declaration", "class", "impl_item", "struct_specifier",
    "class_specifier", "interface_declaration", "enum_declaration", "record_declaration",
})
# Member-access node -> its name field; the object is its first other named child.
_MEMBERS = {
    "attribute": "attribute", "member_expression": "property", "selector_expression": "field",
    "field_expression": "field", "field_access": "field",
}
# (parent type, field) where an ``identifier`` names something other than a variable.
_NOT_VARIABLES = frozenset({
    ("keyword_argument", "name"), ("method_invocation", "name"),
    *((member, field) for member, field in _MEMBERS.items()),
})
# (parent type, field) where an identifier declares a variable (``None``: any child).
_DECLARATIONS = frozenset({
    ("variable_declarator", "name"), ("let_declaration", "pattern"), ("var_spec", "name"),
    ("init_declarator", "declarator"), ("declaration", "declarator"),
    ("parameter_declaration", "declarator"), ("parameter_declaration", "name"),
    ("pointer_declarator", "declarator"), ("formal_parameter", "name"),
    ("required_parameter", "pattern"), ("optional_parameter", "pattern"),
    ("parameter", "pattern"), ("default_parameter", "name"),
    ("typed_default_parameter", "name"), ("assignment_pattern", "left"),
    ("arrow_function", "parameter"), ("const_spec", "name"),
    ("parameters", None), ("formal_parameters", None), ("closure_parameters", None),
    ("lambda_parameters", None), ("inferred_parameters", None), ("typed_parameter", None),
})
# Declarations that rebind (Python assignment) rather than shadow in their own scope; in a
# nested function they make a local that does shadow.
_LOCAL_ASSIGNMENTS = frozenset({("assignment", "left")})


@dataclass(frozen=True, slots=True)
class SourceTree:
    """``text`` split in lines with its syntax tree."""

    lines: list[str]
    tree: Tree

    @staticmethod
    def parse(text: str, language_id: str | None) -> SourceTree | None:
        """The tree of ``text``; None without a grammar, or for a document too big."""
        parser = new_parser(language_id)
        source = encode(text)
        if parser is None or len(source) > DEFAULT_MAX_BYTES:
            return None
        return SourceTree(text.split("\n"), parser.parse(source))

    def column(self, row: int, byte: int) -> int:
        return len(decode(encode(self.lines[row])[:byte]))

    def byte(self, line: int, column: int) -> int:
        return len(encode(self.lines[line][:column]))

    def span(self, node: Node) -> Span:
        (row, start), (_, end) = node.start_point, node.end_point
        return row, self.column(row, start), self.column(row, end)

    def identifier_at(self, line: int, start: int, end: int) -> Node | None:
        """The identifier node spanning exactly ``start``..``end`` of ``line``, if any."""
        if line >= len(self.lines):
            return None
        node = self.tree.root_node.named_descendant_for_point_range(
            (line, self.byte(line, start)), (line, self.byte(line, end)))
        if node is None or node.type not in IDENTIFIER_TYPES:
            return None
        return node if self.span(node) == (line, start, end) else None

    def identifiers(self, name: str, first: int = 0, last: int | None = None) -> Iterator[Node]:
        """The identifier nodes reading ``name`` on lines ``first``..``last``, in order."""
        last = len(self.lines) if last is None else last
        stack = [self.tree.root_node]
        while stack:
            node = stack.pop()
            if node.end_point[0] < first or node.start_point[0] > last:
                continue
            if node.type in IDENTIFIER_TYPES and _text(node) == name:
                yield node
            stack.extend(reversed(node.children))


def _text(node: Node | None) -> str:
    return decode(node.text) if node is not None and node.text is not None else ""


def _field(node: Node) -> str | None:
    parent = node.parent
    if parent is None:
        return None
    for index, child in enumerate(parent.children):
        if child == node:
            return parent.field_name_for_child(index)
    return None


def _member_of(node: Node) -> Node | None:
    """The member access (``obj.name``) whose name ``node`` is, if any."""
    parent = node.parent
    if parent is not None and parent.type in _MEMBERS and _MEMBERS[parent.type] == _field(
            node):
        return parent
    return None


def _object_text(member: Node) -> str:
    name = member.child_by_field_name(_MEMBERS[member.type])
    others = [child for child in member.named_children if child != name]
    return _text(others[0]) if others else ""


def _enclosing(node: Node, kinds: frozenset[str]) -> Node | None:
    parent = node.parent
    # A function's (class's) own name belongs to the scope around it.
    if parent is not None and parent.type in kinds and _field(node) == "name":
        parent = parent.parent
    while parent is not None and parent.type not in kinds:
        parent = parent.parent
    return parent


def _declares(node: Node, assignments: bool) -> bool:
    parent, field = node.parent, _field(node)
    if parent is None:
        return False
    if parent.type == "expression_list" and parent.parent is not None and (
            parent.parent.type == "short_var_declaration"):
        return True  # Go's ``a, b := ...``
    site = (parent.type, field)
    return (site in _DECLARATIONS or (parent.type, None) in _DECLARATIONS
            or (assignments and site in _LOCAL_ASSIGNMENTS))


def _is_variable(node: Node) -> bool:
    return node.type == "identifier" and (
        node.parent is None or (node.parent.type, _field(node)) not in _NOT_VARIABLES)


def _shadows(node: Node, scope: Node) -> Node | None:
    """The nested function (inside ``scope``) in which the variable ``node`` reads is
    declared afresh, if any; else None."""
    function = _enclosing(node, _FUNCTIONS)
    while function is not None and function != scope:
        for other in _variables_in(function, _text(node)):
            if _enclosing(other, _FUNCTIONS) == function and _declares(other, True):
                return function
        function = _enclosing(function, _FUNCTIONS)
    return None


def _variables_in(root: Node, name: str) -> Iterator[Node]:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "identifier" and _text(node) == name:
            yield node
        stack.extend(reversed(node.children))


def uses_after_rename(source: SourceTree, renamed: Node, old: str,
                      after: tuple[int, int]) -> list[Span]:
    """The uses of the name ``renamed`` (now reading its new name) had as ``old``, after
    position ``after``, in the renamed declaration's scope, in document order."""
    member = _member_of(renamed)
    if member is not None:  # ``self.x``: only ``self.x`` uses count, in the class
        scope = _enclosing(renamed, _CLASSES) or source.tree.root_node
        wanted = _object_text(member)
        matches = [n for n in _identifiers_below(source, scope, old, after)
                   if (m := _member_of(n)) is not None and m.type == member.type
                   and _object_text(m) == wanted]
    elif renamed.type != "identifier":  # a type or a field: its uses everywhere
        scope = source.tree.root_node
        matches = [n for n in _identifiers_below(source, scope, old, after)
                   if n.type == renamed.type or (
                       renamed.type in ("field_identifier", "property_identifier")
                       and _member_of(n) is not None)]
    else:
        scope = _enclosing(renamed, _FUNCTIONS) or source.tree.root_node
        matches = []
        for node in _identifiers_below(source, scope, old, after):
            if not _is_variable(node) or _shadows(node, scope) is not None:
                continue
            if _enclosing(node, _FUNCTIONS) == _enclosing(renamed, _FUNCTIONS) and _declares(
                    node, False):
                break  # declared afresh further on: later uses are another variable's
            matches.append(node)
    return [source.span(node) for node in matches]


def _identifiers_below(source: SourceTree, scope: Node, name: str,
                       after: tuple[int, int]) -> Iterator[Node]:
    for node in source.identifiers(name, scope.start_point[0], scope.end_point[0]):
        line, start, _ = source.span(node)
        if (line, start) >= after and scope.start_byte <= node.start_byte < scope.end_byte:
            yield node


def repeat_spots(source: SourceTree, changed: Node, old: str,
                 lines: tuple[int, int]) -> set[tuple[int, int]]:
    """Where (``(line, column)``, on ``lines`` first..last) the change of identifier
    ``changed`` (now reading its new name, ``old`` before) is to be made again: a renamed
    declaration's or attribute's uses in its scope; any other identifier reading ``old``
    (a name declared elsewhere, perhaps a global: every one may be the same thing)."""
    if _member_of(changed) is not None or (
            changed.type == "identifier" and _declares(changed, True)):
        return {span[:2] for span in uses_after_rename(source, changed, old, (0, 0))
                if lines[0] <= span[0] <= lines[1]}
    return {source.span(node)[:2] for node in source.identifiers(old, *lines)}
