#!/usr/bin/env bash
# Builds the Python calc example into a WebAssembly component of the world `handler`.
#
#   build.sh OUT.wasm
#
# Installs what it needs when missing (python3 and python3-venv from apt, componentize-py
# pinned in requirements.txt into a venv under $HOME/.cache/extws-wasm), then runs
# componentize-py, which generates the bindings and bundles CPython with the app.
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
cache=$HOME/.cache/extws-wasm
venv=$cache/venv-python-guest

skip() {
    echo "skipped calc-python: $*" >&2
    exit 77
}

apt_install() {
    [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null || return 1
    echo "installing $* with apt-get" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } >&2
}

mkdir -p "$cache" "$(dirname "$out")"
exec 9>"$cache/venv-python-guest.lock"
flock 9 # one venv update at a time

# A venv with the pinned componentize-py; requirements.txt is copied into it once installed.
if ! cmp -s "$here/requirements.txt" "$venv/requirements.txt" || ! "$venv/bin/python" -c '' 2>/dev/null; then
    command -v python3 >/dev/null || apt_install python3 python3-venv || skip "no python3 and cannot install it"
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 9))' || skip "python3 is older than 3.9"
    rm -rf "$venv"
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
        rm -rf "$venv"
        apt_install python3-venv || skip "python3 cannot create a venv and python3-venv cannot be installed"
        python3 -m venv "$venv" || skip "python3 cannot create a venv"
    fi
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt" >&2 ||
        skip "pip cannot install $(grep -v '^#' "$here/requirements.txt" | tr '\n' ' ')"
    cp "$here/requirements.txt" "$venv/requirements.txt"
fi

# Build from a copy of the sources so that nothing (e.g. __pycache__) lands in the repository.
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
cp "$here"/*.py "$build/"
(
    unset VIRTUAL_ENV # or componentize-py would bundle that venv's site-packages too
    cd "$build"
    "$venv/bin/componentize-py" -q -d "$wit" -w handler componentize app -p "$build" -o "$out"
)
echo "built $out ($(stat -c %s "$out") bytes)" >&2
