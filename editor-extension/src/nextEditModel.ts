// Next edit suggestions (`textDocument/copilotInlineEdit`): what to show and what Tab does,
// without VS Code (nextEdit.ts draws it). Positions are LSP's: 0-based lines, UTF-16 columns,
// the same units as VS Code's. No vscode import here.

import type { InlineEdit, LoomlineEvent } from "./protocol";
import { ACCEPT_COMMAND } from "./protocol";
import type { Pos } from "./events";

export interface NextEdit {
  /** The server's id for accept/dismiss events (the edit command's argument). */
  id: string | undefined;
  uri: string;
  version: number;
  start: Pos;
  end: Pos;
  text: string;
  /** The command to run on the server when it is accepted (`loomline.accept`). */
  command: InlineEdit["command"];
}

/** The first edit of a copilotInlineEdit result, checked; undefined for none or a bad shape. */
export function firstEdit(result: unknown): NextEdit | undefined {
  const edits = (result as { edits?: unknown } | null | undefined)?.edits;
  const edit = Array.isArray(edits) ? (edits[0] as Partial<InlineEdit> | undefined) : undefined;
  const range = edit?.range;
  if (!edit || !range || typeof edit.text !== "string" || !edit.textDocument) return undefined;
  const arg = edit.command?.command === ACCEPT_COMMAND ? edit.command.arguments?.[0] : undefined;
  return {
    id: typeof arg === "string" || typeof arg === "number" ? String(arg) : undefined,
    uri: edit.textDocument.uri,
    version: edit.textDocument.version,
    start: { line: range.start.line, character: range.start.character },
    end: { line: range.end.line, character: range.end.character },
    text: edit.text,
    command: edit.command,
  };
}

const WORD_BEFORE = /[\p{L}\p{N}_]*$/u;
const WORD_AFTER = /^[\p{L}\p{N}_]*/u;

/**
 * The same edit with its range grown to whole words on its first and last line. Servers send
 * the smallest change (`r` -> `radius` as `adius` inserted after the `r`), which reads badly
 * when shown; the grown edit has the same effect. A word the new text leaves on a line of its
 * own (the text starts or ends with a line break: whole lines inserted) is not part of the
 * change and stays out. `lineAt(n)`: the document's line n.
 */
export function widenToWords(edit: NextEdit, lineAt: (line: number) => string): NextEdit {
  const head = /^[\r\n]/.test(edit.text) ? ""
    : lineAt(edit.start.line).slice(0, edit.start.character).match(WORD_BEFORE)?.[0] ?? "";
  const tail = /[\r\n]$/.test(edit.text) ? ""
    : lineAt(edit.end.line).slice(edit.end.character).match(WORD_AFTER)?.[0] ?? "";
  if (!head && !tail) return edit;
  return {
    ...edit,
    start: { line: edit.start.line, character: edit.start.character - head.length },
    end: { line: edit.end.line, character: edit.end.character + tail.length },
    text: head + edit.text + tail,
  };
}

/** An edit that touches the cursor's line: the inline completion shows it as ghost text. */
export function touchesLine(edit: NextEdit, line: number): boolean {
  return edit.start.line <= line && line <= edit.end.line;
}

/** The new text on one line, for an after-text decoration (line breaks shown as ⏎). */
export function previewText(text: string, max = 120): string {
  if (text === "") return "⌫ (delete)";
  const one = text.replace(/\r\n|\r|\n/g, " ⏎ ");
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

const LINE_BREAK = /\r\n|\r|\n/;

/**
 * The text of the hover: the lines the edit touches as they read now (`-`) and as they will
 * read once accepted (`+`), as a diff. `before` / `after`: the text of the edit's first line
 * before it and of its last line after it, so the lines show whole (indentation included);
 * lines the edit leaves as they are (a whole line inserted before another) show as context.
 */
export function hoverDiff(oldText: string, newText: string, before = "", after = ""): string {
  const old = `${before}${oldText}${after}`.split(LINE_BREAK);
  const now = `${before}${newText}${after}`.split(LINE_BREAK);
  let head = 0;
  while (head < old.length && head < now.length && old[head] === now[head]) head++;
  let tail = 0;
  while (tail < old.length - head && tail < now.length - head
    && old[old.length - 1 - tail] === now[now.length - 1 - tail]) tail++;
  const context = (lines: string[]) => lines.map((l) => `  ${l}`);
  const minus = old.slice(head, old.length - tail).map((l) => `- ${l}`);
  const plus = now.slice(head, now.length - tail).map((l) => `+ ${l}`);
  return ["```diff", ...context(old.slice(0, head)), ...minus, ...plus,
    ...context(old.slice(old.length - tail)), "```", "",
    "**Tab** to jump there, **Tab** again to accept, **Esc** to dismiss"].join("\n");
}

export type TabAction = "jump" | "accept";

/** Tab away from the edit goes to it; Tab at it (or after a jump) accepts it. */
export function tabAction(edit: NextEdit, cursor: Pos, jumped: boolean): TabAction {
  return jumped || touchesLine(edit, cursor.line) ? "accept" : "jump";
}

/**
 * What is shown and what became of it. Shown, accepted and dismissed reach the server as the
 * clients of Copilot's method tell it (didShowInlineEdit, the edit's command) and as dismissed
 * completions are told (`loomline/event` dismiss), once per suggestion.
 */
export class NextEditSession {
  private shown: { edit: NextEdit; jumped: boolean; line: number } | undefined;

  constructor(
    private readonly send: {
      shown(edit: NextEdit): void;
      accepted(edit: NextEdit): void;
      event(event: LoomlineEvent): void;
    },
  ) {}

  get current(): NextEdit | undefined {
    return this.shown?.edit;
  }

  /** `line`: the cursor's line when it is shown (moving off it and off the edit dismisses). */
  show(edit: NextEdit, line: number): void {
    this.dismiss();
    this.shown = { edit, jumped: false, line };
    this.send.shown(edit);
  }

  /** Tab: "jump" (the caller moves the cursor to the edit's start) or "accept" (the caller applies it). */
  tab(cursor: Pos): { action: TabAction; edit: NextEdit } | undefined {
    const s = this.shown;
    if (!s) return undefined;
    const action = tabAction(s.edit, cursor, s.jumped);
    if (action === "jump") {
      s.jumped = true;
      s.line = s.edit.start.line;
    } else {
      this.shown = undefined;
    }
    return { action, edit: s.edit };
  }

  /** The caller applied the edit (after `tab` said accept). */
  accepted(edit: NextEdit): void {
    this.send.accepted(edit);
  }

  /** Esc, a change, another editor: gone. True if something was shown. */
  dismiss(): boolean {
    const s = this.shown;
    if (!s) return false;
    this.shown = undefined;
    if (s.edit.id) this.send.event({ type: "dismiss", completionId: s.edit.id });
    return true;
  }

  /** The cursor moved: to another line that is not the edit's, it dismisses. */
  cursorMoved(uri: string, cursor: Pos): boolean {
    const s = this.shown;
    if (!s) return false;
    if (uri === s.edit.uri && (cursor.line === s.line || touchesLine(s.edit, cursor.line))) return false;
    return this.dismiss();
  }
}
