#!/usr/bin/env node
// End-to-end test of the packaged extension in a real VS Code (code-server) driven by Chromium.
//
// Steps: install the .vsix into a fresh code-server, point the extension at the Loomline server,
// open a workspace, click a Python file in the Explorer, put the cursor in an empty function
// body, trigger inline suggest until ghost text appears, accept it with Tab, save and check the
// file on disk; run "Loomline: Generate Code from Instruction" and check code was inserted and
// saved; open "Loomline: Show Completion Context"; check the status bar says ready.
// With the server's fake backend (LOOMLINE_E2E_BACKEND=fake: scripted answers, no model) it also
// checks that dismiss and partial-accept events reach the server (its recordEvents file).
// A screenshot of each step and the logs go to $LOOMLINE_ARTIFACTS (default .artifacts/vscode).
//
// Environment (all optional):
//   LOOMLINE_CODE_SERVER   code-server launcher (default ~/.cache/loomline-ci/code-server)
//   LOOMLINE_NODE24        Node 24 binary for code-server (default ~/.cache/loomline-ci/node)
//   LOOMLINE_VSIX          the packaged extension (default editor-extension/loomline.vsix)
//   LOOMLINE_SERVER_COMMAND JSON array that starts the server (default [<repo>/.venv/bin/loomline, "lsp"])
//   LOOMLINE_E2E_BACKEND   loomline.backend: "embedded" (the default, the real model) or "fake"
//   LOOMLINE_E2E_TIMEOUT_S how long to wait for the model (ready / ghost text / generation; default 420)
//   CHROMIUM               browser binary (default /usr/bin/chromium)
//   LOOMLINE_E2E_KEEP      keep the temporary user-data and workspace folders
//   LOOMLINE_E2E_SKIP_GENERATE / LOOMLINE_E2E_SKIP_CONTEXT  leave a step out (development only)
//   LOOMLINE_E2E_SETTINGS  JSON object of VS Code settings added to the test's (e.g. longer deadlines)
//   LOOMLINE_E2E_EDITING   JSON list of editing scenarios to run instead of the steps after "ready":
//                          [{name, text, line, beforeEnd, type, typed}], each a file written as
//                          `text` (CRLF kept); the cursor goes to the end of `line` (0-based), where
//                          `type` is typed (e.g. "(", which the editor auto-closes: the saved file
//                          must then be `typed`), then `beforeEnd` characters left; the ghost text
//                          is accepted with Tab and the file saved. result.editing gets
//                          [{name, ghost, saved}] (the saved text exactly) for the caller to judge.
//   LOOMLINE_E2E_NEXT_EDIT JSON object: a next-edit scenario (see nextEdit.mjs) instead of the steps
//                          after "ready"; result.nextEdit gets what it saw and the saved text.

import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { nextEditScenario } from "./nextEdit.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const extRoot = path.resolve(here, "../..");
const repoRoot = path.resolve(extRoot, "..");
const cache = process.env.LOOMLINE_CI_CACHE || path.join(os.homedir(), ".cache/loomline-ci");
const codeServer = process.env.LOOMLINE_CODE_SERVER || path.join(cache, "code-server");
const node24 = process.env.LOOMLINE_NODE24 || path.join(cache, "node");
const vsix = process.env.LOOMLINE_VSIX || path.join(extRoot, "loomline.vsix");
const artifacts = path.resolve(process.env.LOOMLINE_ARTIFACTS || path.join(repoRoot, ".artifacts/vscode"));
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const backend = process.env.LOOMLINE_E2E_BACKEND || "embedded";
const modelTimeout = Number(process.env.LOOMLINE_E2E_TIMEOUT_S || 420) * 1000;
const fake = backend === "fake";
const editing = JSON.parse(process.env.LOOMLINE_E2E_EDITING || "[]");
const nextEdit = JSON.parse(process.env.LOOMLINE_E2E_NEXT_EDIT || "null");
const serverCommand = process.env.LOOMLINE_SERVER_COMMAND
  ? JSON.parse(process.env.LOOMLINE_SERVER_COMMAND)
  : [path.join(repoRoot, ".venv/bin/loomline"), "lsp"];

