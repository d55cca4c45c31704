#!/bin/sh
# Runs the Node tests (npm test). Node 20 has JSON.rawJSON and JSON.parse source text access,
# which the SDK needs (StarlingMonkey has them), behind a V8 flag; later Node versions by default.
cd "$(dirname "$0")/.." || exit 1
flag=$(node -e 'process.stdout.write(typeof JSON.rawJSON === "function" ? "" : "--harmony-json-parse-with-source")')
exec node $flag --import ./test/register.js --test test/*.test.js
