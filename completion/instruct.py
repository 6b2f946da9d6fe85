"""Natural-language instructions to code: the chat prompt, and turning the answer into lines.

Pure functions, no protocol: ``build_messages`` -> ``render_prompt`` (the tokenizer's chat
template, or plain ChatML when the engine has none) -> the engine streams -> ``CodeLines``
turns the raw stream into finished lines of code (fences stripped, re-indented for the place
they go, a repeated header dropped) as soon as each line is complete.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from loomline.context.languages import line_comment

STOP = ("<|im_end|>", "<|endoftext|>")
PREFIX_CHARS = 3000  # code before the insertion point shown to the model
SUFFIX_CHARS = 1000  # code after it
SELECTION_CHARS = 6000

SYSTEM = (
    "You are Loomline, a coding assistant inside a code editor. The user marks a place in a "
    "file and says what to write there. Answer with the code only, in a single fenced code "
    "block: no explanations, no text before or after the block."
)

# LSP language ids -> the tag of a Markdown code fence.
_FENCE_TAGS = {
    "javascriptreact": "jsx",
    "typescriptreact": "tsx",
    "shellscript": "bash",
    "csharp": "csharp",
    "cpp": "cpp",
    "objective-c": "objc",
}
_FENCE = re.compile(r"^\s*(```|~~~)")
_DEF = re.compile(r"^\s*(async\s+)?def\s")


@dataclass(frozen=True, slots=True)
class InstructRequest:
    """Where the code goes and what it should do, as plain text."""

    instruction: str
    language: str  # LSP language id, e.g. "python"
    path: str  # the path the model sees (relative to the workspace)
    prefix: str  # the document text before the insertion point / the selection
    suffix: str  # the document text after it
    selection: str | None = None  # the code to rewrite, when there is a selection


def fence_tag(language: str) -> str:
    return _FENCE_TAGS.get(language, language if language != "plaintext" else "")


def _tail_lines(text: str, limit: int) -> str:
    """The end of ``text``, at most ``limit`` characters, starting at a line boundary."""
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    newline = cut.find("\n")
    return cut[newline + 1 :] if newline >= 0 else cut


def _head_lines(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    newline = cut.rfind("\n")
    return cut[: newline + 1] if newline >= 0 else cut


def build_messages(
    request: InstructRequest,
    *,
    prefix_chars: int = PREFIX_CHARS,
    suffix_chars: int = SUFFIX_CHARS,
) -> list[dict[str, str]]:
    """The system and user messages for an instruction at a place in a file."""
    tag = fence_tag(request.language)
    prefix = _tail_lines(request.prefix, prefix_chars)
    suffix = _head_lines(request.suffix, suffix_chars)
    parts = [f"File: {request.path} ({request.language})"]
    if request.selection is not None:
        selection = request.selection
        if len(selection) > SELECTION_CHARS:
            selection = selection[:SELECTION_CHARS]
        if prefix.strip():
            parts.append(f"Code before the selection:\n```{tag}\n{prefix}\n```")
        parts.append(f"Selected code:\n```{tag}\n{selection}\n```")
        if suffix.strip():
            parts.append(f"Code after the selection:\n```{tag}\n{suffix}\n```")
        parts.append(f"Instruction: {request.instruction.strip()}")
        parts.append(
            "Rewrite the selected code following the instruction. Answer with the code that "
            "replaces the selection, complete, and nothing else."
        )
    elif (stub := _stub_of(request)) is not None:
        # A function to implement: the answer starts with its header (``render_prompt``).
        before, header = _tail_lines(stub[0], prefix_chars), stub[1]
        if before.strip():
            parts.append(f"Code before the function:\n```{tag}\n{before.strip(chr(10))}\n```")
        if suffix.strip():
            parts.append(f"Code after the function:\n```{tag}\n{suffix.strip(chr(10))}\n```")
        parts.append(f"Instruction: {request.instruction.strip()}")
        parts.append(f"Write the complete function, with its body:\n```{tag}\n{header}```")
    else:
        if prefix.strip():
            parts.append(f"Code before the insertion point:\n```{tag}\n{prefix.rstrip()}\n```")
        if suffix.strip():
            parts.append(f"Code after the insertion point:\n```{tag}\n{suffix.strip(chr(10))}\n```")
        parts.append(f"Instruction: {request.instruction.strip()}")
        parts.append(
            "Write only the new code that goes at the insertion point, between the code "
            "before and the code after. Do not repeat the code before or after it."
        )
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


def _stub_of(request: InstructRequest) -> tuple[str, str] | None:
    if request.selection is not None or request.language not in ("python", "py"):
        return None
    return split_stub(request.prefix)


def answer_prefix(request: InstructRequest) -> str:
    """What the answer starts with: the header of a function to implement, else nothing."""
    stub = _stub_of(request)
    return stub[1] if stub else ""


def render_chatml(messages: Sequence[dict[str, str]]) -> str:
    """ChatML (Qwen's format) with the assistant turn opened: for engines without a tokenizer."""
    turns = [f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages]
    return "".join(turns) + "<|im_start|>assistant\n"


def render_prompt(
    messages: Sequence[dict[str, str]],
    tokenizer: Any | None,
    language: str,
    answer_prefix: str = "",
) -> str:
    """The prompt text: the tokenizer's chat template when there is one, else ChatML.

    The answer is started with an opening code fence, so the model writes code right away
    and ends it with a closing fence (where ``CodeLines`` stops); ``answer_prefix`` (a
    function's signature and docstring) goes inside it, for the model to continue.
    """
    text: str | None = None
    template = getattr(tokenizer, "apply_chat_template", None) if tokenizer is not None else None
    if template is not None and getattr(tokenizer, "chat_template", True):
        try:
            rendered = template(list(messages), tokenize=False, add_generation_prompt=True)
            if isinstance(rendered, str) and rendered:
                text = rendered
        except Exception:  # a tokenizer without a usable template degrades to ChatML
            text = None
    if text is None:
        text = render_chatml(messages)
    return text + f"```{fence_tag(language)}\n" + answer_prefix


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
            stub = _stub_at(lines[i:])
            return ("\n".join(lines[:i]), stub) if stub is not None else None
    return None


def _stub_at(lines: Sequence[str]) -> str | None:
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


# ---- the answer -------------------------------------------------------------------------------


def leading_whitespace(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def strip_fences(text: str, opened: bool = False) -> str:
    """The code of a whole answer: the fenced block's content, or the text itself.

    ``opened``: the prompt opened the block, so the code runs up to the first fence.
    """
    lines = text.split("\n")
    fences = [i for i, line in enumerate(lines) if _FENCE.match(line)]
    if opened:
        end = fences[0] if fences else len(lines)
        return "\n".join(lines[:end]).strip("\n")
    if not fences:
        return text.strip("\n")
    end = fences[1] if len(fences) > 1 else len(lines)
    return "\n".join(lines[fences[0] + 1 : end]).strip("\n")


def reindent(lines: Sequence[str], indent: str) -> list[str]:
    """Lines moved so that the least indented one starts at ``indent`` (blank lines emptied)."""
    body = [line for line in lines if line.strip()]
    if not body:
        return ["" for _ in lines]
    base = min((leading_whitespace(line) for line in body), key=len)
    return [indent + _drop_indent(line, base) if line.strip() else "" for line in lines]


def _drop_indent(line: str, base: str) -> str:
    if line.startswith(base):
        return line[len(base) :]
    return line.lstrip(" \t")


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


def _significant(text: str, first: bool) -> list[str]:
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    return lines[:40] if first else lines[-40:]


class CodeLines:
    """Raw model output in, finished lines of code out, as soon as each line is complete.

    Stops at the closing fence (``done`` turns true) and where the answer runs into the code
    after the insertion point. The first line decides the original indentation, which every
    line is moved from to ``placement.indent``. An answer that starts by repeating the code
    just before the insertion point (up to it) has that repetition dropped.
    """

    def __init__(
        self,
        placement: Placement,
        context_before: str = "",
        context_after: str = "",
        drop_repeated: bool = True,
    ) -> None:
        self.placement = placement
        self._tail = _significant(context_before, first=False) if drop_repeated else []
        after = _significant(context_after, first=True)
        self._suffix_first = after[0] if after and len(after[0]) >= 4 else None
        self._seen_code = False
        self._buffer = ""
        self._base: str | None = None
        self._pending_blank = 0
        self._held: list[str] = []
        self._holding = bool(self._tail)
        self.done = False
        self.lines: list[str] = []  # the placed lines handed out so far

    def feed(self, chunk: str) -> list[str]:
        """Lines finished by ``chunk``, placed (indented); [] while a line is incomplete."""
        if self.done:
            return []
        self._buffer += chunk
        out: list[str] = []
        while "\n" in self._buffer and not self.done:
            line, self._buffer = self._buffer.split("\n", 1)
            out += self._line(line.rstrip("\r"))
        return out

    def finish(self) -> list[str]:
        """The rest at the end of the stream (a last line without a newline)."""
        out: list[str] = []
        if not self.done and self._buffer.strip():
            for stop in STOP:
                self._buffer = self._buffer.split(stop, 1)[0]
            out += self._line(self._buffer)
        out += self._release()
        self._buffer = ""
        self.done = True
        return out

    def _line(self, line: str) -> list[str]:
        if _FENCE.match(line):
            if not self._seen_code:
                return []  # an answer that opens its (own) block
            self.done = True  # the closing fence: the code is complete
            return self._release()
        if line.strip() in STOP or (self._suffix_first and line.strip() == self._suffix_first):
            self.done = True  # the end, or the answer runs into the code after it
            return self._release()
        if not line.strip():
            if self._seen_code:
                if self._holding:
                    self._held.append(line)
                else:
                    self._pending_blank += 1
            return []
        self._seen_code = True
        if self._holding:
            self._held.append(line)
            matched = self._repeat_state()
            if matched == "all":  # repeated everything up to the insertion point: drop it
                self._held, self._holding = [], False
                self._pending_blank = 0
                return []
            if matched == "some" and len(self._held) < 60:
                return []
            return self._release()
        return self._emit(line)

    def _repeat_state(self) -> str:
        """ "all" when the held lines repeat the context up to its end, "some" while they may."""
        held = [ln.strip() for ln in self._held if ln.strip()]
        n, tail = len(held), self._tail
        starts = [k for k in range(len(tail) - n + 1) if tail[k : k + n] == held]
        if not starts:
            return "none"
        return "all" if starts[-1] + n == len(tail) else "some"

    def _release(self) -> list[str]:
        held, self._held, self._holding = self._held, [], False
        out: list[str] = []
        for line in held:
            if line.strip():
                out += self._emit(line)
            elif self.lines:
                self._pending_blank += 1
        return out

    def _emit(self, line: str) -> list[str]:
        if self._base is None:
            self._base = leading_whitespace(line)
        placed = ["" for _ in range(self._pending_blank if self.lines else 0)]
        self._pending_blank = 0
        placed.append(self.placement.indent + _drop_indent(line, self._base))
        self.lines += placed
        return placed


def join_placed(lines: Sequence[str], placement: Placement, first: bool) -> str:
    """The text that writes ``lines`` into the document (``first``: nothing written before)."""
    if not lines:
        return ""
    pieces: list[str] = []
    for i, line in enumerate(lines):
        if first and i == 0:
            text = line[len(placement.indent) :] if line.startswith(placement.indent) else line
            lead = "\n" if placement.leading_newline else ""
            pieces.append(lead + (placement.first_prefix + text if line else ""))
        else:
            pieces.append("\n" + line)
    return "".join(pieces)


def code_from_answer(
    answer: str,
    placement: Placement,
    context_before: str = "",
    context_after: str = "",
    drop_repeated: bool = True,
) -> str:
    """The whole answer at once: the text to insert (what the streaming path inserts too)."""
    lines = CodeLines(placement, context_before, context_after, drop_repeated)
    placed = lines.feed(answer) + lines.finish()
    text = join_placed(placed, placement, first=True)
    return text + placement.trailing if text else ""


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
            if _stub_at(lines[start : end + 1]) is None:
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
