"""The argument of the generate and rewrite-selection commands (``methods.py``), typed.

On the wire it is one JSON object: ``{textDocument: {uri}, position | range, instruction?,
maxTokens?}`` (positions in UTF-16 code units, as LSP has them). ``GenerateArgs.parse``
reads it, saying what is wrong with a bad one; ``to_json`` writes it, for the code actions
that carry these commands. Nothing else reads or writes that object.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from loomline.context.positions import Position

DEFAULT_REWRITE_INSTRUCTION = "Improve this code"


@dataclass(frozen=True, slots=True)
class GenerateArgs:
    uri: str
    instruction: str  # "" only when written for a client that asks the user for one
    start: Position
    end: Position | None = None  # None: insert at ``start``; else rewrite start..end
    max_tokens: int | None = None

    @classmethod
    def parse(
        cls, arguments: Sequence[Any] | None, default_instruction: str | None = None
    ) -> GenerateArgs | str:
        """The command's arguments as ``GenerateArgs``, or what is wrong with them.

        An empty instruction becomes ``default_instruction``, or is an error without one; a
        range is ordered, and an empty one means inserting at its start."""
        arg = arguments[0] if arguments else None
        if not isinstance(arg, dict):
            return "expected one argument {textDocument: {uri}, position | range, instruction}"
        document = arg.get("textDocument")
        uri = document.get("uri") if isinstance(document, dict) else None
        if not isinstance(uri, str) or not uri:
            return "textDocument.uri is missing"
        instruction = arg.get("instruction")
        if not isinstance(instruction, str) or not instruction.strip():
            if default_instruction is None:
                return "the instruction is empty"
            instruction = default_instruction
        where = _where(arg)
        if isinstance(where, str):
            return where
        max_tokens = arg.get("maxTokens")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens <= 0:
            max_tokens = None
        return cls(uri, instruction.strip(), where[0], where[1], max_tokens)

    def to_json(self) -> dict[str, Any]:
        """The wire form (no ``instruction`` key when it is "", no ``maxTokens`` when None)."""
        arg: dict[str, Any] = {"textDocument": {"uri": self.uri}}
        if self.end is None:
            arg["position"] = position_json(self.start)
        else:
            arg["range"] = {"start": position_json(self.start), "end": position_json(self.end)}
        if self.instruction:
            arg["instruction"] = self.instruction
        if self.max_tokens is not None:
            arg["maxTokens"] = self.max_tokens
        return arg


def _where(arg: dict[str, Any]) -> tuple[Position, Position | None] | str:
    """(start, end or None) from ``range`` or ``position``, or what is wrong with them."""
    raw_range = arg.get("range")
    if isinstance(raw_range, dict):
        start, end = _position(raw_range.get("start")), _position(raw_range.get("end"))
        if start is None or end is None:
            return "range must have start and end positions"
        if (end.line, end.character) < (start.line, start.character):
            start, end = end, start
        return (start, None) if start == end else (start, end)  # empty: insert there
    start = _position(arg.get("position"))
    if start is None:
        return "position or range is missing"
    return start, None


def _position(raw: Any) -> Position | None:
    if not isinstance(raw, dict):
        return None
    line, character = raw.get("line"), raw.get("character")
    # JSON true is no line or column (bool is an int in Python).
    if not isinstance(line, int) or not isinstance(character, int) or line < 0 or character < 0:
        return None
    if isinstance(line, bool) or isinstance(character, bool):
        return None
    return Position(line, character)


def position_json(position: Position) -> dict[str, int]:
    """A position as LSP's JSON has it."""
    return {"line": position.line, "character": position.character}