const t0 = Date.now();
const steps = [];
const secs = () => ((Date.now() - t0) / 1000).toFixed(1);
const log = (msg) => console.log(`[e2e ${secs().padStart(6)}s] ${msg}`);

const FILE_NAME = "fib.py";
const ORIGINAL = [
  "def fibonacci(n):",
  '    """Return the n-th Fibonacci number."""',
  "    ",
  "",
].join("\n");
const INSTRUCTION = "Write a Python function is_even(n) that returns True when n is even.";

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Fatal extends Error {}

async function waitFor(what, fn, timeoutMs, intervalMs = 500) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      if (e instanceof Fatal) throw e;
      last = e;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${last ? ` (${last.message})` : ""}`);
}

function codeServerEnv() {
  const env = { ...process.env };
  if (fs.existsSync(node24)) env.PATH = `${path.dirname(fs.realpathSync(node24))}:${env.PATH}`;
  delete env.VSCODE_IPC_HOOK_CLI;
  return env;
}

function setUp() {
  check(fs.existsSync(codeServer), `code-server not found at ${codeServer} (run .ci/setup.d/50-code-server.sh)`);
  check(fs.existsSync(vsix), `extension package not found at ${vsix} (run: cd editor-extension && npm run package)`);
  check(fs.existsSync(chromiumPath), `chromium not found at ${chromiumPath} (apt-get install chromium)`);
  check(fs.existsSync(serverCommand[0]), `server command not found: ${serverCommand[0]}`);
  fs.mkdirSync(artifacts, { recursive: true });
  for (const f of fs.readdirSync(artifacts)) {
    if (/\.(png|log|json|txt)$/.test(f)) fs.rmSync(path.join(artifacts, f), { force: true });
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "loomline-e2e-"));
  const dirs = {
    root,
    userData: path.join(root, "user-data"),
    extensions: path.join(root, "extensions"),
    workspace: path.join(root, "workspace"),
    // The server's cache ($LOOMLINE_CACHE): with recordEvents its events.jsonl lands here.
    serverCache: path.join(root, "server-cache"),
  };
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(dirs.workspace, FILE_NAME), ORIGINAL);
  for (const scenario of editing) fs.writeFileSync(path.join(dirs.workspace, scenario.name), scenario.text);
  if (nextEdit) fs.writeFileSync(path.join(dirs.workspace, nextEdit.name), nextEdit.text);
  fs.mkdirSync(path.join(dirs.userData, "User"), { recursive: true });
  const settings = {
    "loomline.server.command": serverCommand,
    "loomline.backend": backend,
    "loomline.trace.server": process.env.LOOMLINE_E2E_TRACE ? "messages" : "off",
    ...(fake ? { "loomline.recordEvents": true, "loomline.server.env": { LOOMLINE_CACHE: dirs.serverCache } } : {}),
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": false,
    "workbench.welcomePage.walkthroughs.openOnInstall": false,
    "workbench.colorTheme": "Default Dark Modern",
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "chat.disableAIFeatures": true,
    "chat.commandCenter.enabled": false,
    "editor.inlineSuggest.enabled": true,
    "editor.quickSuggestions": { other: false, comments: false, strings: false },
    "editor.suggestOnTriggerCharacters": false,
    "editor.acceptSuggestionOnEnter": "off",
    "editor.minimap.enabled": false,
    "files.autoSave": "off",
    "security.workspace.trust.enabled": false,
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "extensions.autoCheckUpdates": false,
    "extensions.autoUpdate": false,
    "extensions.ignoreRecommendations": true,
    "git.enabled": false,
    ...JSON.parse(process.env.LOOMLINE_E2E_SETTINGS || "{}"),
  };
  fs.writeFileSync(path.join(dirs.userData, "User/settings.json"), JSON.stringify(settings, null, 2));
  return dirs;
}

function installExtension(dirs) {
  const r = spawnSync(
    codeServer,
    ["--user-data-dir", dirs.userData, "--extensions-dir", dirs.extensions, "--install-extension", vsix],
    { env: codeServerEnv(), encoding: "utf8", timeout: 120_000 },
  );
  fs.writeFileSync(path.join(artifacts, "install-extension.log"), `${r.stdout}\n${r.stderr}`);
  check(r.status === 0, `--install-extension failed (${r.status}): ${r.stderr || r.stdout}`);
  check(/loomline/i.test(r.stdout + r.stderr), `unexpected --install-extension output: ${r.stdout}`);
}

async function startCodeServer(dirs) {
  const port = await freePort();
  const out = fs.openSync(path.join(artifacts, "code-server.log"), "w");
  const proc = spawn(
    codeServer,
    [
      "--auth", "none",
      "--bind-addr", `127.0.0.1:${port}`,
      "--user-data-dir", dirs.userData,
      "--extensions-dir", dirs.extensions,
      "--disable-telemetry",
      "--disable-update-check",
      "--disable-workspace-trust",
      "--disable-getting-started-override",
      dirs.workspace,
    ],
    { env: codeServerEnv(), stdio: ["ignore", out, out], detached: true },
  );
  let exited = null;
  proc.on("exit", (code) => (exited = code));
  await waitFor(
    "code-server to answer",
    async () => {
      check(exited === null, `code-server exited with ${exited}; see code-server.log`);
      const r = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
      return r && r.ok;
    },
    60_000,
  );
  return { proc, port };
}

function stopProcessGroup(proc) {
  if (!proc || proc.exitCode !== null) return;
  try {
    process.kill(-proc.pid, "SIGTERM");
  } catch {
    /* already gone */
  }
}

async function shot(page, name) {
  const file = path.join(artifacts, `${name}.png`);
  await page.screenshot({ path: file });
  log(`screenshot ${path.relative(repoRoot, file)}`);
}

async function step(name, fn) {
  const start = Date.now();
  log(`step: ${name}`);
  try {
    const result = await fn();
    steps.push({ name, seconds: (Date.now() - start) / 1000, ok: true });
    return result;
  } catch (e) {
    steps.push({ name, seconds: (Date.now() - start) / 1000, ok: false, error: e.message });
    throw e;
  }
}

const statusItem = (page) => page.locator('#workbench\\.parts\\.statusbar [aria-label^="Loomline "]').first();

async function statusLabel(page) {
  return (await statusItem(page).getAttribute("aria-label", { timeout: 1000 }).catch(() => null)) ?? "";
}

/** The ghost text as lines: the part after the cursor, then the lines of the block below it. */
async function ghostText(page) {
  return page.evaluate(() => {
    const editor = document.querySelector(".editor-instance .monaco-editor");
    if (!editor) return "";
    // Syntax-highlighted ghost text is one span per token; the spans of a line share a parent.
    // The part on the cursor's line comes first; the block below is a view zone.
    const sel = ".ghost-text-decoration, .ghost-text-decoration-preview, .ghost-text";
    const outer = (e) => !e.parentElement?.closest(sel);
    const spans = [
      ...[...editor.querySelectorAll(".ghost-text-decoration, .ghost-text-decoration-preview")].filter(outer),
      ...[...editor.querySelectorAll(".ghost-text")].filter(outer),
    ];
    const lines = new Map();
    for (const span of spans) {
      const line = span.closest(".view-line") ?? span.parentElement;
      lines.set(line, (lines.get(line) ?? "") + (span.textContent ?? "").replace(/\u00a0/g, " "));
    }
    return [...lines.values()].join("\n");
  });
}

/** The ghost text's DOM, kept with the artifacts for debugging. */
async function ghostHtml(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll(".editor-instance .monaco-editor .ghost-text-decoration, .editor-instance .monaco-editor .ghost-text")]
      .map((e) => e.outerHTML).join("\n"));
}

async function runCommand(page, title) {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input").first();
  await input.waitFor({ state: "visible", timeout: 10_000 });
  await input.fill(`>${title}`);
  const row = page.locator(".quick-input-widget .monaco-list-row", { hasText: title }).first();
  await row.waitFor({ state: "visible", timeout: 10_000 });
  await page.keyboard.press("Enter");
}

/**
 * Triggers inline suggest with the cursor where `placeCursor` puts it until ghost text shows
 * (bounded by the model's time limit); the ghost text once it stops changing. Re-triggers only
 * when nothing is in flight: the status bar says "thinking" while a request runs, and on 2 busy
 * CPU cores one can take a minute; a new trigger would supersede it.
 */
async function waitForGhost(page, placeCursor) {
  const quietMs = fake ? 3_000 : 15_000;
  let attempt = 0;
  let lastActivity = 0;
  const deadline = Date.now() + modelTimeout;
  for (;;) {
    check(Date.now() < deadline, `no ghost text after ${modelTimeout / 1000} s and ${attempt} triggers`);
    if (Date.now() - lastActivity > quietMs) {
      attempt += 1;
      await page.keyboard.press("Escape");
      await placeCursor();
      // The command palette: Alt+\ did not reach the editor in headless Chromium.
      await runCommand(page, "Trigger Inline Suggestion");
      log(`triggered inline suggest (attempt ${attempt})`);
      lastActivity = Date.now();
    }
    if ((await statusLabel(page)).startsWith("Loomline thinking")) lastActivity = Date.now();
    if ((await ghostText(page)).trim()) {
      // Multi-line ghost text renders in parts: take it once two looks agree.
      let shown = "";
      return waitFor("the ghost text to settle", async () => {
        const now = await ghostText(page);
        const settled = now.trim() && now === shown;
        shown = now;
        return settled ? now : null;
      }, 10_000, 150);
    }
    await sleep(250);
  }
}

/** Opens `name` from the Explorer; waits until the editor shows `marker`. */
async function openFromExplorer(page, name, marker) {
  const row = page.locator(".explorer-folders-view .monaco-list-row", { hasText: name }).first();
  await waitFor(`${name} to open`, async () => {
    await row.click({ timeout: 5000 });
    return page.locator(".editor-instance .monaco-editor .view-lines", { hasText: marker }).first().isVisible();
  }, 30_000, 1000);
}

/** Puts the cursor at the end of `line` (0-based) of the editor, then `left` characters back. */
async function cursorAtLineEnd(page, line, left = 0) {
  await page.keyboard.press("Control+Home");
  for (let i = 0; i < line; i += 1) await page.keyboard.press("ArrowDown");
  await page.keyboard.press("End");
  for (let i = 0; i < left; i += 1) await page.keyboard.press("ArrowLeft");
}

/**
 * One editing scenario (see LOOMLINE_E2E_EDITING): open the file, type at the end of the line
 * (an opener the editor auto-closes), accept the ghost text there with Tab, save.
 */
async function acceptIn(page, dirs, scenario) {
  const file = path.join(dirs.workspace, scenario.name);
  const shotName = scenario.name.replace(/\W/g, "-");
  await openFromExplorer(page, scenario.name, scenario.text.match(/def (\w+)/)[1]); // a name only this file has
  await page.locator(".editor-instance .monaco-editor .view-lines").first().click();
  let before = scenario.text;
  if (scenario.type) {
    await page.keyboard.press("Escape");
    await cursorAtLineEnd(page, scenario.line);
    await page.keyboard.type(scenario.type);
    before = await saveAndRead(page, file, scenario.text, `the typed ${JSON.stringify(scenario.type)}`);
    check(before === scenario.typed, `after typing ${JSON.stringify(scenario.type)} the file is not as an editor that auto-closes leaves it:\n${JSON.stringify(before)}`);
  }
  const ghost = await waitForGhost(page, () => cursorAtLineEnd(page, scenario.line, scenario.beforeEnd));
  log(`ghost text in ${scenario.name}: ${JSON.stringify(ghost)}`);
  await shot(page, `editing-${shotName}-ghost`);
  await page.keyboard.press("Tab");
  await waitFor("the ghost text to be inserted", async () => !(await ghostText(page)).trim(), 10_000, 200);
  const saved = await saveAndRead(page, file, before, "the accepted suggestion");
  await shot(page, `editing-${shotName}-accepted`);
  fs.writeFileSync(path.join(artifacts, `editing-${shotName}.txt`), saved);
  return { name: scenario.name, ghost, saved };
}

async function saveAndRead(page, file, previous, what) {
  await page.keyboard.press("Control+S");
  return waitFor(`${what} saved to disk`, () => {
    const text = fs.readFileSync(file, "utf8");
    return text !== previous ? text : null;
  }, 20_000);
}

async function main() {
  log(`code-server ${codeServer}; vsix ${vsix}; server ${JSON.stringify(serverCommand)}; backend ${backend}`);
  const dirs = setUp();
  const file = path.join(dirs.workspace, FILE_NAME);
  let cs;
  let browser;
  const result = { passed: false, backend, server: serverCommand, artifacts, steps };
  try {
    await step("install the .vsix", () => installExtension(dirs));
    cs = await step("start code-server", () => startCodeServer(dirs));
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
      ],
    });
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const url = `http://127.0.0.1:${cs.port}/?folder=${encodeURIComponent(dirs.workspace)}`;

    await step("open the workbench", async () => {
      await page.goto(url, { waitUntil: "domcontentloaded" });
      await page.locator(".monaco-workbench").waitFor({ timeout: 60_000 });
      await page.locator(".explorer-folders-view").waitFor({ timeout: 60_000 });
      await shot(page, "01-workbench");
    });

    await step("open the file from the Explorer", async () => {
      const row = page.locator(".explorer-folders-view .monaco-list-row", { hasText: FILE_NAME }).first();
      await waitFor("the file to open", async () => {
        await row.click({ timeout: 5000 });
        return page.locator(".editor-instance .monaco-editor .view-lines", { hasText: "fibonacci" }).first()
          .isVisible();
      }, 30_000, 1000);
      await shot(page, "02-file-open");
    });

    await step("wait for the status bar to say ready", async () => {
      await waitFor("the Loomline status item", async () => (await statusLabel(page)) !== "", 60_000);
      let seen = "";
      await waitFor("Loomline ready", async () => {
        const label = await statusLabel(page);
        if (label !== seen) log(`status: ${(seen = label)}`);
        if (label.startsWith("Loomline error")) {
          const tip = await statusItem(page).getAttribute("title").catch(() => "");
          throw new Fatal(`the extension reports an error: ${label} ${tip ?? ""}`);
        }
        return label.startsWith("Loomline ready");
      }, modelTimeout, 500);
      await shot(page, "03-status-ready");
    });

    if (nextEdit) {
      const helpers = { fake, modelTimeout, check, log, sleep, waitFor, runCommand, shot, openFromExplorer, saveAndRead };
      result.nextEdit = await step("next edit: shown, Tab jumps, Tab accepts", () =>
        nextEditScenario(page, helpers, dirs, nextEdit));
      if (fake) await step("next edit events reach the server", () => {
        const eventsFile = path.join(dirs.serverCache, "events.jsonl");
        const events = fs.readFileSync(eventsFile, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
        fs.copyFileSync(eventsFile, path.join(artifacts, "events.jsonl.txt"));
        result.nextEdit.events = events.map(({ type, completionId }) => ({ type, completionId }));
      });
      result.passed = true;
      return;
    }

    if (editing.length) {
      result.editing = [];
      for (const scenario of editing) {
        await step(`accept in ${scenario.name}`, async () => result.editing.push(await acceptIn(page, dirs, scenario)));
      }
      result.passed = true;
      return;
    }

    let ghost = "";
    await step("ghost text in the empty function body", async () => {
      const editor = page.locator(".editor-instance .monaco-editor .view-lines").first();
      await editor.click();
      ghost = await waitForGhost(page, () => cursorAtLineEnd(page, 2));
      log(`ghost text: ${JSON.stringify(ghost)}`);
      fs.writeFileSync(path.join(artifacts, "ghost-text.html"), await ghostHtml(page));
      await shot(page, "04-ghost-text");
    });

    let afterAccept = "";
    await step("Tab accepts; saved file contains the completion", async () => {
      await page.keyboard.press("Tab");
      await waitFor("the ghost text to be inserted", async () => !(await ghostText(page)).trim(), 10_000, 200);
      await shot(page, "05-accepted");
      afterAccept = await saveAndRead(page, file, ORIGINAL, "the accepted completion");
      const ghostLines = ghost.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
      check(ghostLines.length > 0, "ghost text had no visible characters");
      for (const line of ghostLines) {
        check(afterAccept.includes(line), `the file on disk lacks the accepted line ${JSON.stringify(line)}:\n${afterAccept}`);
      }
      const firstLine = ghostLines[0];
      check(afterAccept.length > ORIGINAL.length, "the file did not grow");
      fs.writeFileSync(path.join(artifacts, "after-accept.py.txt"), afterAccept);
      result.accepted = firstLine;
    });

    if (!process.env.LOOMLINE_E2E_SKIP_GENERATE) await step("Generate Code from Instruction inserts code", async () => {
      await page.locator(".editor-instance .monaco-editor .view-lines").first().click();
      // The fake answers every request with the same text, which the step before accepted as
      // the body: written after it, the answer would repeat the line before the cursor, and
      // the server drops such a repeat (a model restating the code it continues). So with
      // the fake the code goes on a new first line, where it is new.
      if (fake) {
        await page.keyboard.press("Control+Home");
        await page.keyboard.press("Enter");
        await page.keyboard.press("ArrowUp");
      } else {
        await page.keyboard.press("Control+End");
        await page.keyboard.press("Enter");
      }
      await runCommand(page, "Loomline: Generate Code from Instruction");
      const input = page.locator(".quick-input-widget input").first();
      await waitFor("the instruction box", async () => (await input.getAttribute("placeholder"))?.includes("Fibonacci"), 10_000, 200);
      await input.fill(INSTRUCTION);
      await shot(page, "06-instruction");
      await page.keyboard.press("Enter");
      // The cancellable progress notification (title "Loomline", a Cancel button) stays up
      // until the server's answer arrives.
      const toast = page.locator(".notifications-toasts .notification-toast", { hasText: "Loomline" })
        .filter({ has: page.locator(".monaco-button", { hasText: "Cancel" }) });
      await toast.first().waitFor({ state: "visible", timeout: 10_000 }).then(
        async () => { await sleep(1500); await shot(page, "07-generating"); },
        () => log("(no progress notification seen: generation finished quickly)"),
      );
      await waitFor("generation to finish", async () => (await toast.count()) === 0, modelTimeout, 500);
      const afterGenerate = await saveAndRead(page, file, afterAccept, "the generated code");
      await shot(page, "08-generated");
      let added;
      if (fake) {
        check(afterGenerate.endsWith(afterAccept), "generation changed text after the cursor");
        added = afterGenerate.slice(0, afterGenerate.length - afterAccept.length);
        check(added.trim() === result.accepted.trim(), `the fake's answer was not inserted:\n${afterGenerate}`);
      } else {
        check(afterGenerate.startsWith(afterAccept.trimEnd()), "generation changed text before the cursor");
        added = afterGenerate.slice(afterAccept.trimEnd().length);
      }
      check(/\S/.test(added), `no code was inserted:\n${afterGenerate}`);
      fs.writeFileSync(path.join(artifacts, "after-generate.py.txt"), afterGenerate);
      result.generated = added;
      log(`generated: ${JSON.stringify(added.slice(0, 300))}`);
    });

    if (!process.env.LOOMLINE_E2E_SKIP_CONTEXT) {
      await step("Show Completion Context opens a readable tab", async () => {
        await page.locator(".editor-instance .monaco-editor .view-lines").first().click();
        await page.keyboard.press("Control+Home");
        await page.keyboard.press("ArrowDown");
        await page.keyboard.press("ArrowDown");
        await page.keyboard.press("End");
        await runCommand(page, "Loomline: Show Completion Context");
        await page.locator(".editor-instance .view-lines", { hasText: "Loomline completion context" }).first()
          .waitFor({ timeout: 60_000 });
        await shot(page, "09-context");
        await page.keyboard.press("Control+W"); // the report is a read-only virtual document
      });
    }

    await step("disable and re-enable completions for Python", async () => {
      await page.locator(".editor-instance .monaco-editor .view-lines").first().click();
      await runCommand(page, "Loomline: Disable Completions for the Current Language");
      await waitFor("Loomline disabled", async () => (await statusLabel(page)).startsWith("Loomline disabled"), 20_000);
      const settingsFile = path.join(dirs.userData, "User/settings.json");
      await waitFor("python in disabledLanguages", () =>
        /"loomline\.completion\.disabledLanguages":\s*\[\s*"python"/.test(fs.readFileSync(settingsFile, "utf8")), 10_000);
      await shot(page, "10-disabled");
      await runCommand(page, "Loomline: Enable Completions for the Current Language");
      await waitFor("Loomline ready again", async () => (await statusLabel(page)).startsWith("Loomline ready"), 20_000);
    });

    await step("Select Model / Backend switches the backend live", async () => {
      const pick = async (label) => {
        await runCommand(page, "Loomline: Select Model / Backend");
        const row = page.locator(".quick-input-widget .monaco-list-row", { hasText: label }).first();
        await row.waitFor({ state: "visible", timeout: 10_000 });
        await row.click();
      };
      if (fake) {
        // No model here: switch to a vLLM server that is not there (the server starts
        // connecting, then says it cannot reach it), then back to the fake backend.
        await pick("vLLM server…");
        const input = page.locator(".quick-input-widget input").first();
        await waitFor("the vLLM URL box", async () => (await input.inputValue()).startsWith("http"), 10_000, 200);
        await input.fill(`http://127.0.0.1:${await freePort()}/v1`);
        await page.keyboard.press("Enter");
        await waitFor("the served-model box", async () => !(await input.inputValue()).startsWith("http"), 10_000, 200);
        await page.keyboard.press("Enter");
        await waitFor("the server to leave the fake backend", async () =>
          /^Loomline (loading|error)/.test(await statusLabel(page)), 60_000, 200);
        await shot(page, "11-vllm-backend");
        await runCommand(page, "Notifications: Clear All Notifications").catch(async () => {
          await page.keyboard.press("Escape"); // only tidies the screen ("cannot reach …")
        });
        await pick("Fake backend");
        await waitFor("the fake backend again", async () => /^Loomline ready.*\(fake\)/.test(await statusLabel(page)), 60_000);
        return;
      }
      await pick("Fake backend");
      await waitFor("the fake backend", async () => /^Loomline ready.*\(fake\)/.test(await statusLabel(page)), modelTimeout);
      await shot(page, "11-fake-backend");
      await pick("Qwen2.5-Coder-0.5B (embedded)");
      await waitFor("the embedded backend again", async () =>
        /^Loomline ready.*\(embedded\)/.test(await statusLabel(page)), modelTimeout);
    });

    await step("Restart Server", async () => {
      await runCommand(page, "Loomline: Restart Server");
      await waitFor("the restart to begin", async () => !(await statusLabel(page)).startsWith("Loomline ready"), 10_000, 100)
        .catch(() => log("(the restart was too quick to see)"));
      await waitFor("Loomline ready after the restart", async () => (await statusLabel(page)).startsWith("Loomline ready"), modelTimeout);
    });

    await step("the status bar still says ready", async () => {
      await waitFor("Loomline ready", async () => (await statusLabel(page)).startsWith("Loomline ready"), 60_000);
      const label = await statusLabel(page);
      check(/\(\w+\)/.test(label) || backend === "fake", `the ready status names no backend: ${label}`);
      result.status = label;
      await page.locator(".explorer-folders-view .monaco-list-row", { hasText: FILE_NAME }).first().click();
      await shot(page, "12-final");
    });
    if (fake) await step("partial accept and dismiss reach the server", async () => {
      // The server keeps each event it gets in $LOOMLINE_CACHE/events.jsonl (recordEvents).
      const eventsFile = path.join(dirs.serverCache, "events.jsonl");
      const events = () => (fs.existsSync(eventsFile) ? fs.readFileSync(eventsFile, "utf8") : "")
        .split("\n").flatMap((line) => { try { return [JSON.parse(line)]; } catch { return []; } });
      const count = (type) => events().filter((e) => e.type === type).length;
      const showGhost = async () => {
        await runCommand(page, "Trigger Inline Suggestion");
        return waitFor("ghost text", async () => (await ghostText(page)).trim(), 20_000, 200);
      };
      await page.locator(".editor-instance .monaco-editor .view-lines").first().click();
      await page.keyboard.press("Control+End");
      await page.keyboard.press("Enter");
      check(events().some((e) => e.type === "accept" && e.completionId), "the Tab accept did not reach the server");
      const dismissed = count("dismiss");
      await showGhost();
      await page.keyboard.press("Escape");
      await waitFor("a dismiss event", () => count("dismiss") > dismissed, 10_000);
      const partlyAccepted = count("partialAccept");
      const shown = await showGhost();
      await page.keyboard.press("Control+ArrowRight"); // Accept Next Word
      await waitFor("the first word to be inserted", async () => (await ghostText(page)).trim() !== shown.trim(), 5_000, 100);
      await shot(page, "13-partial-accept");
      await page.keyboard.press("Escape");
      await waitFor("a partialAccept event", () => count("partialAccept") > partlyAccepted, 10_000);
      const partial = events().filter((e) => e.type === "partialAccept").pop();
      check(partial.acceptedLength > 0 && partial.completionId, `a partialAccept without what was taken: ${JSON.stringify(partial)}`);
      log(`server got: ${JSON.stringify(partial)}`);
      fs.copyFileSync(eventsFile, path.join(artifacts, "events.jsonl.txt"));
      await runCommand(page, "File: Revert File");
    });

    await step("Cancel stops a generation", async () => {
      await page.locator(".editor-instance .monaco-editor .view-lines").first().click();
      await page.keyboard.press("Control+End");
      await page.keyboard.press("Enter");
      await runCommand(page, "Loomline: Generate Code from Instruction");
      const input = page.locator(".quick-input-widget input").first();
      await input.waitFor({ state: "visible", timeout: 10_000 });
      await input.fill("Write a Python class Matrix with methods add, sub, mul, transpose, determinant, inverse and __repr__.");
      await page.keyboard.press("Enter");
      const toast = page.locator(".notifications-toasts .notification-toast", { hasText: "Loomline" })
        .filter({ has: page.locator(".monaco-button", { hasText: "Cancel" }) });
      const shown = await toast.first().waitFor({ state: "visible", timeout: 10_000 }).then(() => true, () => false);
      if (!shown) {
        log("(generation finished before it could be cancelled)");
      } else {
        await sleep(500);
        // A fast (scripted) generation can end between seeing the button and clicking it.
        const clicked = await toast.first().locator(".monaco-button", { hasText: "Cancel" })
          .click({ timeout: 5_000 }).then(() => true, () => false);
        log(clicked ? "clicked Cancel" : "(the generation ended before the click landed)");
        await waitFor("the progress notification to close after Cancel", async () => (await toast.count()) === 0, 30_000, 200);
      }
      await waitFor("Loomline ready after cancelling", async () => (await statusLabel(page)).startsWith("Loomline ready"), 60_000);
      await shot(page, "14-cancelled");
      await runCommand(page, "File: Revert File");
    });

    result.passed = true;
  } catch (e) {
    result.error = e.stack || String(e);
    console.error(`E2E FAILED: ${e.message}`);
    if (browser) {
      const page = browser.contexts()[0]?.pages()[0];
      if (page) await shot(page, "99-failure").catch(() => {});
    }
  } finally {
    await browser?.close().catch(() => {});
    stopProcessGroup(cs?.proc);
    await sleep(500);
    copyLogs(dirs.userData);
    result.seconds = (Date.now() - t0) / 1000;
    fs.writeFileSync(path.join(artifacts, "result.json"), JSON.stringify(result, null, 2));
    if (!process.env.LOOMLINE_E2E_KEEP) fs.rmSync(dirs.root, { recursive: true, force: true });
    // Here, not after the try: the editing scenarios return from it early.
    for (const s of steps) log(`${s.ok ? "ok  " : "FAIL"} ${s.seconds.toFixed(1).padStart(6)} s  ${s.name}`);
    if (!result.passed) process.exit(1);
    log(`E2E PASSED in ${result.seconds.toFixed(1)} s; artifacts in ${artifacts}`);
  }
}

/** Copies the extension's output channel (and the extension host log) into the artifacts. */
function copyLogs(userData) {
  const logs = path.join(userData, "logs");
  if (!fs.existsSync(logs)) return;
  const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? walk(path.join(dir, d.name)) : [path.join(dir, d.name)]);
  for (const f of walk(logs)) {
    const base = path.basename(f);
    if (/Loomline|loomline|exthost\.log|remoteexthost\.log/.test(f) && base.endsWith(".log")) {
      fs.copyFileSync(f, path.join(artifacts, `log-${base.replace(/[^\w.-]/g, "_")}`));
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
