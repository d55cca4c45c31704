#!/usr/bin/env bash
# Builds the Python calc example (app.py on the SDK in sdk/python) into a WebAssembly component
# of the world `described-handler`.
#
#   build.sh OUT.wasm
#
# Installs what it needs when missing (python3 and python3-venv from apt, componentize-py
# pinned in requirements.txt into a venv under $HOME/.cache/extws-wasm: see venv.sh), then
# runs componentize-py, which generates the bindings and bundles CPython with the app and the
# SDK package `extws` (whose module extws.main is the component's entry: it imports `app`).
# Exits 77 with `skipped calc-python: <reason>` on stderr when the toolchain is unavailable.
# EXTWS_WIT overrides the WIT directory (default: the repository's wit/).
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUT.wasm" >&2
    exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(realpath -m "$1")
wit=${EXTWS_WIT:-$here/../../../wit}
mkdir -p "$(dirname "$out")"
# shellcheck source=venv.sh
source "$here/venv.sh"
python_guest_venv calc-python

PY_PACKAGES="$here/../../../sdk/python/extws" PY_MODULE=extws.main \
    python_componentize "$here" "$out" -d "$wit" -w described-handler
