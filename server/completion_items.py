"""The completion-popup fallback: one ``CompletionItem`` that a client's filter keeps.

For clients without inline completion (Neovim 0.11, Emacs, Vim) the suggestion goes into the
ordinary completion list. Clients filter that list by the word being typed (from the start
of the item's edit range to the cursor), so the item's edit starts at the start of that word
and inserts the word again plus the suggestion, and ``filterText`` starts with the word too.
The label is the resulting first line, the documentation the whole suggestion.

Where the client takes snippets the item is an escaped snippet: Neovim 0.11's
``vim.lsp.completion`` inserts only the first word of a plain-text item's edit, but expands
a snippet whole (indenting its new lines like the cursor's line, as LSP's
``InsertTextMode.AdjustIndentation`` says, so the text is made relative to that).

An answer that writes the closers the editor typed (``bar: str):`` at ``def foo(|)``) is
written whole, and its edit's range runs through those closers (one line, holding the cursor,
as LSP allows). Neovim 0.11's own popup (``vim.lsp.completion``, and its omnifunc) ignores
the end of that range: it takes out what it inserted and expands the text at the cursor, then
applies the item's ``additionalTextEdits``, but only when the item is accepted (``<C-y>``): an
item taken with ``<CR>`` keeps the word the popup inserted at the cursor. For it the edit
inserts the text up to where it writes the closers, at the cursor, and an additional edit
writes the rest after the closers (``a`` and ``.strip()`` for ``a).strip()`` at ``foo(|)``),
so either way the line stays valid; a text whose closers cannot be placed so is written
whole at the cursor, and an additional edit deletes the closers.
"""

from __future__ import annotations

from dataclasses import dataclass

from lsprotocol import types

from loomline.context.documents import Document
from loomline.context.lexing import BracketStack, tokens
from loomline.context.positions import Position, to_lf, with_line_ending
from loomline.server import convert


@dataclass(frozen=True, slots=True)
class ClientFormats:
    """What the client's completion items can carry."""

    markdown: bool = False
    snippets: bool = False
    markup: bool = False  # MarkupContent at all (else documentation is a plain string)
    # It inserts an item at the cursor whatever the end of its edit's range (Neovim 0.11's own
    # popup): what the edit replaces after the cursor goes in an additional edit instead.
    range_end_ignored: bool = False

    @classmethod
    def of(
        cls, capabilities: types.ClientCapabilities | None,
        client_info: types.ClientInfo | None = None,
    ) -> ClientFormats:
        try:
            item = capabilities.text_document.completion.completion_item  # type: ignore[union-attr]
        except AttributeError:
            item = None
        if item is None:
            return cls()
        formats = list(item.documentation_format or [])
        return cls(
            markdown=types.MarkupKind.Markdown in formats,
            snippets=bool(item.snippet_support),
            markup=bool(formats),
            # Popup plugins for Neovim (nvim-cmp, blink.cmp) apply ranges, and advertise
            # insertReplaceSupport; Neovim's own popup does neither.
            range_end_ignored=client_info is not None and client_info.name == "Neovim"
            and not item.insert_replace_support,
        )


def word_start(line: str, index: int) -> int:
    """Code-point index where the identifier ending at ``index`` of ``line`` starts."""
    start = min(index, len(line))
    while start > 0 and (line[start - 1].isalnum() or line[start - 1] in "_$"):
        start -= 1
    return start


def split_at_closers(
    text: str, closers: str, language_id: str | None
) -> tuple[str, str] | None:
    """``text`` as (before, after) the place it writes ``closers`` (the closers the editor typed
    after the cursor): the first token where they follow and every bracket ``text`` opened
    before is closed (strings and comments read as the language does). None when there is
    no such place."""
    if not closers:
        return None
    stack = BracketStack()
    for token in tokens(text, language_id):
        if not stack and text.startswith(closers, token.start):
            return text[: token.start], text[token.start + len(closers) :]
        if token.kind == "bracket" and not stack.push_or_pop(token.text):
            return None
    return None


def relative_indentation(text: str, indent: str) -> str:
    """``text`` with ``indent`` taken off its second and later lines (where they have it)."""
    if not indent:
        return text
    first, *rest = text.split("\n")
    return "\n".join([first, *(ln[len(indent) :] if ln.startswith(indent) else ln for ln in rest)])


