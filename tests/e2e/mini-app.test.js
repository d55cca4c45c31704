// examples/mini-app in Debian's headless Chromium, served by the real server with --static,
// opened the way Telegram opens a Mini App: signed initData in the #tgWebAppData= fragment.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

import { connect } from "../../clients/js/extws.js";
import { startProxy } from "./support/proxy.js";
import { CALC, GUESTS, REPO, signInitData, startServer, tamper } from "./support/server.js";

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = process.env.EXTWS_E2E_ARTIFACTS || path.join(REPO, "target/e2e");
const MINI_APP = path.join(REPO, "examples/mini-app");
const USER = { id: 31337, first_name: "Ann", last_name: "Lee", username: "ann", language_code: "en", is_premium: true };
const THEME = { bg_color: "#ffffff", text_color: "#000000", button_color: "#3390ec", button_text_color: "#ffffff" };
const T = { timeout: 60_000 };

let server;
let context;
let userDataDir;
let initData;

/** The URL Telegram would open: the page, then the launch parameters in the fragment. */
function launchUrl(data, { search = "" } = {}) {
  const params = [
    `tgWebAppData=${encodeURIComponent(data)}`,
    "tgWebAppVersion=8.0",
    "tgWebAppPlatform=tdesktop",
    `tgWebAppThemeParams=${encodeURIComponent(JSON.stringify(THEME))}`,
  ];
  return `${server.http}${search}#${params.join("&")}`;
}

