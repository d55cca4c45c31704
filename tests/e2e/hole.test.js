// The JS client's own check that no push is lost on a live connection: a Seq above the next one
// (with no ResumeGap before it) makes it resume from its last Seq, so the replay brings what was
// missing, once and in order. A fake server plays a host that skipped two pushes, since the
// real one fills such holes itself (host/tests/push_recovery.rs).
import { test } from "node:test";
import assert from "node:assert/strict";
import WsWebSocket, { WebSocketServer } from "ws";

import { connect } from "../../clients/js/extws.js";

const WebSocket = globalThis.WebSocket ?? WsWebSocket;
const FAST = { initialDelayMs: 20, maxDelayMs: 50, jitter: 0 };
const push = (seq) => JSON.stringify({ Type: "Notice", Data: { n: seq }, Seq: seq });

/** Resolves once `check()` holds (rejects after 10 s). */
async function waitUntil(check) {
  const until = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > until) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A server that answers each connection with `script(n, url)`'s frames (n: 0, 1, ...). */
async function fakeServer(script) {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((r) => server.once("listening", r));
  const urls = [];
  server.on("connection", (ws, request) => {
    urls.push(request.url);
    for (const frame of script(urls.length - 1)) ws.send(frame);
  });
  return { url: `ws://127.0.0.1:${server.address().port}/`, urls, close: () => server.close() };
}

test("a hole in the Seqs makes the client resume from the last one it has", { timeout: 30_000 }, async () => {
  const server = await fakeServer((n) => (n === 0 ? [push(5), push(8), push(9)] : [push(6), push(7), push(8), push(9)]));
  const client = await connect(server.url, { initData: "user=fake&hash=00", transport: "query", WebSocket, ...FAST });
  const got = [];
  const gaps = [];
  client.on("Notice", (data) => got.push(data.n));
  client.on("gap", (data) => gaps.push(data));
  try {
    await waitUntil(() => got.length >= 5);
    assert.deepEqual(got, [5, 6, 7, 8, 9]);
    assert.deepEqual(gaps, []);
    assert.equal(server.urls.length, 2);
    assert.match(server.urls[1], /[?&]resume=5(&|$)/);
    assert.equal(client.lastSeq, 9);
  } finally {
    client.close();
    server.close();
  }
});

test("after a ResumeGap the next Seq may jump: no resume", { timeout: 30_000 }, async () => {
  const gap = JSON.stringify({ Type: "ResumeGap", Data: { resume: 5, first: 9, latest: 9 } });
  const server = await fakeServer(() => [push(5), gap, push(9), push(10)]);
  const client = await connect(server.url, { initData: "user=fake&hash=00", transport: "query", WebSocket, ...FAST });
  const got = [];
  client.on("Notice", (data) => got.push(data.n));
  try {
    await waitUntil(() => got.length >= 3);
    assert.deepEqual(got, [5, 9, 10]);
    assert.equal(server.urls.length, 1);
  } finally {
    client.close();
    server.close();
  }
});
