// Accept / dismiss / partial-accept reporting (`loomline/event`, kept locally by the server).
//
// VS Code's stable API tells an extension only about full accepts (the item's command runs).
// The rest is read from the editor: while a completion is shown, text typed or accepted word by
// word at the cursor that matches the suggestion is a partial accept; anything else (another
// edit, the cursor moving away, Escape, a new suggestion) ends it as a dismiss, or as a partial
// accept if some of it was taken. The end is reported after a short delay, so the full accept's
// command (which VS Code runs right after inserting the text) wins over the edit it follows.
// No vscode import here.

import { ACCEPT_COMMAND, LoomlineEvent } from "./protocol";

export interface Pos {
  line: number;
  character: number;
}

export interface ShownCompletion {
  completionId: string;
  uri: string;
  /** The cursor when it was shown: where the not-yet-typed text would go. */
  position: Pos;
  /** The suggestion's text from the cursor on (what is still ghost text). */
  remainingText: string;
}

export interface TextChange {
  uri: string;
  start: Pos;
  rangeLength: number;
  text: string;
}

export type Scheduler = (fn: () => void, ms: number) => { cancel(): void };

export const defaultScheduler: Scheduler = (fn, ms) => {
  const t = setTimeout(fn, ms);
  return { cancel: () => clearTimeout(t) };
};

/** The completion id from an item's command `{command: "loomline.accept", arguments: [id]}`. */
export function completionIdOf(command: { command?: string; arguments?: unknown[] } | undefined): string | undefined {
  if (!command || command.command !== ACCEPT_COMMAND) return undefined;
  const id = command.arguments?.[0];
  if (typeof id === "string" && id) return id;
  if (typeof id === "number") return String(id);
  return undefined;
}

/** The part of `insertText` not yet in the document, given the text between the item's range start and the cursor. */
export function remainingText(insertText: string, alreadyTyped: string): string {
  return alreadyTyped && insertText.startsWith(alreadyTyped) ? insertText.slice(alreadyTyped.length) : insertText;
}

/** The position after inserting `text` at `pos` (UTF-16 code units, like LSP and VS Code). */
export function advance(pos: Pos, text: string): Pos {
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.length === 1) return { line: pos.line, character: pos.character + text.length };
  return { line: pos.line + lines.length - 1, character: lines[lines.length - 1].length };
}

function samePos(a: Pos, b: Pos): boolean {
  return a.line === b.line && a.character === b.character;
}

interface Pending {
  completionId: string;
  uri: string;
  position: Pos;
  remaining: string;
  accepted: number;
  ending?: { cancel(): void };
}

export class CompletionEventTracker {
  private pending: Pending | undefined;
  private readonly reported = new Set<string>();

  constructor(
    private readonly send: (event: LoomlineEvent) => void,
    private readonly scheduler: Scheduler = defaultScheduler,
    private readonly settleMs = 300,
  ) {}

  /** A suggestion is on screen (or none: undefined). Ends the previous one. */
  shown(completion: ShownCompletion | undefined): void {
    if (this.pending && completion && this.pending.completionId === completion.completionId) return;
    this.endNow();
    if (!completion || this.reported.has(completion.completionId)) return;
    this.pending = {
      completionId: completion.completionId,
      uri: completion.uri,
      position: completion.position,
      remaining: completion.remainingText,
      accepted: 0,
    };
  }

  /**
   * The item's accept command ran (Tab): a full accept. `recordedByServer`: the server ran the
   * command itself (it advertises `loomline.accept`) and has recorded it, so no event is sent.
   */
  accepted(completionId: string, recordedByServer = false): void {
    const p = this.pending;
    if (p && p.completionId === completionId) {
      p.ending?.cancel();
      this.pending = undefined;
    }
    this.report({ type: "accept", completionId }, !recordedByServer);
  }

  /** Escape (or another explicit dismissal) while a suggestion is shown. */
  dismissed(): void {
    this.endNow();
  }

  documentChanged(change: TextChange): void {
    const p = this.pending;
    if (!p || p.ending || change.uri !== p.uri) return;
    const taken =
      change.rangeLength === 0 &&
      change.text.length > 0 &&
      samePos(change.start, p.position) &&
      p.remaining.startsWith(change.text);
    if (!taken) {
      this.endSoon();
      return;
    }
    p.accepted += change.text.length;
    p.position = advance(p.position, change.text);
    p.remaining = p.remaining.slice(change.text.length);
    if (p.remaining.length === 0) this.endSoon();
  }

  /** The cursor moved (only the primary cursor matters). */
  selectionChanged(uri: string, position: Pos): void {
    const p = this.pending;
    if (!p || p.ending) return;
    if (uri !== p.uri || !samePos(position, p.position)) this.endSoon();
  }

  /** The active editor changed, or the extension is going away. */
  flush(): void {
    this.endNow();
  }

  /** A new server session: its ids may repeat the old one's, and what was shown is gone. */
  reset(): void {
    this.pending?.ending?.cancel();
    this.pending = undefined;
    this.reported.clear();
  }

  /** The id still being watched, if any (for tests and logs). */
  get current(): string | undefined {
    return this.pending?.completionId;
  }

  private endSoon(): void {
    const p = this.pending;
    if (!p || p.ending) return;
    p.ending = this.scheduler(() => {
      if (this.pending === p) this.pending = undefined;
      this.finish(p);
    }, this.settleMs);
  }

  private endNow(): void {
    const p = this.pending;
    if (!p) return;
    p.ending?.cancel();
    this.pending = undefined;
    this.finish(p);
  }

  private finish(p: Pending): void {
    if (p.remaining.length === 0 && p.accepted > 0) {
      this.report({ type: "accept", completionId: p.completionId });
    } else if (p.accepted > 0) {
      this.report({ type: "partialAccept", completionId: p.completionId, acceptedLength: p.accepted });
    } else {
      this.report({ type: "dismiss", completionId: p.completionId });
    }
  }

  private report(event: LoomlineEvent, send = true): void {
    if (this.reported.has(event.completionId)) return;
    this.reported.add(event.completionId);
    if (this.reported.size > 1000) {
      const oldest = this.reported.values().next().value;
      if (oldest !== undefined) this.reported.delete(oldest);
    }
    if (send) this.send(event);
  }
}
