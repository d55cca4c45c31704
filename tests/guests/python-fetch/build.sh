#!/usr/bin/env bash
# Builds the python-fetch test guest into a WebAssembly component of the world `fetch`
# (wit/world.wit: the handler world plus wasi:http/outgoing-handler).
#
#   build.sh OUT.wasm
#
# Uses the same componentize-py venv as the Python calc example (guest-examples/python/calc/
# venv.sh installs it when missing). Exits 77 with `skipped python-fetch: <reason>` on stderr
# when the toolchain is unavailable. EXTWS_WIT overrides the handler's WIT directory.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUT.wasm" >&2
    exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(realpath -m "$1")
wit=${EXTWS_WIT:-$here/../../../wit}
mkdir -p "$(dirname "$out")"
# shellcheck source=../../../guest-examples/python/calc/venv.sh
source "$here/../../../guest-examples/python/calc/venv.sh"
python_guest_venv python-fetch

# poll_loop (bundled with componentize-py) imports wasi:http/types as `types`.
python_componentize "$here" "$out" -d "$wit" -d "$here/wit" -w extws:python-fetch/fetch \
    --import-interface-name wasi:http/types@0.2.12=types \
    --import-interface-name extws:handler/types@0.1.3=handler_types
