"""JSON text in and out, as serde_json reads and writes it, with as little per call as possible.

A component built with componentize-py starts every fresh instance from a snapshot of its
import, and each page of that memory a call touches for the first time costs a page fault
(about as much as running a small function). So the common cases go straight to json's C
scanner and encoder, made once at import, rather than through `json.loads` / `json.dumps`,
which build a decoder or encoder and run a few Python frames at every call.
"""

from __future__ import annotations

import json
from typing import Any, Callable, List

try:
    from _json import make_encoder as _c_make_encoder
except ImportError:  # a Python without the C accelerator
    _c_make_encoder = None


def _parse_int(text: str) -> Any:
    return float(text) if text == "-0" else int(text)


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_scan = json.JSONDecoder().scan_once  # what json.loads(text) itself scans with


def loads(text: str) -> Any:
    """JSON text to Python values; `NaN`/`Infinity` are refused and `-0` is a float, as in
    serde_json (so only `type(v) is int` values are integers). Errors are json.loads's."""
    if type(text) is not str or "-0" in text or "NaN" in text or "Infinity" in text:
        return json.loads(text, parse_int=_parse_int, parse_constant=_refuse)
    # Without those literals the hooks are never called, so the default scanner gives the same
    # values. Text with surrounding whitespace, a BOM, extra data or an error takes json.loads
    # again, which then words the error.
    try:
        value, end = _scan(text, 0)
    except Exception:
        return json.loads(text)
    if end != len(text):
        return json.loads(text)
    return value


# json.dumps(value, ensure_ascii=False, separators=(",", ":")) makes this encoder per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _c_encoder() -> Callable[[Any], str]:
    """`_ENCODER.encode` with its C encoder made once, when this Python's `_json` accepts the
    arguments JSONEncoder.iterencode passes it (else `_ENCODER.encode`). It runs without the
    circular-reference markers: `dumps` only encodes what `to_jsonable` built, a fresh tree
    of lists and dicts, so they could never find a cycle."""
    fallback = _ENCODER.encode
    if _c_make_encoder is None:
        return fallback
    try:
        c_encode = _c_make_encoder(None, _ENCODER.default, json.encoder.encode_basestring,
                                   None, ":", ",", False, False, True)
    except TypeError:  # another signature
        return fallback
    join = "".join

    def encode(value: Any) -> str:
        if type(value) is str:
            return fallback(value)
        return join(c_encode(value, 0))

    sample: List[Any] = [{"a": [1, -2.5, None, True, "Zoë \"\u2028\n"]}, 1e300, {}, [], {"1": {}}]
    try:
        if encode(sample) != fallback(sample):
            return fallback
    except Exception:
        return fallback
    return encode


encode = _c_encoder()
