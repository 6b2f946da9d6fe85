"""What the cursor is in: a comment, a string, an empty block; which scopes enclose it.

``analyze_position`` answers with a :class:`PositionInfo` for the completion pipeline: whether
to ask for one line or a block, which function and class the cursor sits in (their headers go
into the prompt), the file's imports and the block a multi-line answer must stay inside.
With a syntax tree the answers come from it; without one (unknown language, huge file) from
text heuristics, never an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tree_sitter import Node, Tree

from loomline.context.import_statements import text_imports, tree_imports
from loomline.context.languages import encode, family
from loomline.context.lexing import open_brackets, state_at_end
from loomline.context.positions import byte_offset, index_of_byte
from loomline.context.symbols import SCOPE_KINDS, definition_name, signature_of
from loomline.context.text_style import DEFAULT_INDENT
from loomline.context.text_style import indent_unit as indent_unit_of

_BLOCK_TYPES = frozenset({
    "block", "statement_block", "compound_statement", "declaration_list", "class_body",
    "field_declaration_list", "interface_body", "enum_body", "constructor_body",
    "statement_list", "switch_body", "switch_block", "module", "program", "source_file",
    "translation_unit", "function_body", "match_block",
})
# Node types whose named children are statements or declarations (read by context.statements).
BLOCK_TYPES = _BLOCK_TYPES
_EXPRESSION_CONTAINERS = frozenset({
    "argument_list", "arguments", "parameters", "formal_parameters", "parameter_list",
    "list", "array", "dictionary", "object", "tuple", "set", "parenthesized_expression",
    "subscript", "type_arguments", "template_string", "array_expression", "tuple_expression",
    "initializer_list", "field_initializer_list", "list_comprehension", "dictionary_comprehension",
    "generator_expression", "set_comprehension", "composite_literal", "literal_value",
    "jsx_element", "jsx_opening_element", "array_initializer", "element_value_array_initializer",
})
_STRING_TYPES = frozenset({
    "string", "string_content", "template_string", "string_literal", "raw_string_literal",
    "interpreted_string_literal", "char_literal", "character_literal", "string_fragment",
    "concatenated_string", "text_block", "system_lib_string",
})
_CODE_IN_STRING = frozenset({"interpolation", "template_substitution", "format_expression"})
# A definition's line, matched where the line starts inside the whole text
# (``match(text, start, end)``: no line is copied; so no ``^``, which would match at the
# text's own start only).
_SCOPE_AT = re.compile(
    r"\s*(?:(?:export|public|private|protected|static|async|pub|default|abstract|final)\s+)*"
    r"(?P<kind>def|class|function|fn|func|struct|interface|impl|trait|enum)\b\s*"
    r"(?:\([^)]*\)\s*)?(?P<name>[A-Za-z_$][\w$]*)?"
)
# (``\s`` is what ``str.strip`` strips: both are ``str.isspace``.)
_CODE = re.compile(r"\S")
_SPACE = re.compile(r"\s*")


@dataclass(frozen=True, slots=True)
class Scope:
    """A function, class or similar definition that encloses the cursor."""

    name: str
    kind: str
    signature: str
    start_line: int
    end_line: int


@dataclass(frozen=True, slots=True)
class BlockRange:
    """The block the cursor is in, as code-point offsets and zero-based lines."""

    start_offset: int
    end_offset: int
    start_line: int
    end_line: int


@dataclass(slots=True)
class PositionInfo:
    multiline: bool
    in_comment: bool = False
    in_string: bool = False
    scopes: list[Scope] = field(default_factory=list)  # outermost first
    imports: list[str] = field(default_factory=list)
    line_prefix: str = ""
    line_suffix: str = ""
    line_indent: str = ""
    line_above: str = ""  # the nearest non-blank line above the cursor's line
    block_indent: str = ""  # the indentation new lines at the cursor should get
    indent_unit: str = "    "  # the file's indentation step: a tab or 2, 3, 4 or 8 spaces
    indent_unit_known: bool = True  # False: no line is indented, so the step is the default
    block: BlockRange | None = None
    has_tree: bool = False


def analyze_position(
    language_id: str | None,
    tree: Tree | None,
    text: str,
    offset: int,
    indent_unit: str | None = None,
) -> PositionInfo:
    """Describe the code-point ``offset`` in ``text`` (``tree`` parsed from ``text`` or None).

    ``indent_unit``: the document's indentation step when its store knows it; else it is
    judged from the lines around the cursor (four spaces when none is indented)."""
    offset = min(max(offset, 0), len(text))
    fam = family(language_id)
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    line_end = len(text) if line_end == -1 else line_end
    prefix = text[line_start:offset]
    suffix = text[offset:line_end].rstrip("\r")
    indent = prefix[: len(prefix) - len(prefix.lstrip(" \t"))]
    judged = indent_unit or _indent_unit_near(text, line_start)
    unit = judged or DEFAULT_INDENT
    if tree is not None and fam is not None:
        info = _analyze_tree(fam, tree, text, offset, prefix, suffix)
    else:
        info = _analyze_text(language_id, fam, text, offset, line_start)
    info.line_prefix, info.line_suffix, info.line_indent, info.indent_unit = (
        prefix, suffix, indent, unit
    )
    info.indent_unit_known = judged is not None
    info.line_above = line_above(text, line_start)
    info.block_indent = _block_indent(prefix, indent, info.line_above, unit, fam)
    opened = opens_block(prefix.rstrip(), fam)
    rest = suffix.strip()
    if info.in_comment or info.in_string:
        info.multiline = False
    elif rest:
        info.multiline = prefix.rstrip().endswith("{") and all(c in "}]);," for c in rest)
    elif prefix.strip():
        info.multiline = opened
    # else: a blank line, judged above (block level -> True, inside brackets -> False)
    return info


# -- with a tree ------------------------------------------------------------------------------


def _analyze_tree(
    fam: str, tree: Tree, text: str, offset: int, prefix: str, suffix: str
) -> PositionInfo:
    source = encode(text)
    cursor = byte_offset(text, offset)
    root = tree.root_node
    at = root.descendant_for_byte_range(cursor, cursor) or root
    before = root.descendant_for_byte_range(max(cursor - 1, 0), max(cursor - 1, 0)) or root
    in_comment = _in_comment(at, cursor, source) or _in_comment(before, cursor, source)
    in_string = _in_string(at, cursor) or _in_string(before, cursor)
    # On a blank line a Python block has already ended in the tree: anchor on the last token.
    blank = not prefix.strip()
    anchor = at
    if fam == "python" or blank:
        stripped = len(source[:cursor].rstrip())
        anchor = root.descendant_for_byte_range(max(stripped - 1, 0), max(stripped - 1, 0)) or at
        if fam != "python" and _contains(at, anchor):
            anchor = at
    row = text.count("\n", 0, offset)
    column = len(prefix) - len(prefix.lstrip(" \t")) if prefix.strip() else len(prefix)
    scopes: list[Scope] = []
    block: Node | None = None
    kinds = SCOPE_KINDS.get(fam, {})
    node: Node | None = anchor
    while node is not None:
        encloses = _encloses(fam, node, cursor, row, column)
        if encloses and node.type in kinds:
            name, _ = definition_name(node, source)
            kind = kinds[node.type]
            if kind == "function" and _inside_class(node, kinds):
                kind = "method"
            scopes.append(Scope(name or "<anonymous>", kind, signature_of(node, source, kind),
                                node.start_point[0], node.end_point[0]))
        if block is None and encloses and node.type in _BLOCK_TYPES:
            block = node
        node = node.parent
    scopes.reverse()
    multiline = blank and not _in_expression(anchor if fam == "python" else at, cursor)
    if multiline and root.has_error:  # an unclosed bracket may hide in an ERROR node
        multiline = not _text_in_brackets(text, offset, fam)
    info = PositionInfo(
        multiline=multiline,
        in_comment=in_comment,
        in_string=in_string and not in_comment,
        scopes=scopes,
        imports=tree_imports(fam, root, source),
        has_tree=True,
    )
    if block is not None:
        start = index_of_byte(text, block.start_byte)
        end = index_of_byte(text, block.end_byte)
        info.block = BlockRange(start, end, block.start_point[0], block.end_point[0])
    return info


def _contains(outer: Node, inner: Node) -> bool:
    return outer.start_byte <= inner.start_byte and inner.end_byte <= outer.end_byte


def _encloses(fam: str, node: Node, cursor: int, row: int, column: int) -> bool:
    if node.parent is None:
        return True
    if fam == "python" and node.type != "module":
        header_row = node.start_point[0]
        if node.type == "block" and node.parent is not None:
            header_row = node.parent.start_point[0]
            node_column = node.parent.start_point[1]
        else:
            node_column = node.start_point[1]
        return header_row == row or (header_row < row and node_column < column)
    return node.start_byte < cursor < node.end_byte or (
        node.start_byte <= cursor <= node.end_byte and node.end_point[0] > node.start_point[0]
    )


def _inside_class(node: Node, kinds: dict[str, str]) -> bool:
    parent = node.parent
    while parent is not None:
        kind = kinds.get(parent.type)
        if kind is not None:
            return kind in ("class", "impl", "trait", "interface")
        parent = parent.parent
    return False


def _in_comment(node: Node | None, cursor: int, source: bytes) -> bool:
    while node is not None:
        if "comment" in node.type and node.start_byte < cursor:
            if cursor < node.end_byte:
                return True
            opening = source[node.start_byte : node.start_byte + 2]
            if cursor == node.end_byte and (opening == b"//" or opening[:1] == b"#"):
                return True  # a line comment runs to the end of its line
        node = node.parent
    return False


def _in_string(node: Node | None, cursor: int) -> bool:
    while node is not None:
        if node.type in _CODE_IN_STRING:
            return False
        if node.type in _STRING_TYPES and node.start_byte < cursor < node.end_byte:
            return True
        if node.type in _STRING_TYPES and node.start_byte < cursor and node.is_missing:
            return True
        node = node.parent
    return False


def _in_expression(node: Node | None, cursor: int) -> bool:
    """Whether the innermost container of ``node`` is a bracketed expression, not a block."""
    while node is not None:
        if node.type in _BLOCK_TYPES:
            return False
        if node.type in _EXPRESSION_CONTAINERS and node.start_byte < cursor < node.end_byte:
            return True
        node = node.parent
    return False


# -- without a tree ---------------------------------------------------------------------------

_WINDOW_LINES = 400
# ... and at most this many characters (a minified line would be lexed whole each keystroke).
_WINDOW_CHARS = 16_000


def _analyze_text(
    language_id: str | None, fam: str | None, text: str, offset: int, line_start: int
) -> PositionInfo:
    window_start = line_start
    for _ in range(_WINDOW_LINES):
        if window_start <= 0:
            break
        window_start = text.rfind("\n", 0, window_start - 1) + 1
    window = text[max(window_start, offset - _WINDOW_CHARS) : offset]
    state = state_at_end(window, language_id)
    blank = not _has_code(text, line_start, offset)  # (the line read in place)
    info = PositionInfo(
        multiline=blank and not _text_in_brackets(text, offset, fam),
        in_comment=state == "comment",
        in_string=state == "string",
        scopes=_text_scopes(text, offset, fam),
        imports=text_imports(text, fam),
    )
    return info


def _text_in_brackets(text: str, offset: int, fam: str | None) -> bool:
    window = text[max(0, offset - 4000) : offset]
    window = window[window.find("\n") + 1 :] if offset > 4000 else window
    stack = open_brackets(window, fam)
    return bool(stack) and stack[-1] in "(["


def _text_scopes(text: str, offset: int, fam: str | None) -> list[Scope]:
    """Enclosing definitions found by indentation (Python) or brace depth (the rest).

    Reads the lines in place, from the cursor's up (no copy of the text before the cursor,
    nor of a long line: only a definition's own line is copied), and counts the rows before
    the cursor only once a definition is found."""
    start, end = text.rfind("\n", 0, offset) + 1, offset  # the cursor's line up to it
    threshold = _indent_at(text, start, end) if _has_code(text, start, end) else end - start
    found: list[tuple[int, str, str, str]] = []  # (lines above the cursor's, name, kind, line)
    depth = 0
    for back in range(2000):
        if back:
            if start == 0:
                break
            end = start - 1
            start = text.rfind("\n", 0, end) + 1
        if not _has_code(text, start, end):
            continue
        if fam == "python" or fam is None:
            line_indent = _indent_at(text, start, end)
            if (line_indent < threshold or not back) and (
                match := _SCOPE_AT.match(text, start, end)
            ):
                kind = {"def": "function"}.get(match.group("kind"), match.group("kind"))
                found.append((back, match.group("name") or "", kind, text[start:end].strip()))
                threshold = line_indent
            elif line_indent < threshold:
                threshold = line_indent
            if threshold == 0:
                break
            continue
        depth += text.count("}", start, end) - text.count("{", start, end)
        if depth < 0:
            depth = 0
            match = _SCOPE_AT.match(text, start, end)
            if match:
                kind = {"fn": "function", "func": "function"}.get(
                    match.group("kind"), match.group("kind"))
                found.append((back, match.group("name") or "", kind, text[start:end].strip()))
    if not found:
        return []
    row = text.count("\n", 0, offset)
    return [Scope(name, kind, line, row - back, row) for back, name, kind, line in reversed(found)]


def _has_code(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` holds a non-whitespace character (read in place)."""
    return _CODE.search(text, start, end) is not None


