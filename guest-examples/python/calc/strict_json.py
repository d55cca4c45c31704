"""JSON parsing that accepts exactly what serde_json (the Rust reference calc's parser) accepts.

Every calc must find the same requests valid, but Python's `json.loads` is more lenient than
serde_json in a few corners. `loads` refuses them too (with ValueError):

- `NaN`, `Infinity` and `-Infinity`;
- numbers that serde_json's f64 conversion overflows (`1e400`, `1.7976931348623158e308`);
- lone UTF-16 surrogate escapes (`"\\ud800"`), even in a value a duplicate key replaces;
- arrays and objects nested more than 127 deep (serde_json's recursion limit).

Like serde_json it turns `-0` and integers outside i64 into floats, so a caller only needs
`type(n) is int` to know that a number is an i64.

A handler of your own can use plain `json.loads` unless it must match serde_json this closely.
"""

import json
import re

I64_MIN, I64_MAX = -(2**63), 2**63 - 1
U64_MAX = 2**64 - 1
I32_MAX = 2**31 - 1
MAX_DEPTH = 127
POW10 = [float(f"1e{e}") for e in range(309)]  # serde_json's table of exact f64 literals
TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')  # strings and brackets
NUMBER = re.compile(r"-?(\d+)(?:\.(\d+))?(?:[eE]([-+]?)(\d+))?")


def loads(text: str) -> object:
    check_nesting_and_surrogates(text)
    return json.loads(text, parse_int=parse_int, parse_float=parse_float, parse_constant=refuse)


def parse_int(text: str) -> int | float:
    if len(text) <= 20 and text != "-0":
        n = int(text)
        if I64_MIN <= n <= I64_MAX:
            return n
    return parse_float(text)


def parse_float(text: str) -> float:
    if f64_overflows(text):
        raise ValueError(f"number out of range: {text}")
    return float(text)


def refuse(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def f64_overflows(text: str) -> bool:
    """Whether serde_json (without `float_roundtrip`) finds `text` out of f64's range.

    serde_json keeps the first digits that fit in a u64 (counting the integer digits after them
    in the exponent), then multiplies by a power of ten once: near f64::MAX that can overflow
    where correctly rounded `float(text)` does not.
    """
    integer, fraction, exp_sign, exp_digits = NUMBER.fullmatch(text).groups()
    significand, exponent = 0, 0
    for i, digit in enumerate(integer):
        if significand * 10 + int(digit) > U64_MAX:
            exponent = len(integer) - i
            break
        significand = significand * 10 + int(digit)
    for digit in fraction or "":
        if significand * 10 + int(digit) > U64_MAX:
            break
        significand = significand * 10 + int(digit)
        exponent -= 1
    if exp_digits is not None:
        exp = exp_digits.lstrip("0") or "0"
        if len(exp) > 10 or int(exp) > I32_MAX:
            return significand != 0 and exp_sign != "-"
        exponent += -int(exp) if exp_sign == "-" else int(exp)
    if exponent < 0 or significand == 0:
        return False
    if exponent > 308:
        return True
    return float(significand) * POW10[exponent] == float("inf")


def check_nesting_and_surrogates(text: str) -> None:
    if text.count("[") + text.count("{") <= MAX_DEPTH and "\\u" not in text:
        return  # the common case: nothing to check
    depth = 0
    for match in TOKEN.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                raise ValueError("recursion limit exceeded")
        elif token in ("]", "}"):
            depth -= 1
        elif "\\u" in token:
            json.loads(token).encode()  # a lone surrogate raises UnicodeEncodeError
