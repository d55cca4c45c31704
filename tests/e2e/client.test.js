// clients/js/extws.js against the real server: every transport, Id correlation, typed errors,
// unsolicited messages, timeouts and reconnection. Runs once with the `ws` package and once with
// the runtime's own WebSocket (Node >= 22, or Node 20 with --experimental-websocket).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import WsWebSocket from "ws";

import {
  AuthError,
  ConnectionError,
  ExtwsClient,
  HandlerException,
  TimeoutError,
  base64url,
  connect,
  connectionTarget,
} from "../../clients/js/extws.js";
import { CALC, GUESTS, signInitData, startServer, tamper } from "./support/server.js";

const SLOW = path.join(GUESTS, "slow.wasm");
const MISBEHAVE = path.join(GUESTS, "misbehave.wasm");
const USER = { id: 4242, first_name: "Zoë", username: "zoe", language_code: "en" };
const T = { timeout: 30_000 };

const implementations = [["ws package", WsWebSocket]];
if (typeof globalThis.WebSocket === "function") implementations.push(["native WebSocket", globalThis.WebSocket]);
else test("native WebSocket", { skip: "no global WebSocket: Node >= 22, or Node 20 with --experimental-websocket" });

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

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

test("base64url and connection targets follow the README", () => {
  assert.equal(base64url("é?>"), "w6k_Pg");
  assert.equal(base64url("a"), "YQ");
  const initData = "user=%7B%22id%22%3A1%7D&auth_date=1&hash=ab";
  assert.deepEqual(connectionTarget("ws://h:1/", "query", initData), { url: `ws://h:1/?${initData}`, protocols: [] });
  assert.deepEqual(connectionTarget("http://h:1/app?x=1#frag", "param", initData, "tgWebAppData"), {
    url: `ws://h:1/app?x=1&tgWebAppData=${encodeURIComponent(initData)}`,
    protocols: [],
  });
  assert.deepEqual(connectionTarget("https://h/", "subprotocol", initData), {
    url: "wss://h/",
    protocols: ["extws", `tma.${Buffer.from(initData).toString("base64url")}`],
  });
  assert.deepEqual(connectionTarget("ws://h/", "message", initData), { url: "ws://h/", protocols: [] });
  assert.throws(() => connectionTarget("ws://h/", "header", initData), TypeError);
  assert.throws(() => new ExtwsClient("ws://h/", { transport: "message", WebSocket: WsWebSocket }), /needs initData/);
});

