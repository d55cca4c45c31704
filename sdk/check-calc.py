#!/usr/bin/env python3
"""Checks a calc component against every case of host/tests/conformance.rs with `extws-wasm call`.

    sdk/check-calc.py COMPONENT.wasm     (EXTWS_WASM: the host binary, default extws-wasm on PATH)

Success replies must equal guest-examples/CONFORMANCE.md's as JSON values; bad data must be a
handler error starting `invalid CalculateRequest: ` (naming `numbers` when that field is at
fault), as the conformance suite demands of SDK-built calcs.
"""

import json
import os
import subprocess
import sys

MAX, MIN = 2**63 - 1, -(2**63)
OVERFLOW = "overflow: the sum does not fit in a signed 64-bit integer"
OK, INVALID, INVALID_NUMBERS, ERROR = "ok", "invalid", "invalid-numbers", "error"

# (Type, Data text or None for absent, expectation, expected value)
CASES = [
    ("CalculateRequest", '{"numbers":[2,2]}', OK, {"result": 4}),
    ("CalculateRequest", '{"numbers":[]}', OK, {"result": 0}),
    ("CalculateRequest", f'{{"numbers":[-5,3,{MAX},{-MAX}]}}', OK, {"result": -2}),
    ("CalculateRequest", f'{{"numbers":[{MAX},1]}}', ERROR, OVERFLOW),
    ("CalculateRequest", f'{{"numbers":[{MIN},-1]}}', ERROR, OVERFLOW),
    ("CalculateRequest", '{"numbers":[1.5]}', INVALID_NUMBERS, None),
    ("CalculateRequest", '{"numbers":["1"]}', INVALID_NUMBERS, None),
    ("CalculateRequest", '{"numbers":[true]}', INVALID_NUMBERS, None),
    ("CalculateRequest", '{"numbers":[9223372036854775808]}', INVALID_NUMBERS, None),
    ("CalculateRequest", '{"numbers":1}', INVALID_NUMBERS, None),
    ("CalculateRequest", '{"other":[1]}', INVALID_NUMBERS, None),
    ("CalculateRequest", "[1,2]", INVALID, None),
    ("CalculateRequest", None, INVALID_NUMBERS, None),
    ("CalculateRequest", '{"numbers":[1,2],"extra":{"x":[null]}}', OK, {"result": 3}),
    ("WhoAmIRequest", "{}", OK, {"user": None}),
    ("WhoAmIRequest", None, OK, {"user": None}),
]
USERS = [
    r'{"id":1,"first_name":"A"}',
    r'{"id":279058397,"first_name":"Vladislav","last_name":"Kibenko","username":"vdkfrost","language_code":"ru","is_premium":true,"allows_write_to_pm":true,"photo_url":"https:\/\/t.me\/i\/userpic\/320\/x.svg"}',
    r'{"id":-9223372036854775808,"is_bot":false,"first_name":"Zoë \"Q\" \\ <b>&amp;</b>\n\t\u0001\u001f\u007f\u2028 😀","added_to_attachment_menu":false}',
    r'{"id":9007199254740993,"first_name":"Big","username":"big_id"}',
]


def call(component, msg_type, data, user=None):
    args = [os.environ.get("EXTWS_WASM", "extws-wasm"), "call", component, msg_type]
    if data is not None:
        args.append(data)
    if user is not None:
        args += ["--user", user]
    out = subprocess.run(args, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    component = sys.argv[1]
    cases = CASES + [("WhoAmIRequest", "{}", OK, {"user": json.loads(u)}, u) for u in USERS]
    failures = 0
    for case in cases:
        msg_type, data, want, value = case[:4]
        user = case[4] if len(case) > 4 else None
        reply = call(component, msg_type, data, user)
        message = reply["Data"].get("message", "") if reply["Type"] == "HandlerException" else None
        if want == OK:
            good = reply["Type"] == msg_type.replace("Request", "Response") and reply["Data"] == value
        elif want == ERROR:
            good = message == value
        else:
            good = message is not None and message.startswith("invalid CalculateRequest: ") and (
                want == INVALID or "numbers" in message)
        failures += not good
        print(f"{'ok  ' if good else 'FAIL'} {msg_type} {data} {user or ''}\n     -> {json.dumps(reply, ensure_ascii=False)}")
    print(f"{len(cases) - failures}/{len(cases)} cases pass")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
