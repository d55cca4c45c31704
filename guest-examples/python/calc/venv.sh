# Sourced by the Python guests' build scripts (this directory's build.sh and
# tests/guests/python-fetch/build.sh): `python_guest_venv NAME` sets `venv` to a venv under
# $HOME/.cache/extws-wasm holding componentize-py as pinned in requirements.txt, installing
# what is missing (python3 and python3-venv from apt when root, componentize-py with pip).
# When that is impossible it prints `skipped NAME: <reason>` on stderr and exits 77.
# `python_componentize SRC OUT OPTION...` then builds SRC/app.py into the component OUT.

python_guest_venv() {
    local name=$1 pins
    pins=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/requirements.txt
    local cache=$HOME/.cache/extws-wasm
    venv=$cache/venv-python-guest

    skip() {
        echo "skipped $name: $*" >&2
        exit 77
    }
    apt_install() {
        [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null || return 1
        echo "installing $* with apt-get" >&2
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } >&2
    }

    mkdir -p "$cache"
    exec 9>"$cache/venv-python-guest.lock"
    flock 9 # one venv update at a time

    # requirements.txt is copied into the venv once installed.
    if cmp -s "$pins" "$venv/requirements.txt" && "$venv/bin/python" -c '' 2>/dev/null; then
        return
    fi
    command -v python3 >/dev/null || apt_install python3 python3-venv || skip "no python3 and cannot install it"
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 9))' || skip "python3 is older than 3.9"
    rm -rf "$venv"
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
        rm -rf "$venv"
        apt_install python3-venv || skip "python3 cannot create a venv and python3-venv cannot be installed"
        python3 -m venv "$venv" || skip "python3 cannot create a venv"
    fi
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$pins" >&2 ||
        skip "pip cannot install $(grep -v '^#' "$pins" | tr '\n' ' ')"
    cp "$pins" "$venv/requirements.txt"
}

# Runs `componentize-py OPTION... componentize MODULE` (MODULE: $PY_MODULE, default app) on a
# copy of SRC's *.py plus the directories in $PY_PACKAGES (so nothing such as __pycache__ lands
# in the repository), writing the component to OUT.
python_componentize() {
    local src=$1 out=$2 build pkg
    shift 2
    build=$(mktemp -d)
    cp "$src"/*.py "$build/"
    for pkg in ${PY_PACKAGES:-}; do
        cp -R "$pkg" "$build/"
    done
    if ! (
        unset VIRTUAL_ENV # or componentize-py would bundle that venv's site-packages too
        cd "$build"
        "$venv/bin/componentize-py" -q "$@" componentize "${PY_MODULE:-app}" -p "$build" -o "$out"
    ); then
        rm -rf "$build"
        return 1
    fi
    rm -rf "$build"
    echo "built $out ($(stat -c %s "$out") bytes)" >&2
}
