// The next-edit scenario of run.mjs (LOOMLINE_E2E_NEXT_EDIT): rename a word as a user does
// (select it, type the new name), wait for the decorations of the next edit (its new text as
// after-text, the replaced text struck through, the status bar hint), Tab jumps to it (the
// status bar's "Ln" follows), Tab applies it; the saved file must equal `expected`.
// With `dismiss`: undo, wait for the suggestion again, Escape, and the decorations go.
// Spec: {name, text, line, character, old, new, preview (a part of the new text), dismiss}.

/** The after-texts of decorations in the editor (CSS ::after content, quotes stripped). */
async function afterTexts(page) {
  return page.evaluate(() => {
    const editor = document.querySelector(".editor-instance .monaco-editor .view-lines");
    if (!editor) return [];
    return [...editor.querySelectorAll("span")]
      .map((e) => getComputedStyle(e, "::after").content)
      .filter((c) => c && c !== "none" && c !== "normal")
      .map((c) => c.replace(/^"|"$/g, "").replace(/\\"/g, '"'));
  });
}

/** The texts of spans drawn struck through (the replaced range). */
async function struckTexts(page) {
  return page.evaluate(() => {
    const editor = document.querySelector(".editor-instance .monaco-editor .view-lines");
    if (!editor) return [];
    return [...editor.querySelectorAll("span")]
      .filter((e) => getComputedStyle(e).textDecorationLine.includes("line-through"))
      .map((e) => (e.textContent ?? "").replace(/\u00a0/g, " "));
  });
}

async function statusText(page) {
  return page.evaluate(() => {
    const bar = /** @type {HTMLElement | null} */ (document.querySelector("#workbench\\.parts\\.statusbar"));
    return bar?.innerText ?? "";
  });
}

/** The cursor's line (1-based) from the status bar's "Ln 3, Col 7". */
async function cursorLine(page) {
  const m = (await statusText(page)).match(/Ln (\d+), Col (\d+)/);
  return m ? Number(m[1]) : null;
}

async function cursorAt(page, line, character) {
  await page.keyboard.press("Control+Home");
  for (let i = 0; i < line; i += 1) await page.keyboard.press("ArrowDown");
  for (let i = 0; i < character; i += 1) await page.keyboard.press("ArrowRight");
}

/** Waits for the suggestion's after-text; asks explicitly ("Suggest Next Edit") when the
 * automatic request brought nothing for a while (the model may answer "nothing"). */
async function waitForSuggestion(page, h, spec) {
  const quietMs = h.fake ? 5_000 : 30_000;
  const limit = h.fake ? 60_000 : h.modelTimeout;
  const deadline = Date.now() + limit;
  let asked = Date.now();
  let attempts = 0;
  for (;;) {
    const found = (await afterTexts(page)).find((t) => t.includes(spec.preview));
    if (found) return found;
    h.check(Date.now() < deadline, `no next edit shown after ${limit / 1000} s and ${attempts} explicit requests`);
    const thinking = (await statusText(page)).includes("Loomline thinking");
    if (!thinking && Date.now() - asked > quietMs) {
      attempts += 1;
      await h.runCommand(page, "Loomline: Suggest Next Edit");
      h.log(`asked for a next edit (attempt ${attempts})`);
      asked = Date.now();
    }
    await h.sleep(250);
  }
}

export async function nextEditScenario(page, h, dirs, spec) {
  const file = `${dirs.workspace}/${spec.name}`;
  const result = {};
  await h.openFromExplorer(page, spec.name, spec.text.match(/def (\w+)/)[1]);
  await page.locator(".editor-instance .monaco-editor .view-lines").first().click();
  await page.keyboard.press("Escape");
  await cursorAt(page, spec.line, spec.character);
  for (let i = 0; i < spec.old.length; i += 1) await page.keyboard.press("Shift+ArrowRight");
  await page.keyboard.type(spec.new);
  const started = Date.now();
  result.after = await waitForSuggestion(page, h, spec);
  result.seconds = (Date.now() - started) / 1000;
  result.struck = await struckTexts(page);
  // The hint reaches the status bar by its own message, after the decorations may have.
  await h.waitFor("the status bar hint", async () => /next edit at line \d+/.test(await statusText(page)), 10_000, 100);
  result.status = await statusText(page);
  h.log(`next edit shown after ${result.seconds.toFixed(1)} s: ${JSON.stringify(result.after)}; struck ${JSON.stringify(result.struck)}`);
  await h.shot(page, "next-edit-shown");
  h.check(/next edit at line \d+/.test(result.status), `no status bar hint: ${result.status}`);
  const shownLine = Number(result.status.match(/next edit at line (\d+)/)[1]);
  h.check(await cursorLine(page) === spec.line + 1, "the cursor left the renamed line");

  await page.keyboard.press("Tab");
  await h.waitFor("Tab to jump to the next edit", async () => (await cursorLine(page)) === shownLine, 10_000, 100);
  result.jumpedTo = shownLine;
  h.check((await afterTexts(page)).some((t) => t.includes(spec.preview)), "the jump dismissed the suggestion");
  await h.shot(page, "next-edit-jumped");

  await page.keyboard.press("Tab");
  await h.waitFor("Tab to apply the next edit", async () =>
    !(await afterTexts(page)).some((t) => t.includes(spec.preview)), 10_000, 100);
  result.saved = await h.saveAndRead(page, file, spec.text, "the accepted next edit");
  await h.shot(page, "next-edit-accepted");

  if (spec.dismiss) {
    await page.keyboard.press("Control+Z");
    // The undo puts the cursor on the edit's line, where the suggestion would be ghost text.
    await page.keyboard.press("Control+Home");
    await waitForSuggestion(page, h, spec);
    await page.keyboard.press("Escape");
    await h.waitFor("Escape to dismiss the next edit", async () =>
      !(await afterTexts(page)).some((t) => t.includes(spec.preview)), 10_000, 100);
    result.dismissed = true;
    await h.shot(page, "next-edit-dismissed");
  }
  return result;
}
