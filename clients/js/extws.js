// extws.js — a tiny, dependency-free client for extws-wasm (the protocol: docs/protocol.md and
// docs/auth.md in the repository).
//
//   import { connect, HandlerException } from "./extws.js";
//   const client = await connect("wss://api.example.com/", {
//     initData: window.Telegram.WebApp.initData,
//     transport: "subprotocol", // | "message" | "query" | "param" | "none"
//   });
//   const { result } = await client.request("CalculateRequest", { numbers: [2, 2] });
//
// Pushes to the user carry a `Seq`; the client remembers the last one and, on every reconnect,
// asks the server to replay what it missed (`client.on("gap", ...)` says when some was lost).
//
// Works with any WHATWG-style WebSocket: browsers, Node >= 22's global one, or the `ws` package
// passed as `options.WebSocket`. See README.md beside this file for the whole API.

/** The ways initData can reach the server (docs/auth.md's five transports, less the header one
 * that browsers cannot use, plus "none" for servers started with --no-auth). */
export const TRANSPORTS = Object.freeze(["subprotocol", "message", "query", "param", "none"]);

/** The server answered a request with {"Type":"HandlerException","Data":{code,message}}. */
export class HandlerException extends Error {
  constructor(code, message, { type, id } = {}) {
    super(message);
    this.name = "HandlerException";
    /** Machine-readable: invalid_message, unknown_type, forbidden_type, handler_error, handler_failed, timeout,
     * limit, overloaded, rate_limited, unauthenticated. */
    this.code = code;
    /** The request's Type. */
    this.type = type;
    /** The request's Id. */
    this.id = id;
  }
}

/** The connection failed or closed, so a request got no reply (or none could be sent). */
export class ConnectionError extends Error {
  constructor(message, { closeCode, reason } = {}) {
    super(message);
    this.name = "ConnectionError";
    /** The WebSocket close code (1006 when the connection failed before or without a close frame). */
    this.closeCode = closeCode;
    /** The close reason the server sent, if any. */
    this.reason = reason ?? "";
  }
}

/** The server refused the initData: close code 4401 with the reason (first-message transport),
 * or an HTTP 401 to the upgrade where the WebSocket implementation reports it (Node's `ws`).
 * Browsers hide that status: there a refused upgrade is a plain ConnectionError (1006). */
export class AuthError extends ConnectionError {
  constructor(message, details) {
    super(message, details);
    this.name = "AuthError";
  }
}

/** No reply within the request's (or the connection's) time limit. */
export class TimeoutError extends Error {
  constructor(message) {
    super(message);
    this.name = "TimeoutError";
  }
}

const CLOSE_UNAUTHENTICATED = 4401;
/** The server refused the resume Seq (malformed, or ahead of the user's latest). */
const CLOSE_BAD_RESUME = 4400;
/** The client closes with this to resume after a hole in the Seqs of its pushes. */
const CLOSE_RESUME_HOLE = 4000;

const DEFAULTS = {
  transport: undefined, // "subprotocol" when initData is given, else "none"
  paramName: "initData", // or "tgWebAppData", for transport "param"
  reconnect: true,
  initialDelayMs: 250,
  maxDelayMs: 10_000,
  factor: 2,
  jitter: 0.2, // ±20 % of each delay
  maxAttempts: Infinity, // reconnect attempts in a row before giving up
  connectTimeoutMs: 15_000, // open (and, for "message", the AuthResponse)
  requestTimeoutMs: 30_000, // 0 disables
  resume: true, // on reconnect, ask for the pushes missed since the last Seq
  lastSeq: null, // a Seq saved from an earlier page (e.g. sessionStorage): resume from it
};

/** Opens a client and resolves once it is connected (and authenticated). */
export function connect(url, options = {}) {
  return new ExtwsClient(url, options).connect();
}

