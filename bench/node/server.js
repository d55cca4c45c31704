// The `node` baseline: the same protocol as extws-wasm, written the way a Mini App backend
// usually is: Node.js, the npm `ws` package, the handlers in-process, JSON.parse/stringify.
// initData is checked (HMAC-SHA256 with the bot token, Telegram's first-party scheme) in the
// upgrade, before the WebSocket exists; the calc follows guest-examples/CONFORMANCE.md.
//
//   node server.js [--listen 127.0.0.1:0] [--bot-token TOKEN]
//
// Prints `listening on ws://ADDR` on stderr once it accepts connections, like extws-wasm.

import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { WebSocketServer } from "ws";

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

const { values: args } = parseArgs({
  options: {
    listen: { type: "string", default: "127.0.0.1:0" },
    "bot-token": { type: "string" },
  },
});

class HandlerException extends Error {
  constructor(message, code = "handler_error") {
    super(message);
    this.code = code;
  }
}

const INVALID = 'invalid CalculateRequest: expected {"numbers": [integers]}';

// Handlers by request Type, as the predecessor registered them.
const handlers = {
  CalculateRequest(data) {
    const numbers = data?.numbers;
    if (!Array.isArray(numbers)) throw new HandlerException(INVALID);
    let total = 0n;
    for (const n of numbers) {
      // JSON.parse gives doubles: only safe integers are exact (what a Node backend accepts).
      if (!Number.isSafeInteger(n)) throw new HandlerException(INVALID);
      total += BigInt(n);
      if (total < I64_MIN || total > I64_MAX) {
        throw new HandlerException("overflow: the sum does not fit in a signed 64-bit integer");
      }
    }
    const result = Number.isSafeInteger(Number(total)) ? Number(total) : total.toString();
    return ["CalculateResponse", { result }];
  },
  WhoAmIRequest(_data, user) {
    return ["WhoAmIResponse", { user }];
  },
};

/** The user of valid initData (or null when it has none); throws when it is not valid. */
function validateInitData(raw, botToken) {
  const params = new URLSearchParams(raw);
  const received = params.get("hash") ?? "";
  params.delete("hash");
  const check = [...params.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("\n");
  const secret = createHmac("sha256", "WebAppData").update(botToken).digest();
  const expected = createHmac("sha256", secret).update(check).digest();
  const got = Buffer.from(received, "hex");
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
    throw new Error("bad initData signature");
  }
  const user = params.get("user");
  return user ? JSON.parse(user) : null;
}

function error(code, message, id) {
  const out = { Type: "HandlerException", Data: { code, message } };
  if (id !== undefined && id !== null) out.Id = id;
  return JSON.stringify(out);
}

function onMessage(text, user) {
  let envelope;
  try {
    envelope = JSON.parse(text);
  } catch (e) {
    return error("invalid_message", e.message);
  }
  if (typeof envelope?.Type !== "string") return error("invalid_message", "no Type");
  const handler = handlers[envelope.Type];
  if (!Object.hasOwn(handlers, envelope.Type)) {
    return error("unknown_type", `no handler for Type '${envelope.Type}'`, envelope.Id);
  }
  try {
    const [Type, Data] = handler(envelope.Data, user);
    const out = { Type, Data };
    if (envelope.Id !== undefined && envelope.Id !== null) out.Id = envelope.Id;
    return JSON.stringify(out);
  } catch (e) {
    if (e instanceof HandlerException) return error(e.code, e.message, envelope.Id);
    throw e;
  }
}

const botToken = args["bot-token"];
const http = createServer((_req, res) => res.writeHead(426).end("WebSocket only\n"));
const wss = new WebSocketServer({ noServer: true, maxPayload: 4 << 20 });
http.on("upgrade", (req, socket, head) => {
  let user = null;
  if (botToken !== undefined) {
    try {
      user = validateInitData(req.url.split("?")[1] ?? "", botToken);
    } catch {
      socket.end("HTTP/1.1 401 Unauthorized\r\nContent-Length: 13\r\n\r\nunauthorized\n");
      return;
    }
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on("message", (data, isBinary) => {
      if (isBinary) return ws.close(1003, "text frames only");
      ws.send(onMessage(data.toString(), user));
    });
  });
});

const [host, port] = [args.listen.slice(0, args.listen.lastIndexOf(":")), args.listen.slice(args.listen.lastIndexOf(":") + 1)];
http.listen(Number(port), host, () => {
  const a = http.address();
  process.stderr.write(`listening on ws://${a.address}:${a.port}\n`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    for (const ws of wss.clients) ws.terminate();
    http.close(() => process.exit(0));
  });
}
