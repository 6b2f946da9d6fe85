"""The model's answer to an instruction, turned into lines of code for their place.

``CodeLines`` takes the raw stream and hands out finished lines as soon as each is complete:
fences stripped, re-indented for the place they go (``Placement``), a repeated header
dropped, stopped at the closing fence or where the answer runs into the code after it.
``join_placed`` turns lines into the text that writes them; ``code_from_answer`` does both
for a whole answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from loomline.completion.instruct_prompt import STOP
from loomline.completion.instruct_targets import Placement, leading_whitespace

_FENCE = re.compile(r"^\s*(```|~~~)")


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
