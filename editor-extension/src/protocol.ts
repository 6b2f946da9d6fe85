// Loomline's own protocol on top of LSP: every custom notification and server command, with
// its params and result. The server's mirror is server/methods.py (the same constant names and
// values); tests/unit/test_protocol_names.py holds the two files to each other.
// No vscode import here (type-only imports vanish when compiled).

import type { Position, Range, WorkspaceEdit } from "vscode-languageclient";

// ---- notifications ---------------------------------------------------------------------------

/** Server -> client: what the engine is doing, for the status bar. Params: `ServerStatus`. */
export const STATUS_NOTIFICATION = "loomline/status";

/** Client -> server: what became of a shown completion. Params: `LoomlineEvent`. */
export const EVENT_NOTIFICATION = "loomline/event";

export type ServerStateName = "loading" | "ready" | "thinking" | "error" | "disabled";

export interface ServerStatus {
  state: ServerStateName;
  message?: string;
  model?: string;
  backend?: string;
  /** 0-100 while loading. */
  progress?: number;
  /** The LoRA adapter the last completion used (its name); absent for the base model. */
  adapter?: string;
}

export type EventType = "accept" | "dismiss" | "partialAccept";

export interface LoomlineEvent {
  type: EventType;
  completionId: string;
  /** partialAccept: how many UTF-16 code units of the suggestion were taken. */
  acceptedLength?: number;
}

// ---- commands (workspace/executeCommand) -----------------------------------------------------

/** The command each completion item carries. Arguments: `[completionId]`. Result: null. */
export const ACCEPT_COMMAND = "loomline.accept";

/** The prompt a completion at a position would send. Arguments: `[ShowContextArgs]`. */
export const SHOW_CONTEXT_COMMAND = "loomline.showContext";

/** Counters of recent work, for troubleshooting and tests. Arguments: `[]`. */
export const STATS_COMMAND = "loomline.stats";

/** The server's copy of a document, to check against the editor's. Arguments: `[{textDocument}]`. */
export const DOCUMENT_TEXT_COMMAND = "loomline.documentText";

/** Code from an instruction, streamed into the document with workspace/applyEdit. */
export const GENERATE_COMMAND = "loomline.generate";

/** Like generate with a range; the instruction defaults to the server's "Improve this code". */
export const REWRITE_SELECTION_COMMAND = "loomline.rewriteSelection";

// ---- other servers' methods Loomline answers (GitHub Copilot's next edit suggestions) --------

/** Next edit suggestions. Params: `InlineEditParams`. Result: `InlineEditResult`. */
export const COPILOT_INLINE_EDIT_REQUEST = "textDocument/copilotInlineEdit";

/** Client -> server: a next edit was shown. Params: `{ item: InlineEdit }`. */
export const DID_SHOW_INLINE_EDIT_NOTIFICATION = "textDocument/didShowInlineEdit";

/** Client -> server: the document the user looks at. Params: `{ textDocument?: { uri } }`. */
export const DID_FOCUS_NOTIFICATION = "textDocument/didFocus";

export interface InlineEditParams {
  textDocument: { uri: string; version: number };
  position: Position;
  /** 1: the user asked (no wait for a pause), 2: automatic. */
  context?: { triggerKind: number };
}

/** Replace `range` of the document at `textDocument.version` with `text`. */
export interface InlineEdit {
  range: Range;
  text: string;
  textDocument: { uri: string; version: number };
  /** Sent back (workspace/executeCommand) when the edit is accepted. */
  command?: { title: string; command: string; arguments?: unknown[] };
}

export interface InlineEditResult {
  edits: InlineEdit[];
}

export interface TextDocumentRef {
  uri: string;
}

export interface ShowContextArgs {
  textDocument: TextDocumentRef;
  position: Position;
}

export interface ContextPiece {
  source: string;
  reason: string;
  kind: string;
  text: string;
  tokens: number;
}

/** The prompt a next edit at the position would send (see `ContextResult.nextEdit`). */
export interface NextEditContext {
  prompt: string;
  format: string;
  promptTokens: number;
  /** The editable window: its first line and the line after its last (0-based). */
  window: { startLine: number; endLine: number };
  edits: { path: string; diff: string }[];
  skip?: string | null;
}

export interface ContextResult {
  /** The next-edit prompt for the same position (null when next edits are off). */
  nextEdit?: NextEditContext | null;
  prompt: string;
  pieces: ContextPiece[];
  template: string;
  promptTokens: number;
  /** Why a completion here would be refused, if it would. */
  skip?: string | null;
  /** The LoRA adapter a completion here uses (its name); null for the base model. */
  adapter?: string | null;
  multiline?: boolean;
  tokenizer?: string;
  dropped?: { source: string; reason: string }[];
}

/** Insert at `position`, or rewrite `range`. */
export interface GenerateArgs {
  textDocument: TextDocumentRef;
  instruction?: string;
  position?: Position;
  range?: Range;
  maxTokens?: number;
}

export interface GenerateResult {
  applied: boolean;
  text: string;
  cancelled?: boolean;
  /** For clients without workspace/applyEdit: the whole edit at once. */
  edit?: WorkspaceEdit | null;
  error?: string;
}

export interface DocumentTextResult {
  text: string;
  version: number;
  languageId: string;
  lineEnding: "\n" | "\r\n" | "\r";
  /** The document's indentation step ("\t" or spaces); null while no line is indented. */
  indentUnit: string | null;
  /** False after an edit the server could not apply, until the editor sends the whole text. */
  inSync: boolean;
}

export interface StatsResult {
  engine: string | null;
  state: string | null;
  message: string | null;
  /** The completion service's counters (requests, completions, debounced, …). */
  [counter: string]: unknown;
}

/** Each server command's arguments and result, for typed `workspace/executeCommand` calls. */
export interface ServerCommands {
  [ACCEPT_COMMAND]: { args: [completionId: string]; result: null };
  [SHOW_CONTEXT_COMMAND]: { args: [ShowContextArgs]; result: ContextResult | null };
  [STATS_COMMAND]: { args: []; result: StatsResult };
  [DOCUMENT_TEXT_COMMAND]: { args: [{ textDocument: TextDocumentRef }]; result: DocumentTextResult | null };
  [GENERATE_COMMAND]: { args: [GenerateArgs]; result: GenerateResult };
  [REWRITE_SELECTION_COMMAND]: { args: [GenerateArgs]; result: GenerateResult };
}

export type ServerCommand = keyof ServerCommands;
