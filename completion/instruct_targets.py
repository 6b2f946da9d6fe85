"""Places in the code for instructions: where one is written, and where its code goes.

Where an instruction is written in the code itself: a line comment that says something
(``comment_instruction``), a Python function with only a signature and a docstring
(``find_python_stub``; ``split_stub`` for the prompt, whose answer starts with the stub).
Where the code goes: ``edit_target`` finds the place in a document (a point, or a selection
to rewrite) and ``placement_for`` decides how lines are written there from the text around
it on its line.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from loomline.context.documents import Document
from loomline.context.languages import line_comment
from loomline.context.positions import Position

_DEF = re.compile(r"^\s*(async\s+)?def\s")


def leading_whitespace(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


@dataclass(slots=True)
class Placement:
    """How the lines of code are written at the place they go.

    ``indent`` goes before every line; ``first_prefix`` before the first one instead (the
    document may already hold the indentation there); ``trailing`` after the last one.
    """

    indent: str = ""
    first_prefix: str = ""
    trailing: str = ""
    leading_newline: bool = False  # the insertion point follows code on its line


def placement_for(line_before: str, line_after: str, selection: str | None) -> Placement:
    """Where code goes, from the text before and after it on its line.

    ``line_before`` is the text between the start of the line and the insertion point (or
    the selection's start); ``line_after`` what follows the point (or the selection's end)
    on its line.
    """
    if selection is not None:
        trailing = "\n" if selection.endswith("\n") else ""
        if line_before.strip():  # the selection starts after code on its line
            return Placement(indent=leading_whitespace(line_before), trailing=trailing)
        first = selection.split("\n", 1)[0]
        if first.strip():
            indent = line_before + leading_whitespace(first)
        else:
            indent = next(
                (leading_whitespace(ln) for ln in selection.split("\n") if ln.strip()), ""
            )
        prefix = indent[len(line_before) :] if indent.startswith(line_before) else ""
        return Placement(indent=indent, first_prefix=prefix, trailing=trailing)
    if line_before.strip():
        indent = leading_whitespace(line_before)
        if line_before.rstrip().endswith((":", "{", "(", "[")):
            indent += "    " if "\t" not in indent else "\t"
        return Placement(
            indent=indent,
            first_prefix=indent,
            leading_newline=True,
            trailing="\n" + leading_whitespace(line_before) if line_after.strip() else "",
        )
    return Placement(
        indent=line_before,
        first_prefix="",
        trailing="\n" + line_before if line_after.strip() else "",
    )


@dataclass(frozen=True, slots=True)
class EditTarget:
    """Where the code for an instruction goes in a document, as it was when asked."""

    start: Position
    end: Position  # the end of the selection; == ``start`` when inserting
    selection: str | None  # the text to rewrite; None when inserting
    line_before: str  # the line's text before ``start``
    placement: Placement


def edit_target(document: Document, start: Position, end: Position | None) -> EditTarget:
    """The target at ``start`` (``end`` None: insert there; else rewrite start..end), with
    both positions clamped into the document."""
    lines = document.lines
    start = lines.clamp(start)
    end_at = lines.clamp(end) if end is not None else start
    text = document.text
    start_offset, end_offset = document.offset_at(start), document.offset_at(end_at)
    line_start, line_end = lines.line_start(start.line), lines.line_end(end_at.line)
    line_before = text[line_start:start_offset]
    selection = text[start_offset:end_offset] if end is not None else None
    return EditTarget(
        start=start,
        end=end_at,
        selection=selection,
        line_before=line_before,
        placement=placement_for(line_before, text[end_offset:line_end], selection),
    )


# ---- Python stubs ------------------------------------------------------------------------------
def python_stub(prefix: str) -> str | None:
    """The signature and docstring of the Python function whose body starts where ``prefix``
    ends (a stub: nothing but a docstring so far), dedented and ending in a newline."""
    split = split_stub(prefix)
    return split[1] if split else None


def split_stub(prefix: str) -> tuple[str, str] | None:
    """``prefix`` as (the code before the stub, the stub as ``python_stub`` gives it)."""
    lines = prefix.split("\n")
    for i in range(len(lines) - 1, max(-1, len(lines) - 80), -1):
        if _DEF.match(lines[i]):
            stub = stub_at(lines[i:])
            return ("\n".join(lines[:i]), stub) if stub is not None else None
    return None


def stub_at(lines: Sequence[str]) -> str | None:
    """``python_stub`` for lines that start with the ``def``."""
    header = textwrap.dedent("\n".join(lines)).rstrip()
    indents = [leading_whitespace(ln) for ln in header.split("\n")[1:] if ln.strip()]
    tree = None
    for body_indent in [*dict.fromkeys(indents[::-1]), "    "]:
        try:
            tree = ast.parse(header + "\n" + (body_indent or "    ") + "pass\n")
            break
        except SyntaxError:
            continue
    if tree is None:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    function_body = tree.body[0].body
    if not isinstance(function_body[-1], ast.Pass):
        return None  # the added `pass` landed in a nested block: the function has a body
    body = function_body[:-1]
    docstring_only = all(
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for node in body
    )
    return header + "\n" if docstring_only and len(body) <= 1 else None


# ---- where an instruction is written in the code itself ---------------------------------------
_TASK_TAG = re.compile(r"^(?:TODO|FIXME|XXX|HACK)\b[:\s-]*", re.I)


def comment_instruction(line: str, language: str) -> str | None:
    """The instruction in a line comment (``# TODO: parse the header`` -> "parse the header"),
    or None when the line is no comment, or one that says nothing."""
    marker = line_comment(language)
    stripped = line.strip()
    if not stripped.startswith(marker) or stripped.startswith("#!"):
        return None
    text = stripped[len(marker) :].lstrip("/#-! ").strip()
    text = _TASK_TAG.sub("", text).strip()
    if len(text.split()) < 2 or re.match(r"^(type|noqa|pragma|pylint|fmt|eslint)\b", text):
        return None
    return text


@dataclass(frozen=True, slots=True)
class StubSpan:
    """A Python function with only a signature and a docstring."""

    name: str
    def_line: int
    end_line: int  # the last line of the docstring (or of the signature)


def find_python_stub(lines: Sequence[str], line: int) -> StubSpan | None:
    """The stub that line ``line`` belongs to (its signature or docstring), if any."""
    for start in range(min(line, len(lines) - 1), max(-1, line - 40), -1):
        match = _DEF.match(lines[start])
        if not match:
            continue
        indent = len(leading_whitespace(lines[start]))
        for end in range(start, min(start + 60, len(lines))):
            if stub_at(lines[start : end + 1]) is None:
                continue
            after = next((ln for ln in lines[end + 1 :] if ln.strip()), None)
            if after is not None and len(leading_whitespace(after)) > indent:
                continue  # the function goes on: a body, or a docstring still to come
            if end < line:
                return None
            name = re.match(r"^\s*(?:async\s+)?def\s+(\w+)", lines[start])
            return StubSpan(name.group(1) if name else "function", start, end)
        return None
    return None
