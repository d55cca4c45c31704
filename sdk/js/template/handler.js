// The {{name}} handler. Each `handle` registers one request Type with its reply; the models'
// fields are the API that `extws-wasm describe {{name}}.wasm` prints and the host checks.

import { HandlerError, handle, t } from 'extws-sdk';

const HelloRequest = t.model('HelloRequest', {
  name: t.optional(t.string()), // absent: the user's first name
  times: t.optional(t.int32(), 1),
});
const HelloResponse = t.model('HelloResponse', { greeting: t.string() });

handle(HelloRequest, HelloResponse, ({ name, times }, user) => {
  if (times < 1 || times > 10) throw new HandlerError('times must be between 1 and 10');
  const who = name ?? user?.first_name ?? 'stranger';
  return { greeting: Array(times).fill(`Hello, ${who}!`).join(' ') };
});
