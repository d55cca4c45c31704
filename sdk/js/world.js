//! The exports of WIT world `extws:handler/described-handler`, as ComponentizeJS binds them:
//! `build.js` makes them the component's entry module, after importing the handler module, whose
//! registrations they dispatch to. Handler authors never import this file.

import { HandlerError } from './errors.js';
import { parseJson, stringify } from './json.js';
import { describeJson, handlers, hooks } from './registry.js';
import { DataError } from './schema.js';
import { toUser } from './user.js';

/** The WIT `handler-error` record for `error`. */
function witError(error) {
  if (error instanceof HandlerError) {
    return {
      message: error.message,
      closeConnection: error.closeConnection,
      closeCode: error.closeConnection ? error.closeCode : undefined,
    };
  }
  // A bug, not a decision: log where it happened; the client gets its message.
  console.error(`uncaught ${error?.stack ?? error}`);
  return { message: String(error?.message ?? error), closeConnection: false, closeCode: undefined };
}

/** `Data` text → the request model's value, or a HandlerError naming the problem. */
function decodeRequest(name, model, data) {
  let parsed;
  try {
    parsed = parseJson(data);
  } catch (e) {
    throw new HandlerError(`invalid ${name}: Data is not JSON (${e.message})`);
  }
  const value = parsed.value === null ? {} : parsed.value;
  try {
    return model.decode(value, '', parsed.exact);
  } catch (e) {
    if (e instanceof DataError) throw new HandlerError(`invalid ${name}: ${e.message}`);
    throw e;
  }
}

export function messageTypes() {
  return [...handlers.keys()];
}

export function handle(msgType, data, user) {
  try {
    const entry = handlers.get(msgType);
    if (entry === undefined) throw new HandlerError(`this component does not handle ${msgType}`);
    const request = decodeRequest(msgType, entry.request, data);
    const reply = entry.fn(request, toUser(user));
    if (typeof reply?.then === 'function') {
      throw new TypeError(`the ${msgType} handler returned a Promise: handlers are synchronous`);
    }
    return { msgType: entry.reply.name, data: stringify(reply ?? {}) };
  } catch (error) {
    throw witError(error);
  }
}

export function describe() {
  return describeJson();
}

function runHook(name, user) {
  const fn = hooks.get(name);
  if (fn === undefined) return;
  try {
    fn(toUser(user));
  } catch (error) {
    console.error(`${name} hook failed: ${error?.stack ?? error}`);
  }
}

export function onConnect(user) {
  runHook('on-connect', user);
}

export function onDisconnect(user) {
  runHook('on-disconnect', user);
}