def _documentation(
    document: Document, formats: ClientFormats, line: str, text: str
) -> types.MarkupContent | str:
    """The cursor's line as it would read with ``text``, in the richest format the client shows."""
    if formats.markdown:
        fence = "````" if "```" in line + text else "```"
        lang = document.language_id if document.language_id != "plaintext" else ""
        return types.MarkupContent(
            kind=types.MarkupKind.Markdown, value=f"{fence}{lang}\n{line}{text}\n{fence}"
        )
    if formats.markup:
        return types.MarkupContent(kind=types.MarkupKind.PlainText, value=line + text)
    return line + text


def completion_item(
    document: Document,
    position: Position,
    text: str,
    *,
    end: Position | None = None,
    formats: ClientFormats | None = None,
    prefer_snippet: bool = True,
    command: types.Command | None = None,
) -> types.CompletionItem | None:
    """The item that inserts ``text`` (the model's continuation, in the document's
    line ending) at ``position``, replacing the text up to ``end`` (on the same line: closers
    the editor typed that ``text`` writes itself; None: nothing). None when it would write
    nothing (a popup entry without text)."""
    formats = formats or ClientFormats()
    text = to_lf(text)  # read with \n breaks; written back in the document's own below
    position = document.lines.clamp(position)
    end = document.lines.clamp(end) if end is not None else position
    if end.line != position.line or end.character < position.character:
        end = position  # a completion item's edit is one line and holds the cursor
    offset = document.offset_at(position)
    line_start = document.lines.line_start(position.line)
    line = document.text[line_start:offset]
    after = document.text[document.offset_at(end) : document.lines.line_end(position.line)]
    extra_edits = None
    if end != position and formats.range_end_ignored:
        word, edit_end = "", position
        closers = document.text[offset : document.offset_at(end)]
        split = split_at_closers(text, closers, document.language_id)
        if split is not None and split[0].strip():
            # The text up to the closers at the cursor, what it writes after them by an
            # additional edit there: accepted without the additional edits (<CR> rather than
            # <C-y>) the line still reads right, only without that tail. (An answer that
            # writes nothing before the closers goes whole: an item shows some text.)
            text, tail = split
            if tail:
                extra_edits = [types.TextEdit(
                    range=types.Range(start=convert.lsp_position(end),
                                      end=convert.lsp_position(end)),
                    new_text=with_line_ending(tail, document.line_ending),
                )]
        else:
            # Its edit from the cursor: the client takes out only what it inserted, so the
            # document is as asked when it deletes the closers through the additional edit.
            extra_edits = [types.TextEdit(
                range=types.Range(start=convert.lsp_position(position),
                                  end=convert.lsp_position(end)),
                new_text="",
            )]
    else:
        word, edit_end = line[word_start(line, len(line)) :], end
    start = document.position_at(offset - len(word))
    new_text = word + text
    if not new_text.strip():
        return None
    snippet = prefer_snippet and formats.snippets
    multiline = "\n" in text
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    if snippet:
        # Snippet clients (VS Code, Neovim) indent every new line like the cursor's line.
        inserted = convert.snippet_escape(relative_indentation(new_text, indent)) + "$0"
    else:
        inserted = new_text
    inserted = with_line_ending(inserted, document.line_ending)
    documentation = _documentation(document, formats, line, text + to_lf(after))
    return types.CompletionItem(
        label=convert.first_line(new_text) or new_text.strip(),
        kind=types.CompletionItemKind.Snippet if multiline else types.CompletionItemKind.Text,
        detail="Loomline",
        documentation=documentation,
        filter_text=new_text,
        sort_text="0",
        preselect=True,
        insert_text_format=(
            types.InsertTextFormat.Snippet if snippet else types.InsertTextFormat.PlainText
        ),
        insert_text_mode=(
            None
            if not multiline
            else types.InsertTextMode.AdjustIndentation
            if snippet
            else types.InsertTextMode.AsIs  # the text has the indentation of its place
        ),
        text_edit=types.TextEdit(
            range=types.Range(
                start=convert.lsp_position(start), end=convert.lsp_position(edit_end)
            ),
            new_text=inserted,
        ),
        additional_text_edits=extra_edits,
        command=command,
    )
