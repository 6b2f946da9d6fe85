"""server/completion_items.py: the completion-popup fallback item (cursor marked with █).

The first cases (the word being typed, escaped snippets, absolute indentation) are in
tests/unit/test_instruct.py; these cover the client formats and the rest of the item."""

from __future__ import annotations

import pytest
from lsprotocol import types

from loomline.context.positions import Position
from loomline.server.completion_items import (
    ClientFormats,
    completion_item,
    relative_indentation,
    word_start,
)
from tests.server.cursor import document_at


def _capabilities(item: types.ClientCompletionItemOptions | None) -> types.ClientCapabilities:
    return types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            completion=types.CompletionClientCapabilities(completion_item=item)
        )
    )


@pytest.mark.parametrize(
    ("capabilities", "expected"),
    [
        (None, ClientFormats()),
        (types.ClientCapabilities(), ClientFormats()),
        (_capabilities(None), ClientFormats()),
        (_capabilities(types.ClientCompletionItemOptions()), ClientFormats()),
        (
            _capabilities(
                types.ClientCompletionItemOptions(
                    snippet_support=True,
                    documentation_format=[types.MarkupKind.Markdown, types.MarkupKind.PlainText],
                )
            ),
            ClientFormats(markdown=True, snippets=True, markup=True),
        ),
        (
            _capabilities(
                types.ClientCompletionItemOptions(
                    documentation_format=[types.MarkupKind.PlainText]
                )
            ),
            ClientFormats(markdown=False, snippets=False, markup=True),
        ),
    ],
)
def test_client_formats_from_capabilities(
    capabilities: types.ClientCapabilities | None, expected: ClientFormats
):
    assert ClientFormats.of(capabilities) == expected


@pytest.mark.parametrize(
    ("line", "index", "start"),
    [
        ("", 0, 0),
        ("x = $value", 10, 4),  # $ belongs to the word (PHP, shell, JavaScript)
        ("foo(bar_2", 9, 4),
        ("foo(", 4, 4),  # nothing typed yet
        ("abc", 99, 0),  # past the end: from the end
        ("ünïcode", 7, 0),
    ],
)
def test_word_start(line: str, index: int, start: int):
    assert word_start(line, index) == start


@pytest.mark.parametrize(
    ("text", "indent", "expected"),
    [
        ("a\n    b\n    c", "    ", "a\nb\nc"),
        ("a\n        b", "    ", "a\n    b"),  # only the cursor line's indentation comes off
        ("a\nb\n  c", "    ", "a\nb\n  c"),  # lines without it stay
        ("    a\n    b", "    ", "    a\nb"),  # never the first line
        ("a\n    b", "", "a\n    b"),
    ],
)
def test_relative_indentation(text: str, indent: str, expected: str):
    assert relative_indentation(text, indent) == expected


def test_single_line_plain_item_at_a_word():
    document, position = document_at("def f(a, b):\n    ret█\n")
    command = types.Command(title="Accepted", command="loomline.accept", arguments=["7"])
    item = completion_item(document, position, "urn a + b", command=command)
    assert item == types.CompletionItem(
        label="return a + b",
        kind=types.CompletionItemKind.Text,
        detail="Loomline",
        documentation="    return a + b",  # no markup: a plain string
        filter_text="return a + b",
        sort_text="0",
        preselect=True,
        insert_text_format=types.InsertTextFormat.PlainText,
        insert_text_mode=None,  # single line: nothing to indent
        text_edit=types.TextEdit(
            range=types.Range(start=types.Position(1, 4), end=types.Position(1, 7)),
            new_text="return a + b",
        ),
        command=command,
    )


def test_plain_text_markup_documentation():
    document, position = document_at("x = █\n")
    item = completion_item(document, position, "1", formats=ClientFormats(markup=True))
    assert item.documentation == types.MarkupContent(
        kind=types.MarkupKind.PlainText, value="x = 1"
    )


def test_markdown_fence_outgrows_a_fence_in_the_text():
    document, position = document_at('doc = █\n')
    item = completion_item(
        document, position, '"```py"', formats=ClientFormats(markdown=True, markup=True)
    )
    assert item.documentation == types.MarkupContent(
        kind=types.MarkupKind.Markdown, value='````python\ndoc = "```py"\n````'
    )


