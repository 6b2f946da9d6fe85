r"""A client's text as the LSP defines it, written plainly (character by character) to check the
server's document store against: lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r``; columns
count UTF-16 code units; a column past a line's end means its end; a position inside a surrogate
pair means the start of that character; the line after the last means the end of the text
(a line further on, one below zero and a range that ends before it starts are lost edits, which
the server does not apply: ``tests/context/test_lost_edits.py``).

Also the hypothesis strategies that drive both with random edits.
"""

from __future__ import annotations

from hypothesis import strategies as st

# Every kind of line break, the characters str.splitlines() takes for breaks and the LSP does
# not, tabs, characters of two and four UTF-8 bytes, and surrogate pairs in UTF-16.
FRAGMENTS = [
    "a", "b", " ", "x = 1", "\t", "\n", "\r", "\r\n", "\f", "\v", "\u2028", "\u2029", "\u0085",
    "\x1c", "é", "😀", "𝄞", "()",
]


class ReferenceText:
    def __init__(self, text: str) -> None:
        self.text = text

    def lines(self) -> list[tuple[int, int]]:
        """(start, end) code-point offsets of every line's text, without its break."""
        spans: list[tuple[int, int]] = []
        start = i = 0
        text = self.text
        while i < len(text):
            if text[i] == "\r" or text[i] == "\n":
                spans.append((start, i))
                i += 2 if text[i] == "\r" and text[i + 1 : i + 2] == "\n" else 1
                start = i
            else:
                i += 1
        spans.append((start, len(text)))
        return spans

    def line_count(self) -> int:
        return len(self.lines())

    def offset(self, line: int, character: int) -> int:
        spans = self.lines()
        if line >= len(spans):
            return len(self.text)
        start, end = spans[line]
        units = 0
        for index in range(start, end):
            width = 2 if ord(self.text[index]) > 0xFFFF else 1
            if units + width > character:
                return index
            units += width
        return end

    def apply(self, start_line: int, start_char: int, end_line: int, end_char: int,
              new_text: str) -> None:
        start = self.offset(start_line, start_char)
        end = max(start, self.offset(end_line, end_char))
        self.text = self.text[:start] + new_text + self.text[end:]

    def replace_all(self, new_text: str) -> None:
        self.text = new_text

    def widest_line(self) -> int:
        """UTF-16 length of the longest line."""
        return max(
            sum(2 if ord(ch) > 0xFFFF else 1 for ch in self.text[start:end])
            for start, end in self.lines()
        )


def texts(max_fragments: int = 12) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(FRAGMENTS), max_size=max_fragments).map("".join)


Change = tuple[tuple[int, int], tuple[int, int], str] | str


@st.composite
def changes(draw: st.DrawFn, reference: ReferenceText) -> Change:
    """One change to the reference's current text: mostly ranges (ends past the last line or
    past a line's end included), now and then the whole text."""
    if draw(st.integers(0, 9)) == 0:
        return draw(texts())
    lines, width = reference.line_count(), reference.widest_line()
    positions = st.tuples(st.integers(0, lines), st.integers(0, width + 3))
    first, second = draw(positions), draw(positions)
    start, end = sorted([first, second])
    return start, end, draw(texts(max_fragments=4))
