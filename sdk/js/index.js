//! extws-sdk: write extws-wasm message handlers in JavaScript or TypeScript.
//!
//! ```js
//! import { handle, t } from 'extws-sdk';
//! const Hello = t.model('HelloRequest', { name: t.string() });
//! const Greeting = t.model('Greeting', { text: t.string() });
//! handle(Hello, Greeting, ({ name }) => ({ text: `Hello, ${name}!` }));
//! ```
//!
//! `build.js` turns such a module into a component of WIT world `described-handler`.

export { HandlerError } from './errors.js';
export { handle, onConnect, onDisconnect, pushes } from './registry.js';
export { t } from './schema.js';
export { kv, log, push, session } from './state.js';
