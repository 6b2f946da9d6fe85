// "Loomline: Generate Code from Instruction": asks for an instruction, then runs the server's
// `loomline.generate`, which streams the code into the document with workspace/applyEdit.
// A cancellable notification shows the server's progress; Cancel cancels the request.

import { randomUUID } from "crypto";
import * as vscode from "vscode";
import { WorkDoneProgress } from "vscode-languageclient/node";
import { LoomlineClient } from "./client";
import { GENERATE_COMMAND, GenerateArgs, GenerateResult } from "./protocol";

export class GenerateCodeFeature {
  private lastInstruction = "";

  constructor(
    private readonly client: LoomlineClient,
    private readonly output: vscode.LogOutputChannel,
  ) {}

  async run(instructionArg?: string): Promise<GenerateResult | undefined> {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showWarningMessage("Loomline: open a file and place the cursor where the code should go.");
      return undefined;
    }
    const lc = this.client.languageClient;
    if (!lc) {
      void vscode.window.showErrorMessage('Loomline: the server is not running. Run "Loomline: Restart Server" or see the output.');
      return undefined;
    }
    const instruction =
      typeof instructionArg === "string" && instructionArg.trim()
        ? instructionArg
        : await vscode.window.showInputBox({
            title: "Loomline: Generate Code",
            prompt: editor.selection.isEmpty
              ? "What should be written at the cursor?"
              : "How should the selected code be rewritten?",
            placeHolder: "e.g. a function that returns the n-th Fibonacci number",
            value: this.lastInstruction,
            ignoreFocusOut: true,
          });
    if (!instruction || !instruction.trim()) return undefined;
    this.lastInstruction = instruction;

    const c2p = lc.code2ProtocolConverter;
    const args: GenerateArgs = {
      textDocument: { uri: c2p.asUri(editor.document.uri) },
      instruction,
    };
    if (editor.selection.isEmpty) args.position = c2p.asPosition(editor.selection.active);
    else args.range = c2p.asRange(editor.selection);

    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: "Loomline", cancellable: true },
      async (progress, token) => {
        progress.report({ message: "Generating code…" });
        const workDoneToken = randomUUID();
        let reported = 0;
        const sub = lc.onProgress(WorkDoneProgress.type, workDoneToken, (value) => {
          if (value.kind === "end") return;
          const increment =
            typeof value.percentage === "number" ? Math.max(0, value.percentage - reported) : undefined;
          if (typeof value.percentage === "number") reported = Math.max(reported, value.percentage);
          progress.report({ message: value.message ? `Generating code… ${value.message}` : "Generating code…", increment });
        });
        try {
          const result = await this.client.executeServerCommand(
            GENERATE_COMMAND,
            [args],
            token,
            workDoneToken,
          );
          if (token.isCancellationRequested) {
            this.output.info("Generation cancelled.");
            return undefined;
          }
          if (!result?.applied) {
            // The server says why in its own message; a brief note here avoids a second toast.
            vscode.window.setStatusBarMessage("$(info) Loomline: no code was generated", 8000);
          }
          this.output.info(`Generated ${result?.text.length ?? 0} characters (applied: ${result?.applied ?? false}).`);
          return result ?? undefined;
        } catch (error) {
          if (token.isCancellationRequested) {
            this.output.info("Generation cancelled.");
            return undefined;
          }
          const message = error instanceof Error ? error.message : String(error);
          this.output.error(`Generate failed: ${message}`);
          void vscode.window.showErrorMessage(`Loomline: code generation failed: ${message}`);
          return undefined;
        } finally {
          sub.dispose();
        }
      },
    );
  }
}