for (const [name, WebSocket] of implementations) {
  describe(`client with ${name}`, () => {
    let server;
    let initData;
    const open = (options = {}) => connect(server.ws, { initData, WebSocket, ...options });

    before(async () => {
      server = await startServer({ components: [CALC, SLOW, MISBEHAVE] });
      initData = await signInitData(USER);
    });
    after(() => server?.stop());

    for (const [transport, extra] of [
      ["subprotocol", {}],
      ["message", {}],
      ["query", {}],
      ["param", {}],
      ["param", { paramName: "tgWebAppData" }],
    ]) {
      test(`transport ${transport}${extra.paramName ? ` (${extra.paramName})` : ""}`, T, async () => {
        const client = await open({ transport, ...extra });
        try {
          assert.equal(client.state, "open");
          assert.deepEqual(await client.request("WhoAmIRequest"), { user: USER });
          assert.deepEqual(await client.request("CalculateRequest", { numbers: [40, 2] }), { result: 42 });
          // Only the first-message transport learns the user from the handshake itself.
          assert.deepEqual(client.user, transport === "message" ? USER : null);
        } finally {
          client.close();
        }
        assert.equal(client.state, "closed");
      });
    }

    test("tampered initData is refused on every transport", T, async () => {
      const bad = tamper(initData);
      assert.notEqual(bad, initData);
      // First message: close 4401 with the server's reason.
      await assert.rejects(open({ initData: bad, transport: "message" }), (e) => {
        assert.ok(e instanceof AuthError && e instanceof ConnectionError);
        assert.equal(e.closeCode, 4401);
        assert.match(e.message, /initData refused: .*signature/);
        return true;
      });
      // Before the upgrade: HTTP 401, which the ws package reports and WHATWG sockets hide.
      for (const transport of ["subprotocol", "query", "param"]) {
        await assert.rejects(open({ initData: bad, transport }), (e) => {
          assert.ok(e instanceof ConnectionError, String(e));
          assert.equal(e.closeCode === 4401 ? 4401 : 1006, e.closeCode);
          if (name === "ws package") assert.ok(e instanceof AuthError, e.message);
          return true;
        });
      }
      // No initData at all: the server (first-message transport on) waits for an Auth message,
      // and answers anything else with `unauthenticated`.
      const anonymous = await open({ initData: "", transport: "none" });
      try {
        await assert.rejects(anonymous.request("WhoAmIRequest"), { name: "HandlerException", code: "unauthenticated" });
      } finally {
        anonymous.close();
      }
    });

    test("Id correlation: many requests in flight, each gets its own reply", T, async () => {
      const client = await open({ transport: "subprotocol" });
      try {
        const requests = [];
        for (let i = 0; i < 30; i++) {
          if (i % 3 === 0) requests.push([client.request("CalculateRequest", { numbers: [i, i, 1] }), { result: 2 * i + 1 }]);
          else if (i % 3 === 1) requests.push([client.request("Echo", { i, tag: `echo-${i}` }), { i, tag: `echo-${i}` }]);
          else requests.push([client.request("Slow", 5 + i), 5 + i]);
        }
        const unknown = client.request("NoSuchType", { i: -1 });
        const results = await Promise.all(requests.map(([p]) => p));
        requests.forEach(([, expected], i) => assert.deepEqual(results[i], expected, `request ${i}`));
        await assert.rejects(unknown, HandlerException);
      } finally {
        client.close();
      }
    });

    test("HandlerException rejections carry the code and message; the connection stays usable", T, async () => {
      const client = await open({ transport: "message" });
      try {
        await assert.rejects(client.request("NoSuchType", {}), (e) => {
          assert.ok(e instanceof HandlerException && e instanceof Error);
          assert.equal(e.name, "HandlerException");
          assert.equal(e.code, "unknown_type");
          assert.match(e.message, /NoSuchType/);
          assert.equal(e.type, "NoSuchType");
          assert.equal(typeof e.id, "number");
          return true;
        });
        // calc describes its API: the server refuses the Data by its schema, naming the field.
        await assert.rejects(client.request("CalculateRequest", { numbers: "two" }), {
          name: "HandlerException",
          code: "invalid_data",
          message: 'invalid CalculateRequest: numbers: expected an array, got "two"',
        });
        await assert.rejects(client.request("CalculateRequest", { numbers: [4e18, 4e18, 4e18] }), {
          code: "handler_error",
          message: "overflow: the sum does not fit in a signed 64-bit integer",
        });
        await assert.rejects(client.request("NotJson"), { code: "handler_failed" });
        assert.deepEqual(await client.request("CalculateRequest", { numbers: [] }), { result: 0 });
        assert.equal(client.state, "open");
      } finally {
        client.close();
      }
    });

    test("a request past its time limit rejects with TimeoutError; the late reply goes to on()", T, async () => {
      const client = await open({ transport: "subprotocol" });
      try {
        const late = new Promise((resolve) => client.on("SlowResponse", (data, message) => resolve([data, message])));
        await assert.rejects(client.request("Slow", 400, { timeoutMs: 50 }), TimeoutError);
        const [data, message] = await late;
        assert.equal(data, 400);
        assert.equal(message.Type, "SlowResponse");
        assert.deepEqual(await client.request("Echo", "still fine"), "still fine");
      } finally {
        client.close();
      }
    });

    test("close() rejects pending requests and stops for good", T, async () => {
      const client = await open({ transport: "subprotocol", initialDelayMs: 50 });
      const states = [];
      client.onState((s) => states.push(s));
      const pending = client.request("Slow", 300);
      client.close();
      await assert.rejects(pending, (e) => e instanceof ConnectionError && /closed by the client/.test(e.message));
      await assert.rejects(client.request("Echo", 1), ConnectionError);
      // Nothing may happen now, and a non-event has no condition to wait for: watch for eight
      // reconnect delays, past the time the Slow reply would have come.
      await sleep(400);
      assert.deepEqual(states, ["closed"]);
    });

    test("reconnects after the server closes the connection (handler-requested close 4000)", T, async () => {
      const client = await open({ transport: "message", initialDelayMs: 50 });
      const states = [];
      client.onState((s, detail) => states.push([s, detail.closeCode]));
      try {
        const reopened = waitForState(client, "reconnecting").then(() => waitForState(client, "open"));
        await assert.rejects(client.request("CloseMe", 4000), { code: "handler_error" });
        await reopened;
        assert.deepEqual(states[0], ["reconnecting", 4000]);
        assert.deepEqual(await client.request("WhoAmIRequest"), { user: USER });
        assert.deepEqual(client.user, USER);
      } finally {
        client.close();
      }
    });
  });
}

