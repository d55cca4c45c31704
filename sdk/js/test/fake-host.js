//! In-memory stand-ins for the host's WIT imports, with the shapes ComponentizeJS gives them
//! (errors are thrown as `{ payload: { tag, val } }`). `fake` records what was called.

export const fake = (globalThis.extwsFakeHost ??= { store: new Map(), pushes: [], subscriptions: new Set(), logs: [], fail: null });

class ComponentError extends Error {
  constructor(tag, val) {
    super(`${tag}: ${val}`);
    this.payload = { tag, val };
  }
}

function check() {
  if (fake.fail) throw new ComponentError(fake.fail.tag, fake.fail.val);
}

const text = (bytes) => new TextDecoder().decode(bytes);

export function get(key) {
  check();
  return fake.store.get(key);
}
export function set(key, value, ttlMs) {
  check();
  if (!(value instanceof Uint8Array)) throw new TypeError('value must be bytes');
  if (ttlMs !== undefined && typeof ttlMs !== 'bigint') throw new TypeError('ttl must be a BigInt');
  fake.store.set(key, value);
}
function del(key) {
  check();
  return fake.store.delete(key);
}
export { del as delete };
export function increment(key, delta) {
  check();
  if (typeof delta !== 'bigint') throw new TypeError('delta must be a BigInt');
  const old = fake.store.has(key) ? BigInt(text(fake.store.get(key))) : 0n;
  const now = old + delta;
  fake.store.set(key, new TextEncoder().encode(String(now)));
  return now;
}
export function compareAndSwap(key, expected, next) {
  check();
  const old = fake.store.get(key);
  const same = expected === undefined ? old === undefined : old !== undefined && text(old) === text(expected);
  if (same) fake.store.set(key, next);
  return same;
}
export function listKeys(prefix, limit) {
  check();
  return [...fake.store.keys()].filter((k) => k.startsWith(prefix)).sort().slice(0, limit);
}
export function sendToUser(userId, msgType, data) {
  check();
  if (typeof userId !== 'bigint') throw new TypeError('user id must be a BigInt');
  fake.pushes.push({ userId, msgType, data });
}
export function publish(topic, msgType, data) {
  check();
  fake.pushes.push({ topic, msgType, data });
}
export function subscribe(topic) {
  check();
  fake.subscriptions.add(topic);
}
export function unsubscribe(topic) {
  check();
  fake.subscriptions.delete(topic);
}
export function log(level, message) {
  fake.logs.push([level, message]);
}
export const tenant = () => 'test';
export const initData = () => undefined;
