// Formats the server's `loomline.showContext` answer as a readable Markdown document.
// No vscode import here.

import { ContextResult } from "./protocol";

/** The part of the answer the report shows. */
export type ContextReport = Pick<
  ContextResult,
  "prompt" | "pieces" | "template" | "promptTokens" | "adapter"
>;

/** Validates the answer's shape; missing fields become empty values. */
export function parseContextResult(raw: unknown): ContextReport {
  const r = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
  const pieces = Array.isArray(r.pieces) ? r.pieces : [];
  return {
    prompt: typeof r.prompt === "string" ? r.prompt : "",
    template: typeof r.template === "string" ? r.template : "",
    promptTokens: typeof r.promptTokens === "number" ? r.promptTokens : 0,
    adapter: typeof r.adapter === "string" && r.adapter ? r.adapter : null,
    pieces: pieces.map((p) => {
      const q = (p && typeof p === "object" ? p : {}) as Record<string, unknown>;
      return {
        source: typeof q.source === "string" ? q.source : "",
        reason: typeof q.reason === "string" ? q.reason : "",
        kind: typeof q.kind === "string" ? q.kind : "",
        text: typeof q.text === "string" ? q.text : "",
        tokens: typeof q.tokens === "number" ? q.tokens : 0,
      };
    }),
  };
}

/** A fence longer than any backtick run in the text, so code never closes it early. */
export function fence(text: string): string {
  let longest = 0;
  for (const m of text.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  return "`".repeat(Math.max(3, longest + 1));
}

function block(text: string, lang = ""): string {
  const f = fence(text);
  return `${f}${lang}\n${text}${text.endsWith("\n") ? "" : "\n"}${f}`;
}

export interface ReportMeta {
  file: string;
  line: number; // 1-based, for people
  character: number; // 1-based
  languageId?: string;
}

export function formatContextReport(result: ContextReport, meta: ReportMeta): string {
  const lang = meta.languageId ?? "";
  const out: string[] = [];
  out.push(`# Loomline completion context`);
  out.push("");
  out.push(`- Position: \`${meta.file}\` line ${meta.line}, column ${meta.character}`);
  out.push(`- Template: ${result.template || "(unknown)"}`);
  out.push(`- LoRA adapter: ${result.adapter || "none (the base model)"}`);
  out.push(`- Prompt tokens: ${result.promptTokens}`);
  out.push(`- Pieces: ${result.pieces.length}`);
  out.push("");
  out.push(`## Pieces`);
  out.push("");
  if (result.pieces.length === 0) {
    out.push("_No context from other files: the prompt holds only the text around the cursor._");
    out.push("");
  }
  result.pieces.forEach((p, i) => {
    out.push(`### ${i + 1}. ${p.source || "(unknown source)"}`);
    out.push("");
    out.push(`- Kind: ${p.kind || "-"}`);
    out.push(`- Why: ${p.reason || "-"}`);
    out.push(`- Tokens: ${p.tokens}`);
    out.push("");
    out.push(block(p.text, lang));
    out.push("");
  });
  out.push(`## Full prompt`);
  out.push("");
  out.push(block(result.prompt));
  out.push("");
  return out.join("\n");
}
