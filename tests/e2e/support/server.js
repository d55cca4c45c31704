// Starts the real extws-wasm server for a test and signs initData with its CLI.
import { spawn, execFile } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** The host binary: $EXTWS_WASM, else the shared CI build cache, else ./target. */
const CANDIDATES = [
  process.env.CARGO_TARGET_DIR && path.join(process.env.CARGO_TARGET_DIR, "debug/extws-wasm"),
  path.join(homedir(), ".cache/extws-wasm/target/debug/extws-wasm"),
  path.join(REPO, "target/debug/extws-wasm"),
].filter(Boolean);
export const BINARY = process.env.EXTWS_WASM || CANDIDATES.find(existsSync) || CANDIDATES[0];

/** Components built by `make guest-rust`. */
export const GUESTS = process.env.EXTWS_GUESTS || path.join(REPO, "target/guests");
export const CALC = path.join(GUESTS, "calc.wasm");

export const BOT_TOKEN = "123456:e2e-test-token";

const running = new Set();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * Starts `extws-wasm serve` on 127.0.0.1:0 and resolves once it prints its listening line.
 * @returns {Promise<{ws: string, http: string, stderr: () => string, stop: () => Promise<void>}>}
 */
export async function startServer({
  args = [],
  staticDir,
  components = [CALC],
  listen = "127.0.0.1:0",
  timeoutMs = 60_000,
} = {}) {
  for (const file of [BINARY, ...components]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`make host guest-rust\` first`);
  }
  // Each server gets its own state directory, outside the repository.
  const dataDir = mkdtempSync(path.join(tmpdir(), "extws-e2e-"));
  const argv = ["serve", "--listen", listen, "--bot-token", BOT_TOKEN, "--data-dir", dataDir, ...args];
  for (const component of components) argv.push("--component", component);
  if (staticDir) argv.push("--static", staticDir);
  const child = spawn(BINARY, argv, {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, EXTWS_LOG: process.env.EXTWS_LOG || "info" },
  });
  running.add(child);
  let log = "";
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => {
    running.delete(child);
    resolve({ code, signal });
  }));
  const address = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not listen within ${timeoutMs} ms:\n${log}`)), timeoutMs);
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => {
      log += chunk;
      const match = /listening on ws:\/\/(127\.0\.0\.1:\d+)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before listening:\n${log}`));
    });
  });
  return {
    address,
    ws: `ws://${address}/`,
    http: `http://${address}/`,
    stderr: () => log,
    /** SIGTERM (graceful: in-flight messages finish, sockets close with 1001), or SIGKILL (a crash). */
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** initData signed for BOT_TOKEN by `extws-wasm sign-init-data`. */
export async function signInitData(user, { botToken = BOT_TOKEN, extra = [] } = {}) {
  const { stdout } = await promisify(execFile)(
    BINARY,
    ["sign-init-data", "--bot-token", botToken, "--user", JSON.stringify(user), ...extra],
    { timeout: 30_000 },
  );
  return stdout.trim();
}

/** The same initData with one character of the user changed: the hash no longer matches. */
export function tamper(initData) {
  return initData.replace("first_name%22%3A%22", "first_name%22%3A%22X");
}