test("reconnects with backoff across a server crash; in-flight requests reject, queued ones are sent", T, async () => {
  const [, WebSocket] = implementations.at(-1);
  const initData = await signInitData(USER);
  let server = await startServer({ components: [CALC, SLOW] });
  const { address } = server;
  const client = await connect(server.ws, {
    initData,
    WebSocket,
    transport: "subprotocol",
    initialDelayMs: 100,
    maxDelayMs: 800,
    jitter: 0,
  });
  const delays = [];
  client.onState((state, { delayMs }) => {
    if (state === "reconnecting" && delayMs !== undefined) delays.push(delayMs);
  });
  try {
    assert.deepEqual(await client.request("CalculateRequest", { numbers: [1, 1] }), { result: 2 });
    const calls = 'extws_instances_created_total{tenant="default",lifecycle="fresh"}';
    const started = await metric(server, calls);
    const inFlight = client.request("Slow", 800);
    const rejected = assert.rejects(inFlight, (e) => {
      assert.ok(e instanceof ConnectionError, String(e));
      assert.match(e.message, /before the reply to Slow/);
      return true;
    });
    // The server is running the Slow call once its instance exists.
    await waitUntilAsync(async () => (await metric(server, calls)) > started);
    await server.stop("SIGKILL"); // no close frame: the socket just drops
    await rejected;
    assert.equal(client.state, "reconnecting");
    // Made while disconnected: waits for the next connection.
    const queued = client.request("CalculateRequest", { numbers: [20, 22] }, { timeoutMs: 20_000 });
    // Several refused attempts: 100, 200, 400, 800 ms, then capped at 800.
    await waitUntil(() => delays.length >= 5, 20_000);
    assert.deepEqual(delays.slice(0, 5), [100, 200, 400, 800, 800]);
    assert.ok(delays.every((d) => d <= 800), `delays ${delays}`);
    server = await startServer({ components: [CALC, SLOW], listen: address });
    assert.deepEqual(await queued, { result: 42 });
    assert.equal(client.state, "open");
    assert.deepEqual(await client.request("WhoAmIRequest"), { user: USER });
  } finally {
    client.close();
    await server.stop();
  }
});

test("unsolicited messages: with --fanout the second component's reply goes to on(type)", T, async () => {
  const [, WebSocket] = implementations.at(-1);
  const server = await startServer({ components: [CALC, path.join(GUESTS, "calc-rust.wasm")], args: ["--fanout"] });
  const client = await connect(server.ws, { initData: await signInitData(USER), WebSocket, transport: "query" });
  try {
    const extra = [];
    const any = [];
    client.on("CalculateResponse", (data) => extra.push(data));
    const offAny = client.on("*", (_data, message) => any.push(message.Type));
    assert.deepEqual(await client.request("CalculateRequest", { numbers: [3, 4] }), { result: 7 });
    await waitUntil(() => extra.length === 1);
    assert.deepEqual(extra, [{ result: 7 }]);
    assert.deepEqual(any, ["CalculateResponse"]);
    offAny();
    await client.request("CalculateRequest", { numbers: [1] });
    await waitUntil(() => extra.length === 2);
    assert.deepEqual(any, ["CalculateResponse"]);
  } finally {
    client.close();
    await server.stop();
  }
});

async function waitUntil(condition, ms = 5_000) {
  return waitUntilAsync(async () => condition(), ms);
}

async function waitUntilAsync(condition, ms = 5_000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms: ${condition}`);
    await sleep(10);
  }
}

/** The value of one series in the server's /metrics (0 when absent). */
async function metric(server, series) {
  const text = await (await fetch(new URL("/metrics", server.http))).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
