"""Loomline's own protocol on top of LSP: the name of every custom notification and command.

Also the names of other servers' methods Loomline answers (Copilot's next edit suggestions).
The client's mirror is ``editor-extension/src/protocol.ts`` (the same constant names and
values, with the params and results as TypeScript types); ``tests/unit/test_protocol_names.py``
holds the two files to each other and checks that no other module spells a name out.
"""

from __future__ import annotations

# ---- notifications ----------------------------------------------------------------------
#: Server -> client: ``{state, message, model, backend, progress?, adapter?}`` (state: loading,
#: ready, thinking, error or disabled; progress 0-100 while loading; adapter: the LoRA adapter
#: of the last completion, absent for the base model). Sent by ``status.py``.
STATUS_NOTIFICATION = "loomline/status"

#: Client -> server: ``{type, completionId, acceptedLength?}`` (type: accept, dismiss or
#: partialAccept). Kept on this machine only.
EVENT_NOTIFICATION = "loomline/event"

# ---- commands (workspace/executeCommand) ------------------------------------------------
#: The command each completion item carries. Arguments: ``[completionId]``. Result: null.
ACCEPT_COMMAND = "loomline.accept"

#: The prompt a completion at a position would send. Arguments:
#: ``[{textDocument: {uri}, position}]``. Result: ``{prompt, template, promptTokens, pieces,
#: skip, adapter, multiline, tokenizer, dropped}`` or null (adapter: the LoRA adapter's name,
#: null for the base model).
SHOW_CONTEXT_COMMAND = "loomline.showContext"

#: Counters of recent work. Arguments: ``[]``. Result: ``{engine, state, message, ...}``.
STATS_COMMAND = "loomline.stats"

#: The server's copy of a document, to check it against the editor's (troubleshooting, tests).
#: Arguments: ``[{textDocument: {uri}}]``. Result: ``{text, version, languageId, lineEnding,
#: indentUnit, inSync}`` or null for a document that is not open (inSync: false after an edit
#: the server could not apply, until the editor sends the whole text).
DOCUMENT_TEXT_COMMAND = "loomline.documentText"

#: Code from an instruction, streamed in with workspace/applyEdit. Arguments:
#: ``[{textDocument: {uri}, instruction, position? | range?, maxTokens?}]``.
#: Result: ``{applied, text, cancelled?, edit?, error?}``.
GENERATE_COMMAND = "loomline.generate"

#: Like generate with a range; the instruction defaults to "Improve this code".
REWRITE_SELECTION_COMMAND = "loomline.rewriteSelection"

# ---- requests and notifications of other servers' protocols that Loomline speaks ----------
#: Next edit suggestions, as GitHub Copilot's language server names them (clients such as
#: copilot-lsp and sidekick.nvim speak it to any server). Params: ``{textDocument: {uri,
#: version}, position, context?: {triggerKind}}``. Result: ``{edits: [{range, text,
#: textDocument: {uri, version}, command?}]}`` (``text`` replaces ``range``; empty: none).
COPILOT_INLINE_EDIT_REQUEST = "textDocument/copilotInlineEdit"

#: Client -> server: a next edit was shown. Params: ``{item: {command?, ...}}``.
DID_SHOW_INLINE_EDIT_NOTIFICATION = "textDocument/didShowInlineEdit"

#: Client -> server: the document the user looks at. Params: ``{textDocument?: {uri}}``.
DID_FOCUS_NOTIFICATION = "textDocument/didFocus"

NOTIFICATIONS = (STATUS_NOTIFICATION, EVENT_NOTIFICATION)
REQUESTS = (COPILOT_INLINE_EDIT_REQUEST,)
FOREIGN_NOTIFICATIONS = (DID_SHOW_INLINE_EDIT_NOTIFICATION, DID_FOCUS_NOTIFICATION)
COMMANDS = (
    ACCEPT_COMMAND,
    SHOW_CONTEXT_COMMAND,
    STATS_COMMAND,
    DOCUMENT_TEXT_COMMAND,
    GENERATE_COMMAND,
    REWRITE_SELECTION_COMMAND,
)
