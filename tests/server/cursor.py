"""Golden cases mark the cursor in the text with █ (Tabby's habit)."""

from __future__ import annotations

from loomline.context.documents import Document
from loomline.context.positions import LineIndex, Position

CURSOR = "█"


def document_at(marked: str, language: str = "python") -> tuple[Document, Position]:
    """The document without the mark, and the (UTF-16) position where the mark was."""
    offset = marked.index(CURSOR)
    text = marked.replace(CURSOR, "", 1)
    document = Document(uri="file:///t/a.py", language_id=language, version=1, text=text)
    return document, LineIndex(text).position(offset)
