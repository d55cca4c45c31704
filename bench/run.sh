#!/usr/bin/env bash
# bench/run.sh — everything `make bench` does, in order:
#
#   1. build extws-wasm and extws-bench in release;
#   2. make the predecessor's Python venv (websockets + pydantic, pinned in
#      bench/predecessor/requirements.txt) under $HOME/.cache/extws-wasm, unless it exists,
#      and install the `node` baseline (bench/node: Node.js + npm `ws`) into
#      $HOME/.cache/extws-wasm/bench-node;
#   3. run the criterion micro-benchmark (instantiate+call and warm call per guest language);
#   4. run the suite (every system and scenario in one invocation: throughput, idle, cold start,
#      noisy neighbour, payload sizes, connections with a topic push, 1 to 1,000 tenants) and
#      write target/bench/results.json, results.md, chart.png, payload.png, connections.png
#      and tenants.png;
#   5. push history: cost per push on vs off (embedded, Redis) and a 10,000-user push storm's
#      footprint -> target/bench/history.{json,md} (quick: about a minute).
#
# BENCH=quick (default, ~5 minutes once built: 2,000 connections, a push to 1,000) or
# BENCH=full (10,000 idle connections per system, 19,000 on one extws server with a topic push
# to 10,000, every language in every lifecycle, longer windows: ~25 minutes).
# Extra arguments go to `extws-bench suite` (e.g. --only native,rust/fresh --skip cold).
# Components come from target/guests (`make guests`).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
mode=${BENCH:-quick}
case $mode in quick | full) ;; *) echo "BENCH must be quick or full (got $mode)" >&2; exit 2 ;; esac
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
out=$repo/target/bench
cache=$HOME/.cache/extws-wasm
venv=$cache/venv-bench-predecessor

if [[ ! -f target/guests/calc-rust.wasm && ! -f target/guests/calc.wasm ]]; then
    echo "target/guests/calc-rust.wasm is missing: run \`make guests\` first" >&2
    exit 1
fi

echo "== building (release)" >&2
cargo build --release -p extws-wasm -p extws-bench

echo "== predecessor venv" >&2
python=""
stamp=$venv/.requirements-$(sha256sum bench/predecessor/requirements.txt | cut -c1-16)
if [[ -f $stamp ]]; then
    python=$venv/bin/python
else
    if ! command -v python3 >/dev/null && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        apt-get install -y -qq python3 python3-venv >/dev/null || true
    fi
    if command -v python3 >/dev/null; then
        mkdir -p "$cache"
        rm -rf "$venv"
        if python3 -m venv "$venv" && "$venv/bin/pip" install -q -r bench/predecessor/requirements.txt; then
            touch "$stamp"
            python=$venv/bin/python
        else
            echo "could not build the predecessor venv: the predecessor baseline is skipped" >&2
        fi
    else
        echo "no python3: the predecessor baseline is skipped" >&2
    fi
fi

echo "== node baseline" >&2
node_args=()
node_dir=$cache/bench-node
if command -v node >/dev/null && command -v npm >/dev/null; then
    mkdir -p "$node_dir"
    cp bench/node/server.js "$node_dir/server.js"
    if ! cmp -s bench/node/package.json "$node_dir/package.json" || [[ ! -d $node_dir/node_modules/ws ]]; then
        cp bench/node/package.json "$node_dir/package.json"
        (cd "$node_dir" && npm install --silent --no-audit --no-fund) ||
            echo "npm install failed: the node baseline is skipped" >&2
    fi
    [[ -d $node_dir/node_modules/ws ]] &&
        node_args=(--node "$(command -v node)" --node-server "$node_dir/server.js")
else
    echo "no node/npm: the node baseline is skipped" >&2
fi

# Many sockets: 10,000 idle connections need as many descriptors on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo "== criterion: instantiate+call per guest language" >&2
rm -rf "$CARGO_TARGET_DIR/criterion/calc"
if [[ $mode == quick ]]; then
    criterion_args=(--warm-up-time 0.3 --measurement-time 1)
else
    criterion_args=(--warm-up-time 1 --measurement-time 5)
fi
cargo bench -p extws-bench --bench instantiate -- "${criterion_args[@]}" 2>&1 |
    grep -E '^(calc/|skipping)|time:' >&2 || true

echo "== suite ($mode)" >&2
suite_args=(suite --mode "$mode" --out "$out" --repo "$repo"
    --guests "$repo/target/guests" --predecessor "$repo/bench/predecessor/server.py"
    --compile-cache "$out/compile-cache" --criterion "$CARGO_TARGET_DIR/criterion/calc")
[[ -n $python ]] && suite_args+=(--python "$python")
suite_args+=("${node_args[@]}")
"$CARGO_TARGET_DIR/release/extws-bench" "${suite_args[@]}" "$@" >/dev/null
echo "== push history ($mode)" >&2
"$CARGO_TARGET_DIR/release/extws-bench" history --mode "$mode" --out "$out" >/dev/null
echo "== done: $out/results.md, $out/results.json, $out/{chart,payload,connections,tenants}.png, $out/history.md" >&2
