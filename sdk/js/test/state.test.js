// kv, push, hooks and pushes against the fake host imports; describe with hooks and pushes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HandlerError, handle, kv, onConnect, push, pushes, t } from 'extws-sdk';
import { describe, handle as witHandle, onConnect as witOnConnect, onDisconnect } from '../world.js';
import { fake } from './fake-host.js';

const Changed = t.model('CounterChanged', { user: t.int64(), count: t.int64() });
const Inc = t.model('IncrementRequest', { by: t.optional(t.int64(), 1n) });
const IncR = t.model('IncrementResponse', { count: t.int64() });
pushes(Changed);
handle(Inc, IncR, ({ by }, user) => {
  if (user === null) throw HandlerError.close(4001, 'log in first');
  const count = kv.increment(`count:${user.id}`, by);
  push.publish('counter', Changed, { user: user.id, count });
  return { count };
});
let connected = [];
onConnect((user) => connected.push(user));

const big = { id: 9223372036854775807n, firstName: 'Max' };

test('a handler with kv and push', () => {
  assert.deepEqual(witHandle('IncrementRequest', '{}', big), { msgType: 'IncrementResponse', data: '{"count":1}' });
  assert.deepEqual(witHandle('IncrementRequest', '{"by":9007199254740993}', big).data, '{"count":9007199254740994}');
  assert.deepEqual(fake.pushes.at(-1), { topic: 'counter', msgType: 'CounterChanged', data: '{"user":9223372036854775807,"count":9007199254740994}' });
  assert.throws(() => witHandle('IncrementRequest', '{}', undefined), { message: 'log in first', closeConnection: true, closeCode: 4001 });
});

test('kv: JSON values, exact integers, schemas, CAS, keys', () => {
  kv.set('a', { n: 2n ** 62n, s: 'x', l: [1, 2.5] }, { ttlMs: 1000 });
  assert.deepEqual(kv.get('a'), { n: 2n ** 62n, s: 'x', l: [1, 2.5] });
  assert.equal(kv.get('missing'), undefined);
  kv.set('c', 5);
  assert.equal(kv.get('c', t.int64()), 5n);
  assert.throws(() => kv.get('a', t.int64()), { name: 'HandlerError', message: 'kv a: expected an integer, got {"n":4611686018427387904,"s":"x","l":[1…' });
  assert.equal(kv.compareAndSwap('c', 4, 6), false);
  assert.equal(kv.compareAndSwap('c', kv.get('c'), 6), true);
  assert.equal(kv.compareAndSwap('new', undefined, 'v'), true);
  assert.equal(kv.compareAndSwap('new', undefined, 'w'), false);
  assert.deepEqual(kv.listKeys('c'), ['c', 'count:9223372036854775807']);
  assert.equal(kv.delete('c'), true);
  assert.equal(kv.delete('c'), false);
  assert.equal(typeof kv.increment('n', 2), 'bigint');
});

test('kv and push failures are HandlerErrors', () => {
  fake.fail = { tag: 'quota-exceeded', val: 'too many keys' };
  assert.throws(() => kv.set('x', 1), (e) => e instanceof HandlerError && e.message === 'quota exceeded: too many keys' && !e.closeConnection);
  fake.fail = { tag: 'unavailable', val: 'redis down' };
  assert.throws(() => kv.get('x'), { message: 'store unavailable: redis down' });
  assert.throws(() => push.subscribe('t'), { message: 'push unavailable: redis down' });
  fake.fail = { tag: 'invalid', val: 'empty topic' };
  assert.throws(() => push.toUser(1, Changed, { user: 1, count: 1 }), { message: 'invalid push: empty topic' });
  assert.throws(() => witHandle('IncrementRequest', '{}', big), { message: 'invalid: empty topic' });
  fake.fail = null;
  push.toUser(1, Changed, { user: 1, count: 1 });
  assert.equal(fake.pushes.at(-1).userId, 1n);
});

test('hooks: only registered ones run and are described', () => {
  witOnConnect({ id: 5n, firstName: 'A', username: undefined });
  witOnConnect(undefined);
  onDisconnect(undefined); // none registered: a no-op
  assert.deepEqual(connected, [{ id: 5n, first_name: 'A' }, null]);
  const api = JSON.parse(describe());
  assert.deepEqual(api.hooks, ['on-connect']);
  assert.deepEqual(Object.keys(api.pushes), ['CounterChanged']);
  assert.deepEqual(api.types.IncrementRequest.request.required, []);
  assert.equal(api.types.IncrementRequest.reply, 'IncrementResponse');
});

test('registration mistakes are caught at load', () => {
  assert.throws(() => handle(Inc, IncR, () => ({})), /already registered/);
  assert.throws(() => handle(t.object({}), IncR, () => ({})), /t.model/);
  assert.throws(() => t.model('X', { a: 1 }), /field a: not a schema/);
});
