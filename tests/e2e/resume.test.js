// Session resume through clients/js/extws.js against the real server: a proxy resets the
// client's socket (no close frame), pushes are sent while it is away, and the client resumes by
// itself — every push once, in order, on each transport; a trimmed history is reported with
// on("gap"); a Seq the server refuses is dropped and the client connects afresh.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import WsWebSocket from "ws";

import { connect } from "../../clients/js/extws.js";
import { startProxy } from "./support/proxy.js";
import { CALC, GUESTS, signInitData, startServer } from "./support/server.js";

const COUNTER = path.join(GUESTS, "counter.wasm");
const USER = { id: 5150, first_name: "Phone" };
const SENDER = { id: 5151, first_name: "Sender" };
const T = { timeout: 60_000 };
const WebSocket = globalThis.WebSocket ?? WsWebSocket;
const FAST = { initialDelayMs: 50, maxDelayMs: 200, jitter: 0 };

let me;
let them;
before(async () => {
  me = await signInitData(USER);
  them = await signInitData(SENDER);
});

/** A server with the counter (whose NotifyUserRequest pushes a Notice), a proxy in front. */
async function setUp(args = []) {
  const server = await startServer({ components: [CALC, COUNTER], args });
  const proxy = await startProxy(server.address);
  const sender = await connect(server.ws, { initData: them, WebSocket, transport: "subprotocol" });
  const notify = (text) => sender.request("NotifyUserRequest", { user: USER.id, text });
  const down = async () => {
    sender.close();
    proxy.close();
    await server.stop();
  };
  return { server, proxy, notify, down };
}

/** Records the Notices and gaps a client gets. */
function record(client) {
  const got = [];
  const gaps = [];
  client.on("Notice", (data, message) => got.push([data.text, message.Seq]));
  client.on("gap", (data) => gaps.push(data));
  return { got, gaps };
}

for (const transport of ["subprotocol", "message", "query", "param"]) {
  test(`${transport}: resumes by itself after a reset, missing nothing and duplicating nothing`, T, async () => {
    const { proxy, notify, down } = await setUp();
    const client = await connect(proxy.ws, { initData: me, WebSocket, transport, ...FAST });
    try {
      const { got, gaps } = record(client);
      for (let i = 1; i <= 5; i++) await notify(String(i));
      await waitUntil(() => got.length === 5);
      const accepted = proxy.accepted;
      proxy.cut();
      await waitForState(client, "reconnecting");
      for (let i = 6; i <= 10; i++) await notify(String(i));
      proxy.restore();
      await waitUntil(() => proxy.accepted > accepted && client.state === "open");
      await waitUntil(() => got.length === 10);
      await notify("live");
      await waitUntil(() => got.length === 11);
      assert.deepEqual(got.map(([text]) => text), ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "live"]);
      const seqs = got.map(([, seq]) => seq);
      assert.ok(seqs.every((s, i) => i === 0 || s === seqs[i - 1] + 1), `consecutive: ${seqs}`);
      assert.equal(client.lastSeq, seqs.at(-1));
      assert.deepEqual(gaps, []);
    } finally {
      client.close();
      await down();
    }
  });
}

test("a trimmed history: on('gap') first, then what is left, then live pushes", T, async () => {
  const { proxy, notify, down } = await setUp(["--push-history-size", "3"]);
  const client = await connect(proxy.ws, { initData: me, WebSocket, transport: "subprotocol", ...FAST });
  try {
    const { got, gaps } = record(client);
    const order = [];
    client.on("*", (_data, message) => order.push(message.Type));
    await notify("1");
    await waitUntil(() => got.length === 1);
    const [, first] = got[0];
    proxy.cut();
    await waitForState(client, "reconnecting");
    for (let i = 2; i <= 8; i++) await notify(String(i));
    proxy.restore();
    await waitUntil(() => got.length === 4);
    assert.deepEqual(gaps, [{ resume: first, first: first + 5, latest: first + 7 }]);
    assert.deepEqual(order, ["Notice", "ResumeGap", "Notice", "Notice", "Notice"]);
    assert.deepEqual(got.slice(1).map(([text]) => text), ["6", "7", "8"]);
    await notify("live");
    await waitUntil(() => got.length === 5);
    assert.equal(got[4][1], first + 8);
  } finally {
    client.close();
    await down();
  }
});

test("a Seq the server refuses (ahead of any): reported as a gap, forgotten, and the client connects afresh", T, async () => {
  const { server, notify, down } = await setUp();
  const errors = [];
  const client = await connect(server.ws, {
    initData: me,
    WebSocket,
    transport: "message",
    lastSeq: Number.MAX_SAFE_INTEGER,
    ...FAST,
  });
  try {
    const { got, gaps } = record(client);
    client.on("HandlerException", (data) => errors.push(data.code));
    await waitUntil(() => gaps.length === 1 && client.state === "open" && client.lastSeq === null);
    assert.equal(gaps[0].resume, Number.MAX_SAFE_INTEGER);
    assert.match(gaps[0].error, /ahead of the latest Seq/);
    assert.deepEqual(errors, ["invalid_resume"]);
    await notify("fresh");
    await waitUntil(() => got.length === 1);
    assert.equal(client.lastSeq, got[0][1]);
  } finally {
    client.close();
    await down();
  }
});


/** Resolves when the client reaches `state` (or rejects after `ms`). */
function waitForState(client, state, ms = 15_000) {
  return new Promise((resolve, reject) => {
    if (client.state === state) return resolve();
    const timer = setTimeout(() => (off(), reject(new Error(`still ${client.state}, not ${state}, after ${ms} ms`))), ms);
    const off = client.onState((s) => {
      if (s === state) (clearTimeout(timer), off(), resolve());
    });
  });
}

async function waitUntil(condition, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms: ${condition}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
