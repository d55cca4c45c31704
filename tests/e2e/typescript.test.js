// `extws-wasm describe calc.wasm --typescript` makes clients/js typed end to end: a client file
// that uses the generated `Api` type-checks with `tsc --strict`, and one that sends the wrong
// Data, reads a field the reply does not have, or names a Type the component does not handle
// is refused, each with the error that names it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFile, mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

import { BINARY, CALC, REPO } from "./support/server.js";

const run = promisify(execFile);
const TSC = path.join(REPO, "tests/e2e/node_modules/typescript/bin/tsc");

const GOOD = `
import { ExtwsClient } from "./extws.js";
import type { Api } from "./calc-api.js";

export async function main(): Promise<number> {
  const client = new ExtwsClient<Api>("ws://127.0.0.1:1/", { transport: "none" });
  await client.connect();
  const { result } = await client.request("CalculateRequest", { numbers: [1, 2] });
  const { user } = await client.request("WhoAmIRequest", {});
  const name: string | undefined = user?.first_name;
  return result + (name ? name.length : 0);
}
`;

/** A client file whose body is `line`, expected to fail with `error`. */
const BAD = [
  [`await client.request("CalculateRequest", { numbers: ["x"] });`, /Type 'string' is not assignable to type 'number'/],
  [`const r = await client.request("CalculateRequest", { numbers: [1] }); r.sum;`, /Property 'sum' does not exist/],
  [`await client.request("DivideRequest", {});`, /"DivideRequest"' is not assignable/],
  [`await client.request("CalculateRequest", {});`, /'{}' is not assignable to parameter of type 'CalculateRequest'/],
];

/** Runs tsc over `files` of `dir`; returns its complaints ("" when it compiled). */
async function tsc(dir, files) {
  try {
    await run(process.execPath, [TSC, "--noEmit", "--strict", "--target", "es2022", "--module", "nodenext",
      "--moduleResolution", "nodenext", ...files.map((f) => path.join(dir, f))]);
    return "";
  } catch (error) {
    return `${error.stdout}${error.stderr}` || String(error);
  }
}

test("describe --typescript types clients/js's request() end to end", { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "extws-ts-"));
  const { stdout } = await run(BINARY, ["describe", CALC, "--typescript"]);
  await writeFile(path.join(dir, "calc-api.ts"), stdout);
  await writeFile(path.join(dir, "package.json"), `{"type": "module"}`);
  await copyFile(path.join(REPO, "clients/js/extws.js"), path.join(dir, "extws.js"));
  await copyFile(path.join(REPO, "clients/js/extws.d.ts"), path.join(dir, "extws.d.ts"));
  await writeFile(path.join(dir, "good.ts"), GOOD);
  assert.equal(await tsc(dir, ["good.ts"]), "", "the well-typed client must compile");

  // The wrong ones in one run: tsc names the file of each complaint.
  const files = [];
  for (const [i, [line]] of BAD.entries()) {
    files.push(`bad${i}.ts`);
    await writeFile(path.join(dir, `bad${i}.ts`), GOOD.replace("return result", `${line}\n  return result`));
  }
  const output = await tsc(dir, files);
  for (const [i, [line, error]] of BAD.entries()) {
    const complaints = output.split("\n").filter((l) => l.includes(`bad${i}.ts(`)).join("\n");
    assert.match(complaints, error, `${line}\n${output}`);
  }
});
