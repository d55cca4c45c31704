// Prints a built component's `describe` (and `message-types`) without the host: jco transpiles
// it to JavaScript and Node instantiates it, WASI from preview2-shim, the extws imports from
// fake-host.js. Usage: node test/describe-component.mjs COMPONENT.wasm NODE_MODULES
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as fake from './fake-host.js';

const [component, nodeModules] = process.argv.slice(2);
if (!component || !nodeModules) {
  console.error('usage: node test/describe-component.mjs COMPONENT.wasm NODE_MODULES');
  process.exit(2);
}
const out = mkdtempSync(join(tmpdir(), 'extws-describe-'));
process.on('exit', () => rmSync(out, { recursive: true, force: true }));
execFileSync(join(nodeModules, '.bin', 'jco'),
  ['transpile', component, '-o', out, '--name', 'component', '--instantiation', 'async', '--no-typescript', '--quiet'],
  { stdio: ['ignore', 'ignore', 'inherit'] });
const shim = await import(pathToFileURL(join(nodeModules, '@bytecodealliance/preview2-shim/dist/nodejs/index.js')));
const { instantiate } = await import(pathToFileURL(join(out, 'component.js')));
const camel = (s) => s.replace(/-(\w)/g, (_, c) => c.toUpperCase());
const telegram = { call: () => { throw new Error('no telegram here'); } };
const imports = new Proxy({}, {
  get(_, key) {
    const [ns, iface] = String(key).split('@')[0].split('/');
    if (ns === 'extws:handler') return iface === 'telegram' ? telegram : fake;
    return shim[ns.split(':')[1]][camel(iface)];
  },
  has: () => true,
});
const instance = await instantiate(async (p) => WebAssembly.compile(await readFile(join(out, p))), imports);
console.log(JSON.stringify({ messageTypes: instance.messageTypes(), describe: JSON.parse(instance.describe()) }));
