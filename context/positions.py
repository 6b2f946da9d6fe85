"""The one place where LSP positions (UTF-16 code units) meet string and byte offsets.

LSP counts columns in UTF-16 code units, Python strings in code points and tree-sitter in
UTF-8 bytes. Every conversion between them goes through this module.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Position:
    """A zero-based LSP position: ``character`` counts UTF-16 code units."""

    line: int
    character: int


# Characters outside the Basic Multilingual Plane: two UTF-16 code units each.
_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")


def utf16_length(text: str) -> int:
    """Number of UTF-16 code units in ``text`` (a lone surrogate counts as one)."""
    if text.isascii():
        return len(text)
    return len(text) + len(_ASTRAL.findall(text))


def utf16_to_index(line_text: str, utf16_col: int) -> int:
    """Code-point index in ``line_text`` of a UTF-16 column, clamped to the line.

    A column that falls inside a surrogate pair rounds down to the character's start. Costs
    a slice of the line up to the column (C speed), never a walk over its characters.
    """
    if utf16_col <= 0:
        return 0
    head = line_text[:utf16_col]
    if head.isascii():
        return len(head)
    # Each character outside the BMP before the column takes one column more.
    wide = 0
    for match in _ASTRAL.finditer(head):
        units = match.start() + wide  # where this character starts, in UTF-16 units
        if units >= utf16_col:
            break
        if units + 1 == utf16_col:
            return match.start()  # the column is inside its pair: the character's start
        wide += 1
    return min(utf16_col - wide, len(line_text))


def index_to_utf16(line_text: str, index: int) -> int:
    """UTF-16 column of a code-point index in ``line_text``."""
    return utf16_length(line_text[: max(0, index)])


def utf8_length(text: str) -> int:
    """Number of UTF-8 bytes in ``text`` (lone surrogates count as replacement characters)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-8", errors="surrogatepass"))


