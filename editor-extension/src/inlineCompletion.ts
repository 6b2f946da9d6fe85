// Middleware around the standard LSP inline-completion feature: skips disabled languages,
// waits before asking only if the user set a client debounce (the server debounces typing),
// counts requests for the status bar and tells the event tracker what is shown.

import * as vscode from "vscode";
import type { Middleware } from "vscode-languageclient/node";
import { ClientSettings, clientDelayMs, completionEnabledFor } from "./config";
import { CompletionEventTracker, completionIdOf, remainingText } from "./events";
import { StatusModel } from "./status";

export function delay(ms: number, token: vscode.CancellationToken): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    const sub = token.onCancellationRequested(done);
    function done() {
      clearTimeout(timer);
      sub.dispose();
      resolve();
    }
  });
}

export function inlineCompletionMiddleware(
  settings: () => ClientSettings,
  status: StatusModel,
  tracker: CompletionEventTracker,
): Pick<Middleware, "provideInlineCompletionItems"> {
  return {
    provideInlineCompletionItems: async (document, position, context, token, next) => {
      const s = settings();
      if (!completionEnabledFor(s, document.languageId)) return null;
      const wait = clientDelayMs(s, context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke);
      if (wait > 0) {
        await delay(wait, token);
        if (token.isCancellationRequested) return null;
      }
      status.requestStarted();
      try {
        const result = await next(document, position, context, token);
        if (token.isCancellationRequested) return result;
        const items = Array.isArray(result) ? result : result?.items ?? [];
        const first = items[0];
        const id = first ? completionIdOf(first.command) : undefined;
        if (first && id) {
          const insert = typeof first.insertText === "string" ? first.insertText : first.insertText.value;
          const start = first.range?.start;
          const typed = start && start.isBefore(position) ? document.getText(new vscode.Range(start, position)) : "";
          tracker.shown({
            completionId: id,
            uri: document.uri.toString(),
            position: { line: position.line, character: position.character },
            remainingText: remainingText(insert, typed),
          });
        } else {
          tracker.shown(undefined);
        }
        return result;
      } finally {
        status.requestFinished();
      }
    },
  };
}