def _indent_at(text: str, start: int, end: int) -> int:
    """The leading whitespace of ``text[start:end]``, in characters (read in place)."""
    match = _SPACE.match(text, start, end)
    return match.end() - start if match else 0


# -- shared -----------------------------------------------------------------------------------


def opens_block(stripped_prefix: str, fam: str | None) -> bool:
    """Whether a line (right-stripped) opens a block in language family ``fam``."""
    if not stripped_prefix:
        return False
    if stripped_prefix.endswith(("{", "(", "[")):
        return True
    return fam == "python" and stripped_prefix.endswith(":")


def _indent_unit_near(text: str, around: int) -> str | None:
    """The file's indentation step, judged from up to 300 lines around ``around`` (None:
    none of them is indented)."""
    start = max(0, around - 4_000)
    sample = text[start : around + 2_000].split("\n")[1:-1] if start else (
        text[: around + 2_000].split("\n")[:-1]
    )
    return indent_unit_of(sample)


def _block_indent(prefix: str, indent: str, above: str, unit: str, fam: str | None) -> str:
    if prefix.strip():
        return indent + unit if opens_block(prefix.rstrip(), fam) else indent
    if prefix:
        return prefix
    above_indent = above[: len(above) - len(above.lstrip(" \t"))]
    return above_indent + unit if opens_block(above.rstrip(), fam) else above_indent


def line_above(text: str, line_start: int, look_back: int = 50) -> str:
    """The nearest non-blank line ending before ``line_start`` (within ``look_back`` lines),
    without its line break; "" when there is none."""
    end = line_start - 1
    for _ in range(look_back):
        if end < 0:
            break
        start = text.rfind("\n", 0, end) + 1
        line = text[start:end].rstrip("\r")
        if line.strip():
            return line
        end = start - 1
    return ""