class LineIndex:
    r"""Start offsets of every line of a text, for fast position <-> offset conversion.

    Lines end as the LSP says: at ``\n``, ``\r\n`` or a lone ``\r`` (and nowhere else: form
    feed, ``\v``, U+0085 and U+2028 are ordinary characters, unlike ``str.splitlines``).
    """

    __slots__ = ("_starts", "_text", "_wide")

    def __init__(self, text: str) -> None:
        self._text = text
        # Offsets of the characters outside the BMP (two UTF-16 units each), in order; None
        # until a conversion needs them. Kept through edits, so a column on a long line with
        # an emoji costs a binary search, not a scan of the line each keystroke.
        self._wide: list[int] | None = None
        if "\r" in text:
            self._starts = [0, *(match.end() for match in _LINE_BREAK.finditer(text))]
            return
        starts = [0]
        find = text.find
        pos = find("\n")
        while pos != -1:
            starts.append(pos + 1)
            pos = find("\n", pos + 1)
        self._starts = starts

    def edited(self, start: int, end: int, inserted: str, new_text: str) -> LineIndex:
        """The index of ``new_text``: this index's text with code points ``start:end``
        replaced by ``inserted``. Costs the edit plus a shift of the later line starts (no
        scan of the text): what each keystroke pays."""
        starts = self._starts
        delta = len(inserted) - (end - start)
        # Starts before ``start`` stand (a start depends on the character before it and, for
        # a lone CR, the one at it); those up to one past the insertion are found again.
        first = max(1, bisect_right(starts, start - 1))  # 0 starts the first line always
        found_to = start + len(inserted) + 1
        scan_from = max(start - 1, 0)
        found = [
            match.end()
            for match in _LINE_BREAK.finditer(new_text, scan_from, min(len(new_text), found_to + 1))
            if start <= match.end() <= found_to
        ]
        kept_from = bisect_right(starts, end + 1)
        index = LineIndex.__new__(LineIndex)
        index._text = new_text
        index._starts = [*starts[:first], *found, *(s + delta for s in starts[kept_from:])]
        index._wide = self._wide_after(start, end, inserted)
        return index

    def _wide_after(self, start: int, end: int, inserted: str) -> list[int] | None:
        """``_wide`` once code points ``start:end`` are replaced by ``inserted`` (None while
        this index has not worked it out)."""
        wide = self._wide
        if wide is None:
            return None
        first, kept_from = bisect_left(wide, start), bisect_left(wide, end)
        new = [] if inserted.isascii() else [
            start + match.start() for match in _ASTRAL.finditer(inserted)]
        delta = len(inserted) - (end - start)
        if not new and first == kept_from and (not delta or kept_from == len(wide)):
            return wide  # (never changed in place: shared)
        return [*wide[:first], *new, *(offset + delta for offset in wide[kept_from:])]

    def _wide_offsets(self) -> list[int]:
        if self._wide is None:
            self._wide = [] if self._text.isascii() else [
                match.start() for match in _ASTRAL.finditer(self._text)]
        return self._wide

    def _units(self, start: int, end: int) -> int:
        """UTF-16 code units of ``_text[start:end]``."""
        if self._text.isascii():  # (known to the string itself: no scan)
            return end - start
        wide = self._wide_offsets()
        return end - start + bisect_left(wide, end) - bisect_left(wide, start)

    def _index_in_line(self, start: int, end: int, column: int) -> int:
        """Offset of UTF-16 ``column`` in the line ``start:end`` (``utf16_to_index``'s
        rules: clamped to the line, a column inside a surrogate pair goes to its start)."""
        if column <= 0:
            return start
        if self._text.isascii():
            return start + min(column, end - start)
        wide = self._wide_offsets()
        first, last = bisect_left(wide, start), bisect_left(wide, end)
        # The first wide character whose units reach the column's last unit (units grow
        # with each: its offset in the line plus the wide characters before it).
        at = bisect_left(range(first, last), column - 1,
                         key=lambda k: wide[k] - start + k - first) + first
        if at < last and wide[at] - start + at - first == column - 1:
            return wide[at]  # the column is inside its pair: the character's start
        return start + min(column - (at - first), end - start)

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def line_start(self, line: int) -> int:
        return self._starts[line]

    def line_end(self, line: int) -> int:
        """Offset where the text of ``line`` ends (before its line break)."""
        start = self._starts[line]
        if line + 1 >= len(self._starts):
            return len(self._text)
        end = self._starts[line + 1] - 1
        if end > start and self._text[end] == "\n" and self._text[end - 1] == "\r":
            end -= 1
        return end

    def line_of(self, offset: int) -> int:
        """The line holding code-point ``offset`` (clamped into the text)."""
        offset = min(max(offset, 0), len(self._text))
        return bisect_right(self._starts, offset) - 1

    def line_text(self, line: int) -> str:
        """The text of ``line`` without its line break."""
        return self._text[self._starts[line] : self.line_end(line)]

    def texts(self) -> list[str]:
        """Every line's text, without its line break."""
        return [self.line_text(line) for line in range(len(self._starts))]

    def clamp(self, position: Position) -> Position:
        """The nearest valid position: lines past the end go to the end of the text, columns
        past the end of a line to the end of that line (as the LSP says)."""
        if position.line < 0:
            return Position(0, 0)
        if position.line >= len(self._starts):
            last = len(self._starts) - 1
            return Position(last, utf16_length(self.line_text(last)))
        line = position.line
        line_len = self._units(self._starts[line], self.line_end(line))
        return Position(line, min(max(position.character, 0), line_len))

    def offset(self, position: Position) -> int:
        """Code-point offset of an LSP position, clamped into the text."""
        if position.line >= len(self._starts):
            return len(self._text)
        if position.line < 0:
            return 0
        start = self._starts[position.line]
        return self._index_in_line(start, self.line_end(position.line), position.character)

    def position(self, offset: int) -> Position:
        """LSP position of a code-point offset (one inside a line break counts as the end of
        its line)."""
        line = self.line_of(offset)
        start = self._starts[line]
        end = min(max(offset, start), self.line_end(line))
        return Position(line, self._units(start, end))

    def point(self, offset: int) -> tuple[int, int]:
        r"""``point(text, offset)`` from the index: the row without counting the breaks
        before it, the byte column from the line's own characters. The same only while no
        line ends with a lone ``\r`` (tree-sitter rows at ``\n`` alone)."""
        line = self.line_of(offset)
        start = self._starts[line]
        if self._text.isascii():
            return line, offset - start
        return line, utf8_length(self._text[start:offset])

    def lf_offset_of_crlf_text(self, offset: int) -> int:
        r"""``lf_offset`` of code-point ``offset`` in a text whose every line break is
        ``\r\n``: the offset less the breaks before its line, one a line (no count of the
        text before it)."""
        return offset - self.line_of(offset)

    def contains(self, position: Position) -> bool:
        """Whether ``position`` lies inside the text (no clamping needed)."""
        if not 0 <= position.line < len(self._starts) or position.character < 0:
            return False
        start, end = self._starts[position.line], self.line_end(position.line)
        if position.character <= end - start:
            return True  # (a line has at least as many UTF-16 units as code points)
        return position.character <= self._units(start, end)


