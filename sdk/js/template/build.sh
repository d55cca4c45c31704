#!/usr/bin/env bash
# Builds {{name}}.wasm (or OUT.wasm) from handler.js (or handler.ts): installs the npm packages
# of package-lock.json when node_modules is missing or older, then runs extws-sdk's build.js.
#
# Usage: ./build.sh [OUT.wasm]     (needs Node.js >= 20 and npm)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-$here/{{name}}.wasm}
cd "$here"
if ! command -v node >/dev/null || (($(node -p 'process.versions.node.split(".")[0]') < 20)); then
  echo "{{name}}: needs Node.js >= 20 with npm" >&2
  exit 1
fi
if [[ ! -e node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
entry=handler.js
[[ -e handler.ts ]] && entry=handler.ts
node extws-sdk/build.js "$entry" "$out" --wit wit
