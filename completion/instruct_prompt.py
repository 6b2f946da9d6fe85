"""The chat prompt for an instruction at a place in a file.

Pure functions, no protocol: ``build_messages`` (the system and user turns, with windows of
the code around the place) -> ``render_prompt`` (the tokenizer's chat template, or plain
ChatML when the engine has none, with the answer's code fence already opened).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from loomline.completion.instruct_targets import split_stub

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
