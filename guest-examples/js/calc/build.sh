#!/usr/bin/env bash
# Builds the JavaScript calc example (on extws-sdk, sdk/js) into a WebAssembly component.
#
# Usage: build.sh OUT.wasm
#
# Needs Node.js >= 20 with npm (installed from Debian when missing). The npm packages pinned by
# package-lock.json go to a cache outside the repo, keyed by the lock file, so repeat builds
# skip `npm ci`. Exits 77 after "skipped calc-js: <reason>" when the toolchain can't be had.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUT.wasm" >&2
  exit 2
fi
out=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
wit=$(cd "${EXTWS_WIT:-$here/../../../wit}" && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/extws-wasm

skip() {
  echo "skipped calc-js: $*" >&2
  exit 77
}

node_major() {
  node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0
}

have_node() {
  command -v node >/dev/null && command -v npm >/dev/null && (($(node_major) >= 20))
}

# 1. Node.js and npm.
if ! have_node && command -v apt-get >/dev/null && [[ $(id -u) -eq 0 ]]; then
  echo "calc-js: installing Node.js and npm from Debian" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; } >&2 || true
fi
have_node || skip "needs Node.js >= 20 with npm (found: $(node --version 2>/dev/null || echo none))"

# 2. esbuild, ComponentizeJS and their dependencies, exactly as locked, in a cache directory per lock file.
lock_id=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -c1-16)
deps=$cache/js-calc/$lock_id
if [[ ! -e $deps/node_modules/.bin/componentize-js ]]; then
  echo "calc-js: npm ci into $deps" >&2
  mkdir -p "$cache/js-calc"
  tmp=$(mktemp -d "$cache/js-calc/tmp.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  cp "$here/package.json" "$here/package-lock.json" "$tmp/"
  (cd "$tmp" && npm ci --cache "$cache/npm" --no-audit --no-fund --loglevel=error) >&2 ||
    skip "npm ci failed (is the npm registry reachable?)"
  # Another build may have finished first; either copy is the same.
  mv -T "$tmp" "$deps" 2>/dev/null || [[ -e $deps/node_modules/.bin/componentize-js ]] ||
    { rm -rf "$deps" && mv -T "$tmp" "$deps"; }
fi

# 3. The component: the SDK's build.js bundles calc.js with the SDK (esbuild) and runs
# ComponentizeJS on it, for world described-handler.
mkdir -p "$(dirname "$out")"
node "$here/../../../sdk/js/build.js" "$here/calc.js" "$out" --wit "$wit" --node-modules "$deps/node_modules" >&2
[[ -s $out ]] || {
  echo "calc-js: build.js wrote no $out" >&2
  exit 1
}
echo "calc-js: wrote $out ($(stat -c %s "$out") bytes)" >&2