def test_markdown_for_plaintext_names_no_language():
    document, position = document_at("note: █", language="plaintext")
    item = completion_item(document, position, "done", formats=ClientFormats(markdown=True))
    assert isinstance(item.documentation, types.MarkupContent)
    assert item.documentation.value == "```\nnote: done\n```"


def test_a_position_past_the_line_is_clamped_to_its_end():
    document, _ = document_at("ret█\n")
    item = completion_item(document, Position(0, 99), "urn")
    assert item.text_edit is not None
    assert item.text_edit.range == types.Range(
        start=types.Position(0, 0), end=types.Position(0, 3)
    )
    assert item.text_edit.new_text == "return"


def test_positions_are_utf16_after_an_emoji():
    document, position = document_at("s = '😀'; val█\n")
    assert position == Position(0, 13)  # the emoji is two UTF-16 code units
    item = completion_item(document, position, "ue")
    assert item.text_edit is not None
    assert item.text_edit.range == types.Range(
        start=types.Position(0, 10), end=types.Position(0, 13)
    )
    assert item.text_edit.new_text == "value"


def test_an_answer_that_writes_nothing_is_no_item():
    """No item rather than an empty popup entry (eglot listed one: label and text "")."""
    document, position = document_at("x = █\n")
    assert completion_item(document, position, "  ") is None
    assert completion_item(document, position, "") is None


def test_the_cursor_line_starts_after_a_lone_cr():
    # "    x = 1\r" is a line of its own: the cursor's line "ret" has no indentation, so the
    # snippet's later lines keep theirs (the client indents them like the cursor's line).
    document, position = document_at("    x = 1\rret█\n")
    formats = ClientFormats(snippets=True)
    item = completion_item(document, position, "urn 1\n    y", formats=formats)
    assert item.text_edit == types.TextEdit(
        range=types.Range(start=types.Position(1, 0), end=types.Position(1, 3)),
        new_text="return 1\n    y$0",
    )


def test_the_item_replaces_the_closers_up_to_the_completions_end():
    """An answer that writes the closer the editor typed replaces it (the edit's range runs
    over it); an end off the cursor's line is no place for a completion item's edit."""
    document, position = document_at("def foo(█)\n")
    end = Position(position.line, position.character + 1)
    item = completion_item(document, position, "bar: str):", end=end)
    assert isinstance(item.text_edit, types.TextEdit)
    assert item.text_edit.range.end == types.Position(line=0, character=9)
    assert item.text_edit.new_text == "bar: str):"
    elsewhere = completion_item(document, position, "bar: str):", end=Position(1, 0))
    assert isinstance(elsewhere.text_edit, types.TextEdit)
    assert elsewhere.text_edit.range.end == types.Position(line=0, character=8)


def test_an_answer_all_over_the_closers_is_written_whole():
    """`):` over the `)` the editor typed (eglot, CRLF): label and text `):`, never "" (the
    answer up to the closer was nothing)."""
    document, position = document_at("def greet(█)\r\n    pass\r\n")
    end = Position(position.line, position.character + 1)
    item = completion_item(document, position, "):", end=end)
    assert item is not None and item.label == "):" and item.filter_text == "):"
    assert item.text_edit == types.TextEdit(
        range=types.Range(start=types.Position(0, 10), end=types.Position(0, 11)),
        new_text="):",
    )


def test_the_word_before_the_cursor_starts_the_replacing_edit():
    document, position = document_at("def foo(ba█)\n")
    item = completion_item(document, position, "r: str):", end=Position(0, 11))
    assert item is not None and item.filter_text == "bar: str):"
    assert item.text_edit == types.TextEdit(
        range=types.Range(start=types.Position(0, 8), end=types.Position(0, 11)),
        new_text="bar: str):",
    )
    assert not item.additional_text_edits


