// examples/mini-app in Debian's headless Chromium, served by the real server with --static,
// opened the way Telegram opens a Mini App: signed initData in the #tgWebAppData= fragment.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

import { REPO, signInitData, startServer, tamper } from "./support/server.js";

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
  server = await startServer({ staticDir: MINI_APP });
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
