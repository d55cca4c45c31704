#!/usr/bin/env bash
# Builds the Python counter example (app.py on the SDK in sdk/python) into a component of the
# world `described-handler`:  build.sh OUT.wasm
#
# Uses the same cached componentize-py venv as ../calc (see ../calc/venv.sh). Exits 77 with
# `skipped counter-python: <reason>` when the toolchain is unavailable. EXTWS_WIT overrides the
# WIT directory (default: the repository's wit/).
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUT.wasm" >&2
    exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(realpath -m "$1")
wit=${EXTWS_WIT:-$here/../../../wit}
mkdir -p "$(dirname "$out")"
# shellcheck source=../calc/venv.sh
source "$here/../calc/venv.sh"
python_guest_venv counter-python

PY_PACKAGES="$here/../../../sdk/python/extws" PY_MODULE=extws.main \
    python_componentize "$here" "$out" -d "$wit" -w described-handler
