// The language client: starts `loomline lsp` over stdio, sends the settings as
// initializationOptions, relays `loomline/status` to the status model and offers the server's
// requests to the feature classes. A server that cannot start gives one clear message with the fix.

import * as os from "os";
import * as vscode from "vscode";
import {
  CloseAction,
  DidChangeConfigurationNotification,
  ErrorAction,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  Middleware,
  RevealOutputChannelOn,
  ServerOptions,
  State,
  TransportKind,
} from "vscode-languageclient/node";
import {
  ServerLaunch,
  describeLaunch,
  resolveServerLaunch,
  startFailureMessage,
  toClientSettings,
  toServerSettings,
} from "./config";
import { EVENT_NOTIFICATION, LoomlineEvent, STATUS_NOTIFICATION, ServerCommand, ServerCommands } from "./protocol";
import { StatusModel, parseServerStatus } from "./status";

/** A LanguageClient that leaves the "could not start" notification to us (ours says how to fix it). */
class LoomlineLanguageClient extends LanguageClient {
  override error(message: string, data?: unknown, showNotification: boolean | "force" = true): void {
    const ours = /couldn't create connection to server/.test(message);
    super.error(message, data, ours ? false : showNotification);
  }
}

export function loomlineConfig(): (key: string) => unknown {
  const cfg = vscode.workspace.getConfiguration("loomline");
  return (key) => cfg.get(key);
}

export class LoomlineClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private launch: ServerLaunch | undefined;
  private readonly sessionDisposables: vscode.Disposable[] = [];
  private starting: Promise<void> | undefined;
  private crashes: number[] = [];

  constructor(
    private readonly output: vscode.LogOutputChannel,
    private readonly status: StatusModel,
    private readonly middleware: Middleware,
    /** Runs after each successful start with the live client (e.g. to register commands). */
    private readonly onStarted: (client: LanguageClient) => vscode.Disposable[] = () => [],
  ) {}

  get languageClient(): LanguageClient | undefined {
    return this.client?.state === State.Running ? this.client : undefined;
  }

  async start(): Promise<void> {
    if (this.starting) return this.starting;
    this.starting = this.doStart().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const get = loomlineConfig();
    const clientSettings = toClientSettings(get);
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const launch = resolveServerLaunch(clientSettings, { workspaceFolder: folder, home: os.homedir() });
    this.launch = launch;
    const serverOptions: ServerOptions = {
      command: launch.command,
      args: launch.args,
      transport: TransportKind.stdio,
      options: { env: { ...process.env, ...launch.env }, cwd: folder },
    };
    const clientOptions: LanguageClientOptions = {
      // Files, unsaved new files and notebook cells (synced by the server's notebookDocumentSync,
      // each cell given the earlier ones); not virtual documents such as the context report.
      documentSelector: [{ scheme: "file" }, { scheme: "untitled" }, { scheme: "vscode-notebook-cell" }],
      initializationOptions: toServerSettings(get),
      outputChannel: this.output,
      traceOutputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      middleware: this.middleware,
      initializationFailedHandler: (error) => {
        this.fail(error);
        return false;
      },
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue }),
        closed: () => this.onClosed(),
      },
    };
    this.output.info(`Starting the server: ${describeLaunch(launch)}`);
    this.status.starting();
    const client = new LoomlineLanguageClient("loomline", "Loomline", serverOptions, clientOptions);
    this.client = client;
    this.sessionDisposables.push(
      client.onNotification(STATUS_NOTIFICATION, (params: unknown) => {
        const s = parseServerStatus(params);
        if (s) this.status.serverStatus(s);
      }),
    );
    try {
      await client.start();
    } catch (error) {
      if (this.client === client) this.fail(error);
      return;
    }
    this.status.running();
    this.sessionDisposables.push(...this.onStarted(client));
    this.output.info("The server is running.");
  }

  private onClosed(): { action: CloseAction; message?: string } {
    const now = Date.now();
    this.crashes = [...this.crashes.filter((t) => now - t < 180_000), now];
    if (this.crashes.length > 3) {
      const message = `The Loomline server stopped ${this.crashes.length} times in 3 minutes, so it is not restarted. See the "Loomline" output channel, fix the cause, then run "Loomline: Restart Server".`;
      this.status.failed(message);
      void this.showFailure(message);
      return { action: CloseAction.DoNotRestart, message };
    }
    this.output.warn("The server stopped; restarting it.");
    this.status.starting();
    return { action: CloseAction.Restart };
  }

  private fail(error: unknown): void {
    const message = this.launch ? startFailureMessage(error, this.launch) : String(error);
    this.output.error(message);
    this.status.failed(message);
    void this.showFailure(message);
  }

  private async showFailure(message: string): Promise<void> {
    const choice = await vscode.window.showErrorMessage(message, "Open Settings", "Show Output", "Restart");
    if (choice === "Open Settings") await vscode.commands.executeCommand("workbench.action.openSettings", "loomline.server");
    else if (choice === "Show Output") this.output.show();
    else if (choice === "Restart") await this.restart();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.sessionDisposables.splice(0).forEach((d) => d.dispose());
    if (client && client.state !== State.Stopped) {
      try {
        await client.stop(5000);
      } catch (error) {
        this.output.warn(`Stopping the server: ${String(error)}`);
      }
    }
    this.status.stopped();
  }

  async restart(): Promise<void> {
    this.output.info("Restarting the server.");
    this.crashes = [];
    await this.stop();
    await this.start();
  }

  /** Pushes the current settings (the server-side part) with didChangeConfiguration. */
  async pushSettings(): Promise<void> {
    const client = this.languageClient;
    if (!client) return;
    await client.sendNotification(DidChangeConfigurationNotification.type, {
      settings: { loomline: toServerSettings(loomlineConfig()) },
    });
  }

  sendEvent(event: LoomlineEvent): void {
    const client = this.languageClient;
    if (!client) return;
    client.sendNotification(EVENT_NOTIFICATION, event).catch((error) => {
      this.output.debug(`Could not send ${event.type} event: ${String(error)}`);
    });
  }

  /** workspace/executeCommand on the server, cancellable, with an optional work-done token. */
  async executeServerCommand<C extends ServerCommand>(
    command: C,
    args: ServerCommands[C]["args"],
    token?: vscode.CancellationToken,
    workDoneToken?: string,
  ): Promise<ServerCommands[C]["result"]> {
    const client = this.languageClient;
    if (!client) throw new Error('The Loomline server is not running (see "Loomline: Restart Server").');
    const result: unknown = await client.sendRequest(
      ExecuteCommandRequest.type,
      { command, arguments: args, workDoneToken },
      token,
    );
    // The server's answer is trusted to have its documented shape (see protocol.ts).
    return result as ServerCommands[C]["result"];
  }

  dispose(): void {
    void this.stop();
  }
}