/** initData → base64url without padding (UTF-8), as the `tma.` subprotocol carries it. */
export function base64url(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The URL and subprotocols of one connection attempt for a transport; `resume` (the last Seq
 * seen, or null) goes in the query as `resume=N` (the "message" transport sends it in Auth). */
export function connectionTarget(url, transport, initData, paramName = "initData", resume = null) {
  const u = new URL(url, globalThis.location?.href);
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  u.hash = "";
  let protocols = [];
  switch (transport) {
    case "query": // the whole query string is the initData
      u.search = `?${initData}`;
      break;
    case "param":
      u.search = `${u.search ? `${u.search}&` : "?"}${paramName}=${encodeURIComponent(initData)}`;
      break;
    case "subprotocol": // the server echoes "extws"; always offer it first
      protocols = ["extws", `tma.${base64url(initData)}`];
      break;
    case "message":
    case "none":
      break;
    default:
      throw new TypeError(`unknown transport ${JSON.stringify(transport)}: use one of ${TRANSPORTS.join(", ")}`);
  }
  if (resume !== null && transport !== "message") {
    u.search = `${u.search ? `${u.search}&` : "?"}resume=${resume}`;
  }
  return { url: u.href, protocols };
}

export class ExtwsClient {
  #opts;
  #ws = null;
  #state = "idle"; // idle | connecting | open | reconnecting | closed
  #nextId = 1;
  #pending = new Map(); // Id -> { type, frame, sent, resolve, reject, timer }
  #handlers = new Map(); // Type (or "*") -> Set<fn>
  #stateListeners = new Set();
  #attempt = 0;
  #retryTimer = null;
  #connecting = null; // { resolve, reject } of the connect() in progress
  #everOpened = false;
  #lastSeq = null; // the newest Seq received (pushes to the user), or null
  #afterGap = false; // a ResumeGap came and no Seq since: the next Seq may jump
  #resuming = null; // the socket being closed to resume after a hole in the Seqs
  // Messages (and a close) that arrive in the same task as the opening, held until the next
  // one: the code awaiting connect() registers its handlers first. The server writes the
  // AuthResponse, a resume's replay and its error together, so they may come in one read.
  #held = null;

  /**
   * @param {string} url ws:, wss:, http(s): (mapped to ws(s):) or relative to the page.
   * @param {object} [options] see README.md: initData, transport, paramName, WebSocket, reconnect,
   *   initialDelayMs, maxDelayMs, factor, jitter, maxAttempts, connectTimeoutMs, requestTimeoutMs,
   *   shouldReconnect(closeCode, reason) -> boolean, resume, lastSeq.
   */
  constructor(url, options = {}) {
    const opts = { ...DEFAULTS, ...options };
    opts.initData = opts.initData ?? "";
    opts.transport = opts.transport ?? (opts.initData ? "subprotocol" : "none");
    opts.WebSocket = opts.WebSocket ?? globalThis.WebSocket;
    if (!TRANSPORTS.includes(opts.transport)) {
      throw new TypeError(`unknown transport ${JSON.stringify(opts.transport)}: use one of ${TRANSPORTS.join(", ")}`);
    }
    if (opts.transport !== "none" && !opts.initData) {
      throw new TypeError(`transport "${opts.transport}" needs initData`);
    }
    if (typeof opts.WebSocket !== "function") {
      throw new TypeError("no WebSocket implementation: pass options.WebSocket (e.g. the `ws` package)");
    }
    connectionTarget(url, opts.transport, opts.initData, opts.paramName); // validates the URL early
    if (opts.lastSeq !== null && !(Number.isSafeInteger(opts.lastSeq) && opts.lastSeq >= 0)) {
      throw new TypeError("lastSeq must be a non-negative integer (a Seq the server sent) or null");
    }
    this.url = url;
    this.#opts = opts;
    this.#lastSeq = opts.lastSeq;
    /** The user from the AuthResponse (transport "message" only), else null. */
    this.user = null;
  }

  /** idle | connecting | open | reconnecting | closed */
  get state() {
    return this.#state;
  }

  get transport() {
    return this.#opts.transport;
  }

  /** The newest `Seq` of a push received (save it to resume after a page reload), or null. */
  get lastSeq() {
    return this.#lastSeq;
  }

  /** Connects (again, if closed). Resolves with the client once open and authenticated; rejects
   * with AuthError / ConnectionError / TimeoutError if this first attempt fails (no retry: the
   * app decides). Reconnection with backoff applies to connections that were once open. */
  connect() {
    if (this.#state === "open") return Promise.resolve(this);
    if (this.#connecting) return this.#connecting.promise;
    if (this.#state === "reconnecting") {
      // Already retrying: wait for that loop's outcome instead of starting another.
      return new Promise((resolve, reject) => {
        const off = this.onState((state, { error }) => {
          if (state === "open") (off(), resolve(this));
          else if (state === "closed") (off(), reject(error));
        });
      });
    }
    let resolve, reject;
    const promise = new Promise((res, rej) => ((resolve = res), (reject = rej)));
    this.#connecting = { promise, resolve, reject };
    this.#everOpened = false;
    this.#attempt = 0;
    this.#open();
    return promise;
  }

  /** Sends {"Type":type,"Data":data,"Id":n} and resolves with the reply's Data, or rejects with
   * a HandlerException (the server's code and message), a ConnectionError (closed before the
   * reply) or a TimeoutError. While (re)connecting, requests wait and are sent once open. */
  request(type, data, { timeoutMs = this.#opts.requestTimeoutMs } = {}) {
    if (typeof type !== "string" || !type) {
      return Promise.reject(new TypeError("request type must be a non-empty string"));
    }
    if (this.#state === "idle" || this.#state === "closed") {
      return Promise.reject(new ConnectionError(`not connected (${this.#state}): call connect() first`));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const frame = JSON.stringify({ Type: type, Data: data, Id: id }); // a throw here rejects
      const entry = { type, frame, sent: false, resolve, reject, timer: null };
      if (timeoutMs > 0) {
        entry.timer = setTimeout(() => {
          this.#pending.delete(id);
          reject(new TimeoutError(`no reply to ${type} (Id ${id}) within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.#pending.set(id, entry);
      if (this.#state === "open") this.#send(entry);
    });
  }

  /** Calls fn(data, message) for each message of this Type that settles no request (a message
   * without a known Id: server pushes, extra --fanout replies, late replies). "*" gets all of
   * them. Returns a function that unsubscribes. */
  on(type, fn) {
    if (!this.#handlers.has(type)) this.#handlers.set(type, new Set());
    this.#handlers.get(type).add(fn);
    return () => this.off(type, fn);
  }

  off(type, fn) {
    this.#handlers.get(type)?.delete(fn);
  }

  /** Calls fn(state, detail) on every state change: detail has closeCode, reason, error,
   * attempt and delayMs where they apply. Returns a function that unsubscribes. */
  onState(fn) {
    this.#stateListeners.add(fn);
    return () => this.#stateListeners.delete(fn);
  }

  /** Closes for good (no reconnect); pending requests reject with a ConnectionError. */
  close(code = 1000, reason = "") {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      detach(ws);
      try {
        ws.close(code, reason);
      } catch {
        ws.close();
      }
    }
    const error = new ConnectionError("closed by the client", { closeCode: code, reason });
    this.#finish(error);
  }

  // ---- internals ----

  #setState(state, detail = {}) {
    this.#state = state;
    for (const fn of [...this.#stateListeners]) {
      try {
        fn(state, detail);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }

  #open() {
    const { transport, initData, paramName, connectTimeoutMs } = this.#opts;
    const resume = this.#opts.resume ? this.#lastSeq : null;
    const { url, protocols } = connectionTarget(this.url, transport, initData, paramName, resume);
    this.#setState(this.#everOpened ? "reconnecting" : "connecting", { attempt: this.#attempt });
    let ws;
    try {
      ws = protocols.length ? new this.#opts.WebSocket(url, protocols) : new this.#opts.WebSocket(url);
    } catch (e) {
      this.#failed(null, 1006, String(e?.message ?? e), false);
      return;
    }
    this.#ws = ws;
    ws.binaryType = "arraybuffer";
    let opened = false; // the socket (not necessarily the session) is open
    let lastError = "";
    const connectTimer = setTimeout(() => {
      if (this.#ws !== ws || this.#state === "open") return;
      detach(ws);
      ws.close();
      this.#ws = null;
      this.#failed(null, 1006, `no connection within ${connectTimeoutMs} ms`, opened, true);
    }, connectTimeoutMs);
    const listeners = {
      open: () => {
        opened = true;
        if (transport === "message") {
          const data = resume === null ? { initData } : { initData, resume };
          ws.send(JSON.stringify({ Type: "Auth", Data: data }));
        } else {
          clearTimeout(connectTimer);
          this.#opened();
        }
      },
      message: (event) => {
        const message = decode(event.data);
        if (!message) return;
        if (this.#state !== "open" && transport === "message") {
          if (message.Type === "AuthResponse") {
            clearTimeout(connectTimer);
            this.user = message.Data?.user ?? null;
            this.#opened();
          } else if (message.Type === "HandlerException") {
            lastError = message.Data?.message ?? "";
          }
          return;
        }
        if (this.#held) this.#held.push(message);
        else this.#dispatch(message);
      },
      error: (event) => {
        lastError = event?.message || event?.error?.message || lastError;
        // A failed socket fires error then close (1006); some (Node 20's undici, on a refused or
        // non-101 handshake) fire only error. Give close a moment, then act without it.
        if (ws.readyState === 3 /* CLOSED */ || !opened) {
          setTimeout(() => closed({ code: 1006, reason: "" }), 50);
        }
      },
      close: (event) => closed(event),
    };
    const closed = (event) => {
      clearTimeout(connectTimer);
      if (this.#ws !== ws) return;
      if (this.#held) {
        setTimeout(() => closed(event), 0); // after the held messages
        return;
      }
      detach(ws);
      this.#ws = null;
      this.#failed(event.code, event.code ?? 1006, event.reason || lastError, opened);
    };
    LISTENERS.set(ws, listeners);
    for (const [name, fn] of Object.entries(listeners)) ws.addEventListener(name, fn);
  }

  #opened() {
    this.#everOpened = true;
    this.#attempt = 0;
    const held = (this.#held = []);
    setTimeout(() => {
      if (this.#held === held) this.#held = null;
      for (const message of held) this.#dispatch(message);
    }, 0);
    this.#setState("open");
    for (const entry of this.#pending.values()) if (!entry.sent) this.#send(entry);
    if (this.#connecting) {
      this.#connecting.resolve(this);
      this.#connecting = null;
    }
  }

  #send(entry) {
    entry.sent = true;
    this.#ws.send(entry.frame);
  }

  #dispatch(message) {
    if (Number.isSafeInteger(message.Seq)) {
      // A user's Seqs are consecutive within a history, so a Seq above the next one means
      // pushes were lost on the way (the server fills such holes itself; this is the client's
      // own check). Resume from the last one instead: the replay brings this push too. After
      // a ResumeGap, the next Seq may jump: the server has said what was lost.
      const hole = this.#lastSeq !== null && message.Seq > this.#lastSeq + 1 && !this.#afterGap;
      if (hole && this.#opts.resume) {
        this.#resumeAfterHole(message.Seq);
        return;
      }
      this.#afterGap = false;
      if (this.#lastSeq === null || message.Seq > this.#lastSeq) this.#lastSeq = message.Seq;
    }
    if (message.Type === "ResumeGap") this.#afterGap = true;
    const entry = typeof message.Id === "number" ? this.#pending.get(message.Id) : undefined;
    if (entry && entry.sent) {
      this.#pending.delete(message.Id);
      clearTimeout(entry.timer);
      if (message.Type === "HandlerException") {
        const { code = "unknown", message: text = "" } = message.Data ?? {};
        entry.reject(new HandlerException(code, text, { type: entry.type, id: message.Id }));
      } else {
        entry.resolve(message.Data ?? null);
      }
      return;
    }
    const keys = message.Type === "ResumeGap" ? [message.Type, "gap", "*"] : [message.Type, "*"];
    this.#emit(keys, message);
  }

  /** Drops this socket (and every push it still brings) and resumes from the last Seq. */
  #resumeAfterHole(seq) {
    const ws = this.#ws;
    if (!ws || this.#resuming === ws) return;
    this.#resuming = ws;
    ws.close(CLOSE_RESUME_HOLE, `pushes ${this.#lastSeq + 1}..${seq - 1} missing: resuming`);
  }

  #emit(keys, message) {
    for (const key of keys) {
      for (const fn of [...(this.#handlers.get(key) ?? [])]) {
        try {
          fn(message.Data ?? null, message);
        } catch (e) {
          queueMicrotask(() => {
            throw e;
          });
        }
      }
    }
  }

  /** The socket closed (or could not open). */
  #failed(rawCode, closeCode, reason, socketOpened, timedOut = false) {
    const wasOpen = this.#state === "open";
    const what = wasOpen ? "connection closed" : socketOpened ? "closed before authentication" : "could not connect";
    const text = `${what} (${closeCode}${reason ? `: ${reason}` : ""})`;
    const details = { closeCode, reason };
    // 4401: first-message auth refused. Before the upgrade, browsers hide the HTTP 401, but
    // some clients (Node's `ws`) say "Unexpected server response: 401".
    const refused = closeCode === CLOSE_UNAUTHENTICATED || (!socketOpened && /\b401\b/.test(reason));
    const error = refused
      ? new AuthError(`initData refused: ${reason || "unauthenticated"}`, details)
      : timedOut ? new TimeoutError(text) : new ConnectionError(text, details);

    // The resume Seq was refused (it belongs to another history, or is corrupt): forget it, so
    // the next attempt starts afresh, and tell the app it may have missed pushes.
    const badResume = closeCode === CLOSE_BAD_RESUME && this.#lastSeq !== null;
    if (badResume) {
      const data = { resume: this.#lastSeq, first: null, latest: null, error: reason };
      this.#lastSeq = null;
      this.#emit(["gap"], { Type: "ResumeGap", Data: data });
    }

    // Requests already sent can't be answered on another connection (and may not be idempotent).
    for (const [id, entry] of this.#pending) {
      if (!entry.sent) continue;
      this.#pending.delete(id);
      clearTimeout(entry.timer);
      entry.reject(new ConnectionError(`${text} before the reply to ${entry.type} (Id ${id})`, details));
    }

    const { reconnect, maxAttempts, shouldReconnect } = this.#opts;
    // A refused resume is retried (without it) even by a first connect(): it is no fault of
    // the connection.
    const retry = reconnect && !refused && this.#attempt < maxAttempts
      && (badResume || (this.#everOpened && !this.#connecting
        && (!shouldReconnect || shouldReconnect(rawCode ?? closeCode, reason))));
    if (!retry) {
      this.#finish(error);
      return;
    }
    const { initialDelayMs, maxDelayMs, factor, jitter } = this.#opts;
    const base = Math.min(maxDelayMs, initialDelayMs * factor ** this.#attempt);
    const delayMs = Math.round(base * (1 + jitter * (2 * Math.random() - 1)));
    this.#attempt += 1;
    this.#setState("reconnecting", { closeCode, reason, error, attempt: this.#attempt, delayMs });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#open();
    }, delayMs);
  }

  /** Closed for good: reject everything still waiting. */
  #finish(error) {
    for (const [id, entry] of this.#pending) {
      this.#pending.delete(id);
      clearTimeout(entry.timer);
      entry.reject(error);
    }
    if (this.#connecting) {
      this.#connecting.reject(error);
      this.#connecting = null;
    }
    if (this.#state !== "closed") {
      this.#setState("closed", { closeCode: error.closeCode, reason: error.reason, error });
    }
  }
}

const LISTENERS = new WeakMap(); // socket -> its listeners, so a replaced socket goes quiet

function detach(ws) {
  const listeners = LISTENERS.get(ws);
  if (!listeners) return;
  for (const [name, fn] of Object.entries(listeners)) ws.removeEventListener(name, fn);
  LISTENERS.delete(ws);
}

/** A frame → the envelope object, or null (the server only sends JSON objects). */
function decode(data) {
  let text = data;
  if (typeof text !== "string") {
    try {
      text = new TextDecoder().decode(data);
    } catch {
      return null;
    }
  }
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}
