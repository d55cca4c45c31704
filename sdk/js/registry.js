//! What the handler module registers (handlers per request Type, pushed models, hooks) and the
//! `describe` JSON built from it.

/** Request Type → `{ request, reply, fn }`, in registration order. */
export const handlers = new Map();
/** Push Type → model. */
export const pushModels = new Map();
/** `on-connect` / `on-disconnect` → function. */
export const hooks = new Map();

const isModel = (m) => typeof m?.decode === 'function' && typeof m?.name === 'string';

/**
 * Registers `fn` for requests of `request.name`, replying `reply.name`. `fn(req, user)` gets the
 * decoded `Data` and the user (or null) and returns the reply's `Data`.
 */
export function handle(request, reply, fn) {
  if (!isModel(request)) throw new TypeError('handle: the request must be a t.model(name, ...)');
  if (!isModel(reply)) throw new TypeError(`handle ${request.name}: the reply must be a t.model`);
  if (typeof fn !== 'function') throw new TypeError(`handle ${request.name}: no function`);
  if (handlers.has(request.name)) {
    throw new TypeError(`handle: ${request.name} is already registered`);
  }
  handlers.set(request.name, { request, reply, fn });
}

/** Declares the models this component pushes (for `describe`'s `pushes`). */
export function pushes(...models) {
  for (const model of models) {
    if (!isModel(model)) throw new TypeError('pushes: every argument must be a t.model');
    pushModels.set(model.name, model);
  }
}

/** Runs `fn(user)` when a connection is authenticated. */
export function onConnect(fn) {
  hooks.set('on-connect', fn);
}

/** Runs `fn(user)` when a connection closes (best-effort). */
export function onDisconnect(fn) {
  hooks.set('on-disconnect', fn);
}

/** The `describe` JSON (see `wit/handler.wit`, world `described-handler`). */
export function describeJson() {
  const types = {};
  for (const [name, { request, reply }] of handlers) {
    types[name] = { request: request.json, reply: reply.name, reply_schema: reply.json };
  }
  const api = { types };
  if (pushModels.size > 0) {
    api.pushes = Object.fromEntries([...pushModels].map(([name, m]) => [name, m.json]));
  }
  api.hooks = ['on-connect', 'on-disconnect'].filter((hook) => hooks.has(hook));
  return JSON.stringify(api);
}
