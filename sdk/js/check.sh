#!/usr/bin/env bash
# Checks a built calc component against the conformance cases (every request and user of
# host/tests/conformance.rs) through `extws-wasm call`, comparing replies as JSON values; bad
# data must be an error starting `invalid CalculateRequest: ` (naming `numbers` when the problem
# is there). Also checks its `describe` when $EXTWS_NODE_MODULES has jco (test/describe-component.mjs,
# the component run in Node) and prints it when the binary has a `describe` command.
#
# Usage: check.sh CALC.wasm   (binary: $EXTWS_WASM, else extws-wasm on PATH)
set -uo pipefail
component=${1:?usage: check.sh CALC.wasm}
bin=${EXTWS_WASM:-extws-wasm}
fails=0 passes=0

# TYPE DATA USER(or -) EXPECT, EXPECT being a JSON reply envelope or `invalid` / `invalid numbers`.
cases=(
  'CalculateRequest|{"numbers":[2,2]}|-|{"Type":"CalculateResponse","Data":{"result":4}}'
  'CalculateRequest|{"numbers":[]}|-|{"Type":"CalculateResponse","Data":{"result":0}}'
  'CalculateRequest|{"numbers":[-5,3,9223372036854775807,-9223372036854775807]}|-|{"Type":"CalculateResponse","Data":{"result":-2}}'
  'CalculateRequest|{"numbers":[9223372036854775807,1]}|-|{"Type":"HandlerException","Data":{"code":"handler_error","message":"overflow: the sum does not fit in a signed 64-bit integer"}}'
  'CalculateRequest|{"numbers":[-9223372036854775808,-1]}|-|{"Type":"HandlerException","Data":{"code":"handler_error","message":"overflow: the sum does not fit in a signed 64-bit integer"}}'
  'CalculateRequest|{"numbers":[1.5]}|-|invalid numbers'
  'CalculateRequest|{"numbers":["1"]}|-|invalid numbers'
  'CalculateRequest|{"numbers":[true]}|-|invalid numbers'
  'CalculateRequest|{"numbers":[9223372036854775808]}|-|invalid numbers'
  'CalculateRequest|{"numbers":1}|-|invalid numbers'
  'CalculateRequest|{"other":[1]}|-|invalid numbers'
  'CalculateRequest|[1,2]|-|invalid'
  'CalculateRequest|null|-|invalid numbers'
  'CalculateRequest|{"numbers":[1,2],"extra":{"x":[null]}}|-|{"Type":"CalculateResponse","Data":{"result":3}}'
  'WhoAmIRequest|{}|-|{"Type":"WhoAmIResponse","Data":{"user":null}}'
  'WhoAmIRequest|null|-|{"Type":"WhoAmIResponse","Data":{"user":null}}'
  'WhoAmIRequest|{}|{"id":1,"first_name":"A"}|{"Type":"WhoAmIResponse","Data":{"user":{"id":1,"first_name":"A"}}}'
  'WhoAmIRequest|{}|{"id":279058397,"first_name":"Vladislav","last_name":"Kibenko","username":"vdkfrost","language_code":"ru","is_premium":true,"allows_write_to_pm":true,"photo_url":"https:\/\/t.me\/i\/userpic\/320\/x.svg"}|{"Type":"WhoAmIResponse","Data":{"user":{"id":279058397,"first_name":"Vladislav","last_name":"Kibenko","username":"vdkfrost","language_code":"ru","is_premium":true,"allows_write_to_pm":true,"photo_url":"https://t.me/i/userpic/320/x.svg"}}}'
  'WhoAmIRequest|{}|{"id":-9223372036854775808,"is_bot":false,"first_name":"Zoë \"Q\" \\ <b>&amp;</b>\n\t\u0001\u001f\u007f\u2028 😀","added_to_attachment_menu":false}|{"Type":"WhoAmIResponse","Data":{"user":{"id":-9223372036854775808,"is_bot":false,"first_name":"Zoë \"Q\" \\ <b>&amp;</b>\n\t\u0001\u001f\u007f\u2028 😀","added_to_attachment_menu":false}}}'
  'WhoAmIRequest|{}|{"id":9007199254740993,"first_name":"Big","username":"big_id"}|{"Type":"WhoAmIResponse","Data":{"user":{"id":9007199254740993,"first_name":"Big","username":"big_id"}}}'
)

# Compares GOT with EXPECT as JSON values (integers exactly: source text, not doubles).
compare='
const [got, expect] = process.argv.slice(1);
const exact = (s) => JSON.parse(s, (k, v, c) => (typeof v === "number" && c ? `#${c.source}` : v));
const canon = (v) => JSON.stringify(v, (k, x) => x && typeof x === "object" && !Array.isArray(x)
  ? Object.fromEntries(Object.keys(x).sort().map((key) => [key, x[key]])) : x);
let g; try { g = exact(got); } catch { console.log(`not JSON: ${got}`); process.exit(1); }
if (expect.startsWith("invalid")) {
  const m = g.Type === "HandlerException" && g.Data.code === "handler_error" ? g.Data.message : "";
  const ok = m.startsWith("invalid CalculateRequest: ") && (expect === "invalid" || m.includes("numbers"));
  console.log(ok ? m : `want ${expect}, got ${got}`); process.exit(ok ? 0 : 1);
}
const ok = canon(g) === canon(exact(expect));
console.log(ok ? got : `want ${expect}\n    got  ${got}`); process.exit(ok ? 0 : 1);
'

# Node 20 has JSON.parse source text access behind a flag; later versions by default.
flag=$(node -e 'process.stdout.write(typeof JSON.rawJSON === "function" ? "" : "--harmony-json-parse-with-source")')
for case in "${cases[@]}"; do
  IFS='|' read -r type data user expect <<<"$case"
  args=(call "$component" "$type" "$data")
  [[ $user != - ]] && args+=(--user "$user")
  got=$("$bin" "${args[@]}" 2>/dev/null | tail -n 1)
  if verdict=$(node $flag -e "$compare" "$got" "$expect"); then
    passes=$((passes + 1)); echo "ok   $type $data ${user/#-/}: $verdict"
  else
    fails=$((fails + 1)); echo "FAIL $type $data ${user/#-/}: $verdict"
  fi
done
nm=${EXTWS_NODE_MODULES:-}
if [[ -n $nm && -x $nm/.bin/jco ]]; then
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  if api=$(node $flag "$here/test/describe-component.mjs" "$component" "$nm") &&
     node -e '
       const { messageTypes, describe: d } = JSON.parse(process.argv[1]);
       const ok = JSON.stringify(messageTypes) === JSON.stringify(Object.keys(d.types)) &&
         d.types.CalculateRequest.reply === "CalculateResponse" &&
         d.types.WhoAmIRequest.reply === "WhoAmIResponse" && Array.isArray(d.hooks);
       process.exit(ok ? 0 : 1);' "$api"; then
    passes=$((passes + 1)); echo "ok   describe: $api"
  else
    fails=$((fails + 1)); echo "FAIL describe: $api"
  fi
fi
if "$bin" describe --help >/dev/null 2>&1; then
  echo "describe:"; "$bin" describe "$component"
fi
echo "$passes passed, $fails failed"
((fails == 0))