def test_for_neovims_popup_the_text_stops_at_the_closers_and_the_rest_follows_them():
    """Neovim's own popup inserts at the cursor whatever the range's end, and applies the
    additional edits only on <C-y>: the edit is the answer up to the closers, at the cursor,
    and an additional edit writes the rest after the closers."""
    document, position = document_at("def foo(ba█)\n")
    formats = ClientFormats(snippets=True, range_end_ignored=True)
    item = completion_item(document, position, "r: str):", end=Position(0, 11), formats=formats)
    assert item is not None
    cursor = types.Position(0, 10)
    assert item.text_edit == types.TextEdit(
        range=types.Range(start=cursor, end=cursor), new_text="r: str$0"
    )
    after = types.Position(0, 11)
    assert item.additional_text_edits == [
        types.TextEdit(range=types.Range(start=after, end=after), new_text=":")
    ]
    plain = completion_item(document, position, "r: str", formats=formats)
    assert plain is not None and not plain.additional_text_edits  # nothing to replace
    assert isinstance(plain.text_edit, types.TextEdit)
    assert plain.text_edit.range.start == types.Position(0, 8)


def _accepted(line: str, item: types.CompletionItem, *, with_additional: bool) -> str:
    """The one-line document ``line`` after Neovim takes ``item``: <C-y> applies the
    additional edits (in the document's coordinates) and then the text at the cursor; <CR>
    only leaves the text at the cursor."""
    assert isinstance(item.text_edit, types.TextEdit)
    at = item.text_edit.range.start.character
    assert item.text_edit.range.end.character == at
    if with_additional:
        for edit in sorted(item.additional_text_edits or [],
                           key=lambda e: e.range.start.character, reverse=True):
            line = (line[: edit.range.start.character] + edit.new_text
                    + line[edit.range.end.character :])
    text = item.text_edit.new_text.removesuffix("$0").replace("\\", "")
    return line[:at] + text + line[at:]


@pytest.mark.parametrize(("line", "answer", "accepted", "entered"), [
    ("def foo(█)", "bar: str):", "def foo(bar: str):", "def foo(bar: str)"),
    ("x = foo(█)", "a).strip()", "x = foo(a).strip()", "x = foo(a)"),
    ("const n = xs.filter(█)", "x => x > 0).length;", "const n = xs.filter(x => x > 0).length;",
     "const n = xs.filter(x => x > 0)"),
    ("foo([█])", "1, 2])", "foo([1, 2])", "foo([1, 2])"),
    ("print(\"█\")", "hi\")", "print(\"hi\")", "print(\"hi\")"),
    ("let v = f(█)", "g(a), b);", "let v = f(g(a), b);", "let v = f(g(a), b)"),
    ("fn f() {█}", "\n    1\n}", "fn f() {\n    1\n}", "fn f() {\n    1\n}"),
])
def test_neovims_popup_leaves_a_valid_line_accepted_either_way(line, answer, accepted, entered):
    cursor = line.index("█")
    document, position = document_at(line)
    plain_line = line.replace("█", "")
    # The closers: the brackets and quotes right after the cursor that the answer writes.
    typed = plain_line[cursor:]
    count = len(typed) - len(typed.lstrip(")]}\"'"))
    item = completion_item(document, position, answer, end=Position(0, cursor + count),
                           formats=ClientFormats(snippets=True, range_end_ignored=True))
    assert item is not None
    assert _accepted(plain_line, item, with_additional=True) == accepted
    assert _accepted(plain_line, item, with_additional=False) == entered


def _capabilities(insert_replace: bool) -> types.ClientCapabilities:
    return types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            completion=types.CompletionClientCapabilities(
                completion_item=types.ClientCompletionItemOptions(
                    snippet_support=True, insert_replace_support=insert_replace or None
                )
            )
        )
    )


def test_only_neovims_own_popup_counts_as_ignoring_the_range_end():
    neovim = types.ClientInfo(name="Neovim", version="0.11.4")
    assert ClientFormats.of(_capabilities(False), neovim).range_end_ignored
    # nvim-cmp and blink.cmp apply ranges, and say insertReplaceSupport
    assert not ClientFormats.of(_capabilities(True), neovim).range_end_ignored
    assert not ClientFormats.of(_capabilities(False), None).range_end_ignored  # eglot, ALE
    code = types.ClientInfo(name="Visual Studio Code")
    assert not ClientFormats.of(_capabilities(True), code).range_end_ignored
