#!/usr/bin/env bash
# Builds the C calc example into a WebAssembly component of the world `handler`.
#
#   build.sh OUT.wasm
#
# Installs what it needs when missing: Debian's clang, lld, wasi-libc and libclang-rt-dev-wasm32
# (apt), and wit-bindgen-cli 0.63 (cargo install into $HOME/.cache/extws-wasm/wit-bindgen-0.63.0
# unless a wit-bindgen 0.63 is already on PATH or in ~/.cargo/bin). It then generates the C
# bindings into a temporary directory, compiles a WASI preview1 reactor module with clang, and
# turns it into a component with `extws-wasm componentize` (the host binary: env EXTWS_WASM,
# default $HOME/.cache/extws-wasm/target/debug/extws-wasm).
# Exits 77 with `skipped calc-c: <reason>` on stderr when the toolchain is unavailable.
# EXTWS_WIT overrides the WIT directory (default: the repository's wit/).
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUT.wasm" >&2
    exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(realpath -m "$1")
wit=${EXTWS_WIT:-$here/../../../wit}
cache=$HOME/.cache/extws-wasm
extws=${EXTWS_WASM:-$cache/target/debug/extws-wasm}
wit_bindgen_version=0.63.0

skip() {
    echo "skipped calc-c: $*" >&2
    exit 77
}

apt_install() {
    [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null || return 1
    echo "installing $* with apt-get" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"; } >&2
}

# clang can target wasm32-wasi: wasm-ld, the wasi-libc sysroot and the compiler-rt builtins exist.
have_c_toolchain() {
    command -v clang >/dev/null && command -v wasm-ld >/dev/null &&
        [[ -f /usr/lib/wasm32-wasi/crt1-reactor.o ]] &&
        [[ -f $(clang --target=wasm32-wasi -print-libgcc-file-name) ]]
}

# Prints the path of a wit-bindgen of the pinned minor version, if there is one.
find_wit_bindgen() {
    local candidate
    for candidate in "$cache/wit-bindgen-$wit_bindgen_version/bin/wit-bindgen" \
        "$(command -v wit-bindgen || true)" "$HOME/.cargo/bin/wit-bindgen"; do
        if [[ -x $candidate ]] && [[ $("$candidate" --version 2>/dev/null) == "wit-bindgen-cli ${wit_bindgen_version%.*}."* ]]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

mkdir -p "$cache" "$(dirname "$out")"

if ! have_c_toolchain; then
    apt_install clang lld wasi-libc libclang-rt-dev-wasm32 || skip "cannot install clang, lld, wasi-libc and libclang-rt-dev-wasm32 with apt-get"
    have_c_toolchain || skip "clang cannot target wasm32-wasi (wasm-ld, wasi-libc or the wasm32 builtins are missing)"
fi

if ! wit_bindgen=$(find_wit_bindgen); then
    exec 9>"$cache/wit-bindgen.lock"
    flock 9 # one install at a time
    if ! wit_bindgen=$(find_wit_bindgen); then
        cargo=$(command -v cargo || echo "$HOME/.cargo/bin/cargo")
        [[ -x $cargo ]] || skip "no cargo to install wit-bindgen-cli $wit_bindgen_version"
        echo "installing wit-bindgen-cli $wit_bindgen_version with cargo (a few minutes, once)" >&2
        "$cargo" install --quiet --locked --root "$cache/wit-bindgen-$wit_bindgen_version" \
            "wit-bindgen-cli@$wit_bindgen_version" >&2 || skip "cargo cannot install wit-bindgen-cli $wit_bindgen_version"
        wit_bindgen=$(find_wit_bindgen) || skip "wit-bindgen-cli $wit_bindgen_version did not install"
    fi
    exec 9>&-
fi

if [[ ! -x $extws ]]; then
    echo "calc-c: $extws does not exist; build the host first (or set EXTWS_WASM)" >&2
    exit 1
fi

# Bindings and the core module go to a temporary directory, never into the repository.
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
if ! log=$("$wit_bindgen" c "$wit" --world handler --out-dir "$build/bindings" 2>&1); then
    echo "$log" >&2
    exit 1
fi
# A reactor: no `main`; the host calls the exports that the bindings define. The
# handler_component_type.o object embeds the world, so componentize needs no --wit.
clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Wextra -Wl,--strip-debug \
    -I "$build/bindings" -o "$build/calc.core.wasm" \
    "$here/calc.c" "$here/json.c" "$build/bindings/handler.c" "$build/bindings/handler_component_type.o"
"$extws" componentize "$build/calc.core.wasm" -o "$out" >&2
echo "built $out ($(stat -c %s "$out") bytes)" >&2