_LINE_BREAK = re.compile(r"\r\n?|\n")


def to_lf(text: str) -> str:
    r"""``text`` with every line break (``\r\n``, a lone ``\r``) written as ``\n``.

    What prompts and answers are made of: a CRLF file and its LF twin read the same. Line
    ``n`` of the result is line ``n`` of ``text``, so LSP positions are the same in both."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


class LineBreaksAsLf:
    r"""The chunks of a stream with every line break as ``\n`` (``to_lf``), also when a
    ``\r\n`` is split between two chunks."""

    __slots__ = ("_after_cr",)

    def __init__(self) -> None:
        self._after_cr = False

    def feed(self, chunk: str) -> str:
        if self._after_cr and chunk.startswith("\n"):
            chunk = chunk[1:]  # the CR before it was written as the break already
        self._after_cr = chunk.endswith("\r")
        return to_lf(chunk)


def lf_edited(lf_text: str, lf_start: int, removed: int, inserted: str) -> str:
    r"""``to_lf`` of a text edited where no line break is removed or inserted and no CRLF is
    parted or joined (``removed`` characters at ``lf_start`` of its ``to_lf`` replaced by
    ``inserted``), made from ``to_lf`` of the text before: a copy, no scan of the text."""
    return lf_text[:lf_start] + inserted + lf_text[lf_start + removed :]


def with_line_ending(text: str, ending: str) -> str:
    r"""``text`` with every line break written as ``ending`` (``\n``, ``\r\n`` or ``\r``)."""
    text = to_lf(text)
    return text if ending == "\n" else text.replace("\n", ending)


def lf_offset(text: str, offset: int) -> int:
    """Where code-point ``offset`` of ``text`` lies in ``to_lf(text)`` (an offset between the
    CR and LF of a CRLF counts as after the pair)."""
    if "\r" not in text:
        return offset
    return offset - text.count("\r\n", 0, offset)


def end_position(start: Position, text: str) -> Position:
    """Where ``text`` ends once inserted at ``start`` (LSP line breaks, UTF-16 columns)."""
    index = LineIndex(text)
    last = index.line_count - 1
    tail = utf16_length(index.line_text(last))
    if last == 0:
        return Position(start.line, start.character + tail)
    return Position(start.line + last, tail)


def byte_offset(text: str, index: int) -> int:
    """UTF-8 byte offset of code-point ``index`` in ``text``."""
    if text.isascii():  # (known to the string itself: no scan)
        return min(max(index, 0), len(text))
    return utf8_length(text[:index])


def point(text: str, index: int) -> tuple[int, int]:
    r"""tree-sitter point (row, byte column) of code-point ``index`` in ``text``.

    tree-sitter counts rows at ``\n`` only (a lone ``\r`` does not start a row for it).
    """
    row = text.count("\n", 0, index)
    line_start = text.rfind("\n", 0, index) + 1
    if text.isascii():
        return row, index - line_start
    return row, utf8_length(text[line_start:index])


def index_of_byte(text: str, offset: int) -> int:
    """Code-point index in ``text`` of UTF-8 byte ``offset`` (rounded down to a character start)."""
    data = text.encode("utf-8", errors="surrogatepass")
    offset = min(max(offset, 0), len(data))
    while 0 < offset < len(data) and (data[offset] & 0xC0) == 0x80:
        offset -= 1
    return len(data[:offset].decode("utf-8", errors="surrogatepass"))
