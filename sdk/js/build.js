#!/usr/bin/env node
//! Builds a handler module into a WebAssembly component of WIT world `described-handler`:
//! esbuild bundles the module (JavaScript or TypeScript; `extws-sdk` resolves to this SDK)
//! with the SDK's world exports into one ES module, then ComponentizeJS makes the component.
//!
//! Usage: node build.js HANDLER.(js|ts) OUT.wasm [--wit DIR] [--node-modules DIR] [--aot]
//!
//! `--wit` defaults to `$EXTWS_WIT`, else `wit/` beside the handler. The npm tools (esbuild,
//! @bytecodealliance/componentize-js) come from `--node-modules`, `$EXTWS_NODE_MODULES`, or the
//! nearest `node_modules` above the handler or the current directory.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SDK = dirname(fileURLToPath(import.meta.url));

function usage(message) {
  if (message) console.error(`build.js: ${message}`);
  console.error('usage: node build.js HANDLER.(js|ts) OUT.wasm [--wit DIR] [--node-modules DIR] [--aot]');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { positional: [], aot: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--aot') opts.aot = true;
    else if (arg === '--wit' || arg === '--node-modules') {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      opts[arg === '--wit' ? 'wit' : 'nodeModules'] = argv[++i];
    } else if (arg.startsWith('-')) usage(`unknown option ${arg}`);
    else opts.positional.push(arg);
  }
  if (opts.positional.length !== 2) usage();
  return opts;
}

/** The nearest `node_modules` holding esbuild, walking up from each of `starts`. */
function findNodeModules(starts) {
  for (const start of starts) {
    for (let dir = resolve(start); ; dir = dirname(dir)) {
      const candidate = join(dir, 'node_modules');
      if (existsSync(join(candidate, 'esbuild'))) return candidate;
      if (dirname(dir) === dir) break;
    }
  }
  return undefined;
}

const opts = parseArgs(process.argv.slice(2));
const entry = resolve(opts.positional[0]);
const out = resolve(opts.positional[1]);
if (!existsSync(entry)) usage(`no such handler module: ${entry}`);
const wit = resolve(opts.wit ?? process.env.EXTWS_WIT ?? join(dirname(entry), 'wit'));
if (!existsSync(wit)) usage(`no WIT at ${wit} (pass --wit DIR)`);
const nodeModules =
  opts.nodeModules ?? process.env.EXTWS_NODE_MODULES ?? findNodeModules([dirname(entry), process.cwd()]);
if (nodeModules === undefined || !existsSync(join(nodeModules, 'esbuild'))) {
  usage('esbuild and @bytecodealliance/componentize-js are not installed (npm install)');
}

// 1. One ES module: the handler's registrations, then the world's exports.
const esbuild = createRequire(join(nodeModules, 'noop.js'))('esbuild');
const work = mkdtempSync(join(tmpdir(), 'extws-sdk-build-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const bundle = join(work, 'component.js');
const sdkResolver = {
  name: 'extws-sdk',
  setup(build) {
    build.onResolve({ filter: /^extws-sdk$/ }, () => ({ path: join(SDK, 'index.js') }));
  },
};
try {
  await esbuild.build({
    stdin: {
      contents: `import ${JSON.stringify(entry)};\nexport * from ${JSON.stringify(join(SDK, 'world.js'))};\n`,
      resolveDir: dirname(entry),
      sourcefile: 'extws-entry.js',
    },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    external: ['extws:*', 'wasi:*'],
    plugins: [sdkResolver],
    outfile: bundle,
    logLevel: 'warning',
  });
} catch {
  process.exit(1); // esbuild has printed the errors
}

// 2. The component. Without `http` and `fetch-event` it does not import wasi:http, which the
// host does not provide.
const componentize = join(nodeModules, '.bin', 'componentize-js');
const args = [bundle, '--wit', wit, '--world-name', 'described-handler', '--disable', 'http', 'fetch-event', '--out', out];
if (opts.aot) args.push('--aot');
rmSync(out, { force: true });
const run = spawnSync(componentize, args, { cwd: work, stdio: ['ignore', 'inherit', 'inherit'] });
if (run.status !== 0 || !existsSync(out) || statSync(out).size === 0) {
  console.error(`build.js: componentize-js failed (exit ${run.status ?? run.signal})`);
  process.exit(1);
}
console.error(`build.js: wrote ${out} (${statSync(out).size} bytes)`);