/** A fresh page that fails the test on any uncaught page error. */
async function openPage(url) {
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  await page.goto(url);
  return { page, problems };
}

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM)`);
  server = await startServer({ staticDir: MINI_APP, components: [CALC, path.join(GUESTS, "counter.wasm")] });
  initData = await signInitData(USER);
  await mkdir(ARTIFACTS, { recursive: true });
  userDataDir = await mkdtemp(path.join(tmpdir(), "extws-e2e-chromium-"));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 420, height: 720 },
    timeout: 30_000,
  });
  context.setDefaultTimeout(10_000);
});

after(async () => {
  await context?.close();
  await server?.stop();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
});

test("the server serves the page, and its own client as extws.js", T, async () => {
  for (const [file, type] of [["", "text/html"], ["app.js", "text/javascript"], ["extws.js", "text/javascript"]]) {
    const response = await fetch(new URL(file, server.http), { signal: AbortSignal.timeout(10_000) });
    assert.equal(response.status, 200, file);
    assert.match(response.headers.get("content-type"), new RegExp(type), file);
    const body = await response.text();
    if (file === "extws.js") assert.match(body, /export class HandlerException/);
  }
});

test("launched with signed initData: the sum and the user are rendered", T, async () => {
  const { page, problems } = await openPage(launchUrl(initData));
  try {
    await page.locator('#status[data-state="open"]').waitFor();
    assert.equal(await page.locator("#status").textContent(), "Connected as Ann");
    assert.equal(await page.locator("#transport").textContent(), "transport: message");

    await page.locator("#numbers").fill("19, 23, -2, 1000");
    await page.locator("#calc-submit").click();
    await page.locator("#sum", { hasText: "1040" }).waitFor();
    assert.equal(await page.locator("#sum").textContent(), "1040");

    await page.locator("#whoami").click();
    await page.locator("#user", { hasText: "Ann Lee" }).waitFor();
    assert.equal(await page.locator("#user").textContent(), "Ann Lee (@ann), id 31337");
    assert.deepEqual(JSON.parse(await page.locator("#user-json").textContent()), USER);

    // The theme from the launch fragment reached the stylesheet.
    const buttonColor = await page.locator("#calc-submit").evaluate((b) => getComputedStyle(b).backgroundColor);
    assert.equal(buttonColor, "rgb(51, 144, 236)");

    assert.equal(await page.locator("#error").isHidden(), true);
    assert.deepEqual(problems, []);
    await page.screenshot({ path: path.join(ARTIFACTS, "mini-app.png"), fullPage: true });

    // A refusal is shown (the server checks Data against calc's schema), and the page keeps
    // working.
    await page.locator("#numbers").fill("1.5, 2");
    await page.locator("#calc-submit").click();
    await page.locator("#error", { hasText: "invalid_data" }).waitFor();
    assert.equal(
      await page.locator("#error").textContent(),
      "invalid_data: invalid CalculateRequest: numbers[0]: expected an integer, got 1.5",
    );
    await page.locator("#numbers").fill("2 2");
    await page.locator("#calc-submit").click();
    await page.locator("#sum", { hasText: "4" }).waitFor();
    assert.equal(await page.locator("#error").isHidden(), true);
  } finally {
    await page.close();
  }
});

test("the subprotocol transport works in the browser too", T, async () => {
  const { page, problems } = await openPage(launchUrl(initData, { search: "?transport=subprotocol" }));
  try {
    await page.locator('#status[data-state="open"]').waitFor();
    await page.locator("#numbers").fill("5 6");
    await page.locator("#calc-submit").click();
    await page.locator("#sum", { hasText: "11" }).waitFor();
    await page.locator("#whoami").click();
    await page.locator("#user", { hasText: "id 31337" }).waitFor();
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
});

test("tampered initData: the page shows the auth error and stays disabled", T, async () => {
  const { page } = await openPage(launchUrl(tamper(initData)));
  try {
    await page.locator('#status[data-state="closed"]').waitFor();
    assert.match(await page.locator("#status").textContent(), /^Authentication failed: .*signature/);
    assert.match(await page.locator("#error").textContent(), /initData refused/);
    assert.equal(await page.locator("#calc-submit").isDisabled(), true);
    assert.equal(await page.locator("#whoami").isDisabled(), true);
    assert.equal(await page.locator("#reconnect").isHidden(), true); // the same initData would fail again
    await page.screenshot({ path: path.join(ARTIFACTS, "mini-app-auth-error.png"), fullPage: true });
  } finally {
    await page.close();
  }
});

test("tampered initData over the subprotocol: refused before the upgrade, shown as such", T, async () => {
  const { page } = await openPage(launchUrl(tamper(initData), { search: "?transport=subprotocol" }));
  try {
    await page.locator('#status[data-state="closed"]').waitFor();
    assert.match(await page.locator("#error").textContent(), /^Could not connect\. The server may have refused the initData/);
    assert.equal(await page.locator("#whoami").isDisabled(), true);
  } finally {
    await page.close();
  }
});

test("pushes: none missed across a forced reconnect, nor across a reload", T, async () => {
  // The page talks to the server through a proxy the test cuts (every socket reset, no close).
  const proxy = await startProxy(server.address);
  const sender = await connect(server.ws, {
    initData: await signInitData({ id: 777, first_name: "Sender" }),
    WebSocket: globalThis.WebSocket ?? (await import("ws")).default,
    transport: "subprotocol",
  });
  const notify = (text) => sender.request("NotifyUserRequest", { user: USER.id, text });
  const { page, problems } = await openPage(launchUrl(initData, { search: `?server=${encodeURIComponent(proxy.ws)}` }));
  const notices = () => page.locator("#notices li").evaluateAll((items) => items.map((li) => [li.textContent, Number(li.dataset.seq)]));
  try {
    await page.locator('#status[data-state="open"]').waitFor();
    await page.locator("#notify-text").fill("from the page");
    await page.locator("#notify").click();
    for (const text of ["a", "b"]) await notify(text);
    await page.locator("#notices li").nth(2).waitFor();

    proxy.cut();
    await page.locator('#status[data-state="reconnecting"]').waitFor();
    for (const text of ["c", "d", "e"]) await notify(text);
    proxy.restore();
    await page.locator('#status[data-state="open"]').waitFor();
    await page.locator("#notices li").nth(5).waitFor();
    await notify("live");
    await page.locator("#notices li").nth(6).waitFor();
    const shown = await notices();
    assert.deepEqual(shown.map(([text]) => text), ["from the page", "a", "b", "c", "d", "e", "live"]);
    assert.ok(shown.every(([, seq], i) => i === 0 || seq === shown[i - 1][1] + 1), JSON.stringify(shown));
    assert.equal(await page.locator("#gap").isHidden(), true);
    await page.screenshot({ path: path.join(ARTIFACTS, "mini-app-resumed.png"), fullPage: true });

    // Pushes while the page is gone, then a reload: it resumes from the Seq it saved.
    proxy.cut();
    await page.locator('#status[data-state="reconnecting"]').waitFor();
    for (const text of ["f", "g"]) await notify(text);
    proxy.restore();
    await page.reload();
    await page.locator('#status[data-state="open"]').waitFor();
    await page.locator("#notices li").nth(1).waitFor();
    const last = shown.at(-1)[1];
    assert.deepEqual(await notices(), [["f", last + 1], ["g", last + 2]]);
    assert.equal(await page.locator("#gap").isHidden(), true);
    // Chromium logs each reconnect attempt the cut proxy reset; nothing else may go wrong.
    assert.deepEqual(problems.filter((p) => !/WebSocket connection to '[^']*' failed/.test(p)), []);
  } finally {
    await page.close();
    sender.close();
    proxy.close();
  }
});
