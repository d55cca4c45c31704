#!/usr/bin/env bash
# Builds {{name}} into a WebAssembly component of world `described-handler`:
#
#   ./build.sh [OUT.wasm]        (default: {{name}}.wasm)
#
# Needs python3 (≥ 3.10, with venv) and componentize-py as pinned in requirements.txt: the one
# on PATH when its version matches, else one in a venv under ~/.cache/extws-wasm (this script
# creates it with pip when there is none). Bundles CPython, the *.py files here and the vendored SDK ./extws; the
# component's entry module is extws.main, which imports app.py.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$(realpath -m "${1:-$here/{{name}}.wasm}")
pin=$(grep -o 'componentize-py==[0-9.]*' "$here/requirements.txt")
version=${pin#componentize-py==}

cache=${XDG_CACHE_HOME:-$HOME/.cache}/extws-wasm
if [ "$(componentize-py --version 2>/dev/null)" = "componentize-py $version" ]; then
    cpy=componentize-py
elif [ "$("$cache/venv-python-guest/bin/componentize-py" --version 2>/dev/null)" = "componentize-py $version" ]; then
    cpy=$cache/venv-python-guest/bin/componentize-py # the extws-wasm repository's build venv
else
    venv=$cache/venv-componentize-py-$version
    if [ ! -x "$venv/bin/componentize-py" ]; then
        echo "installing $pin into $venv" >&2
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/python" -m pip install -q --disable-pip-version-check "$pin"
    fi
    cpy=$venv/bin/componentize-py
fi

build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
cp "$here"/*.py "$build/"
cp -R "$here/extws" "$build/"
mkdir -p "$(dirname "$out")"
(
    unset VIRTUAL_ENV # or componentize-py would bundle that venv's site-packages too
    cd "$build"
    "$cpy" -q -d "$here/wit" -w described-handler componentize extws.main -p "$build" -o "$out"
)
echo "built $out ($(stat -c %s "$out") bytes)" >&2
