//! `kv`, `push`, `log` and `session`: the host's imports with JSON values, BigInt ids and
//! `HandlerError`s for failures.

import * as witKv from 'extws:handler/kv@0.1.3';
import * as witLog from 'extws:handler/log@0.1.3';
import * as witPush from 'extws:handler/push@0.1.3';
import * as witSession from 'extws:handler/session@0.1.3';
import { HandlerError } from './errors.js';
import { parseJson, stringify } from './json.js';
import { DataError, t } from './schema.js';

const KV_PROBLEMS = {
  'quota-exceeded': 'quota exceeded',
  unavailable: 'store unavailable',
  invalid: 'invalid',
};
const PUSH_PROBLEMS = { unavailable: 'push unavailable', invalid: 'invalid push' };

/** Runs a WIT call; its error (a ComponentError with `payload` {tag, val}) → HandlerError. */
function call(problems, fn) {
  try {
    return fn();
  } catch (error) {
    const payload = error?.payload;
    if (payload?.tag === undefined) throw error;
    throw new HandlerError(`${problems[payload.tag] ?? payload.tag}: ${payload.val}`, {
      cause: payload,
    });
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (value) => encoder.encode(stringify(value));
const kvCall = (fn) => call(KV_PROBLEMS, fn);
const pushCall = (fn) => call(PUSH_PROBLEMS, fn);
const anyValue = t.any();

/** The tenant's key-value store, with JSON values. */
export const kv = Object.freeze({
  /** The value at `key` (decoded by `schema` when given, else as plain JSON), or undefined. */
  get(key, schema = anyValue) {
    const stored = kvCall(() => witKv.get(key));
    if (stored === undefined) return undefined;
    const { value, exact } = parseJson(decoder.decode(stored));
    try {
      return schema.decode(value, '', exact);
    } catch (e) {
      if (e instanceof DataError) throw new HandlerError(`kv ${key}: ${e.message}`);
      throw e;
    }
  },
  /** Sets `key` to `value` as JSON, expiring after `ttlMs` milliseconds when given. */
  set(key, value, options = {}) {
    const ttl = options.ttlMs === undefined ? undefined : BigInt(options.ttlMs);
    kvCall(() => witKv.set(key, bytes(value), ttl));
  },
  /** Deletes `key`; true if it existed. */
  delete(key) {
    return kvCall(() => witKv.delete(key));
  },
  /** Adds `delta` (default 1) to the integer at `key` (absent = 0); returns the new value. */
  increment(key, delta = 1n) {
    return kvCall(() => witKv.increment(key, BigInt(delta)));
  },
  /**
   * Sets `key` to `next` if it holds `expected` (undefined: if it is absent); true if it did.
   * Values compare as JSON text, so `expected` is best the value `get` returned.
   */
  compareAndSwap(key, expected, next) {
    const old = expected === undefined ? undefined : bytes(expected);
    return kvCall(() => witKv.compareAndSwap(key, old, bytes(next)));
  },
  /** Keys starting with `prefix`, sorted, at most `limit` (the host caps it at 1000). */
  listKeys(prefix = '', limit = 1000) {
    return kvCall(() => witKv.listKeys(prefix, limit));
  },
});

/** Server push to other connections of this tenant; the pushed `Type` is the model's name. */
export const push = Object.freeze({
  /** Sends `data` as `model` to every connection of Telegram user `userId`. */
  toUser(userId, model, data) {
    pushCall(() => witPush.sendToUser(BigInt(userId), model.name, stringify(data)));
  },
  /** Sends `data` as `model` to every connection subscribed to `topic`. */
  publish(topic, model, data) {
    pushCall(() => witPush.publish(topic, model.name, stringify(data)));
  },
  /** Subscribes this connection to `topic`. */
  subscribe(topic) {
    pushCall(() => witPush.subscribe(topic));
  },
  /** Unsubscribes this connection from `topic`. */
  unsubscribe(topic) {
    pushCall(() => witPush.unsubscribe(topic));
  },
});

/** The host's log, tagged with the tenant and component. */
export const log = Object.freeze(
  Object.fromEntries(
    ['trace', 'debug', 'info', 'warn', 'error'].map((level) => [
      level,
      (message) => witLog.log(level, String(message)),
    ]),
  ),
);

/** The connection: the tenant's name, the rest of the initData (or undefined), and where
 * the current call came from (`{tag: 'client'}`, `{tag: 'update', val: updateId}`,
 * `{tag: 'schedule'}` or `{tag: 'cli'}`). */
export const session = Object.freeze({
  tenant: () => witSession.tenant(),
  initData: () => witSession.initData(),
  origin: () => witSession.origin(),
});
