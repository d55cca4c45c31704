//! `node --import ./test/register.js`: resolves `extws-sdk` to this SDK and the WIT imports
//! (`extws:handler/...`) to the in-memory fakes of `fake-host.js`, so handlers run in Node.
import { register } from 'node:module';

register('./loader.js', import.meta.url);
