"""The params of Copilot's ``textDocument/copilotInlineEdit`` as a typed request, so the
transport's gate reads them strictly (server/strict_params.py) and answers a bad field with
Invalid params (-32602) naming it, as for the LSP's own requests.

Shape (copilot-lsp, sidekick.nvim): ``{textDocument: {uri, version?}, position: {line,
character}, context?: {triggerKind: 1 | 2}}``; copilot-lsp omits ``context``.
"""

from __future__ import annotations

from typing import Any

import attrs
from lsprotocol import types

from loomline.server.methods import COPILOT_INLINE_EDIT_REQUEST


@attrs.define
class CopilotInlineEditContext:
    """Why the edit was asked for: invoked by the user (1) or automatic (2)."""

    trigger_kind: types.InlineCompletionTriggerKind = attrs.field()


@attrs.define
class CopilotInlineEditParams:
    """The document (its version optional), the cursor, and optionally the context."""

    text_document: types.OptionalVersionedTextDocumentIdentifier = attrs.field()
    position: types.Position = attrs.field()
    context: CopilotInlineEditContext | None = attrs.field(default=None)

    @property
    def invoked(self) -> bool:
        return (self.context is not None
                and self.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked)


@attrs.define
class CopilotInlineEditRequest:
    """The whole request message, as lsprotocol defines one per LSP method."""

    id: int | str = attrs.field()
    params: CopilotInlineEditParams = attrs.field()
    method: str = COPILOT_INLINE_EDIT_REQUEST
    jsonrpc: str = attrs.field(default="2.0")


# Message types of the methods Loomline adds to the LSP, for ``get_message_type``.
MESSAGE_TYPES: dict[str, type[Any]] = {COPILOT_INLINE_EDIT_REQUEST: CopilotInlineEditRequest}
