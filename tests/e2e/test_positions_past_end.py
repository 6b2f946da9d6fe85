"""Over stdio: a request at a character past its line's end is asked at the line's end (as
LSP says, and as didChange already reads such positions); at a line past the document's last,
at the end of the document. Inline completion, the completion popup and showContext alike."""

from __future__ import annotations

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp_client import (
    Session,
    first_completion_edit,
    inline,
    loomline_client,
    open_doc,
    show_context,
)

client = loomline_client(
    Session(
        options={"backend": "fake", "fake": {"response": "return x", "chunkDelayMs": 0}},
        root_uri="file:///tmp/loomline-past-end",
    )
)

# (document, asked at, where it is answered); the last line of each has no line break after
# it or ends the text with one (an empty last line)
CASES = [
    ("def f(x):\n    \n", (1, 5), (1, 4)),
    ("def f(x):\n    \n", (1, 99), (1, 4)),
    ("def f(x):\r\n    \r\n", (1, 99), (1, 4)),
    ("def f(x):\r    \r", (1, 99), (1, 4)),
    ("def f(x):\n    ", (2, 0), (1, 4)),  # the line after the last: the end of the text
    ("def f(x):\n    ", (7, 3), (1, 4)),
    ("def f(x):\n    ", (1, 4), (1, 4)),  # inside: as it was
]
IDS = ["past-line-end-by-one", "past-line-end", "crlf", "cr", "line-after-last",
       "far-past-the-last-line", "inside"]


@pytest.mark.parametrize(("text", "asked", "answered"), CASES, ids=IDS)
async def test_a_position_past_the_end_is_answered_at_the_end(
    client: LanguageClient, text: str, asked: tuple[int, int], answered: tuple[int, int]
) -> None:
    uri = f"file:///tmp/loomline-past-end/{IDS[CASES.index((text, asked, answered))]}.py"
    open_doc(client, uri, text)
    at = types.Position(line=answered[0], character=answered[1])

    result = await inline(client, uri, *asked)
    assert result is not None and len(result.items) == 1
    assert result.items[0].insert_text == "return x"
    assert result.items[0].range == types.Range(start=at, end=at)

    edit = await first_completion_edit(client, uri, types.Position(*asked))
    assert edit.range.end == at
    assert edit.new_text == "return x"

    context = await show_context(client, uri, *asked)
    assert context["skip"] is None
    assert context["prompt"]
