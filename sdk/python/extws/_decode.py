"""Decoders compiled once per annotation: JSON values into models, with the checks of sdk/README.md.

`decoder(tp)` turns an annotation into a function of one JSON value. The shape of `tp` is
looked at once (at registration, i.e. into the component's snapshot), so a call only runs the
type checks its value needs. Field paths are not built while decoding: a problem raises
`Problem`, and each list, dict and model it unwinds through adds its index, key or field name,
so `problem_text` can word it exactly as `numbers[0]: expected an integer, got 1.5`.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Callable, Dict, List, Tuple

from ._values import I64_MAX, I64_MIN, describe_value, fields, optional_inner

Decoder = Callable[[Any], Any]


class Problem(Exception):
    """Internal: a value that does not fit. `segments` are innermost first (a 1-tuple holds a
    list index, anything else is a key or field name); `missing` says it is a missing field, whose name is the
    first segment, else `text` follows the path (`expected an integer, got 1.5`)."""

    def __init__(self, text: str, missing: bool = False) -> None:
        super().__init__(text)
        self.text = text
        self.missing = missing
        self.segments: List[Any] = []


def problem_text(p: Problem, path: Any = "") -> str:
    """The DataError message of `p` for a value found at `path` (`""`: the root). The path is
    joined as the value walk joined it (`{path}.{key}`, or the bare key at the root)."""
    for seg in reversed(p.segments):
        if type(seg) is tuple:
            path = f"{path}[{seg[0]}]"
        else:
            path = f"{path}.{seg}" if path else seg
    if p.missing:
        return f"missing field {path}"
    return f"{path}: {p.text}" if path else p.text


def _expected(what: str, value: Any) -> Problem:
    return Problem(f"expected {what}, got {describe_value(value)}")


_DECODERS: Dict[Any, Decoder] = {}


def decoder(tp: Any) -> Decoder:
    """The decoder of annotation `tp` (cached). An annotation extws cannot decode gives a
    decoder raising TypeError when it is reached, as a value walk would."""
    try:
        cached = _DECODERS.get(tp)
    except TypeError:  # an unhashable annotation: compiled each time
        return _compile(tp)
    return _compile(tp) if cached is None else cached


def _identity(value: Any) -> Any:
    return value


def _bool(value: Any) -> Any:
    if type(value) is bool:
        return value
    raise _expected("a boolean", value)


def _int(value: Any) -> Any:
    if type(value) is int and I64_MIN <= value <= I64_MAX:
        return value
    raise _expected("an integer", value)


def _float(value: Any) -> Any:
    if type(value) in (int, float):
        return float(value)
    raise _expected("a number", value)


def _str(value: Any) -> Any:
    if type(value) is str:
        return value
    raise _expected("a string", value)


_SCALARS: Dict[Any, Decoder] = {bool: _bool, int: _int, float: _float, str: _str}


def _compile(tp: Any) -> Decoder:
    """Same checks in the same order as a walk over `tp` at every value would make."""
    if tp is Any or tp is object:
        return _store(tp, _identity)
    inner = optional_inner(tp)
    if inner is not None:
        return _store(tp, _optional(decoder(inner)))
    for scalar, dec in _SCALARS.items():
        if tp is scalar:
            return _store(tp, dec)
    origin, args = typing.get_origin(tp) or tp, typing.get_args(tp)
    if origin in (list, List):
        return _store(tp, _list(decoder(args[0] if args else Any)))
    if origin in (dict, Dict):
        return _store(tp, _dict(decoder(args[1] if len(args) == 2 else Any)))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _model(tp)

    def unsupported(value: Any) -> Any:
        raise TypeError(f"extws cannot decode into {tp!r}")

    return unsupported  # not cached: `tp` may name a class defined later


def _store(tp: Any, dec: Decoder) -> Decoder:
    try:
        _DECODERS[tp] = dec
    except TypeError:
        pass
    return dec


def _optional(dec: Decoder) -> Decoder:
    def optional(value: Any) -> Any:
        return None if value is None else dec(value)

    return optional


def _list(item: Decoder) -> Decoder:
    if item is _int:
        return _int_list
    if item is _identity:
        def any_list(value: Any) -> Any:
            if type(value) is not list:
                raise _expected("an array", value)
            return list(value)

        return any_list

    def decode_list(value: Any) -> Any:
        if type(value) is not list:
            raise _expected("an array", value)
        out: List[Any] = []
        append = out.append
        try:
            for v in value:
                append(item(v))
        except Problem as p:
            p.segments.append((len(out),))  # the index of the item that failed
            raise
        return out

    return decode_list


def _int_list(value: Any) -> Any:
    """`list[int]`, the common case, without a call per item."""
    if type(value) is not list:
        raise _expected("an array", value)
    for i, v in enumerate(value):
        if type(v) is not int or not I64_MIN <= v <= I64_MAX:
            p = _expected("an integer", v)
            p.segments.append((i,))
            raise p
    return list(value)


def _dict(item: Decoder) -> Decoder:
    def decode_dict(value: Any) -> Any:
        if type(value) is not dict:
            raise _expected("an object", value)
        out: Dict[Any, Any] = {}
        k = None
        try:
            for k, v in value.items():
                out[k] = item(v)
        except Problem as p:
            p.segments.append(k)
            raise
        return out

    return decode_dict


def _model(cls: type) -> Decoder:
    # Registered before its fields are compiled, so that recursive models find it.
    specs: List[Tuple[str, Decoder, bool]] = []

    def decode_model(value: Any) -> Any:
        if type(value) is not dict:
            raise _expected("an object", value)
        kwargs = {}
        for name, dec, required in specs:
            if name in value:
                try:
                    kwargs[name] = dec(value[name])
                except Problem as p:
                    p.segments.append(name)
                    raise
            elif required:
                p = Problem("", missing=True)
                p.segments.append(name)
                raise p
        return cls(**kwargs)

    _DECODERS[cls] = decode_model
    try:
        specs.extend((f.name, decoder(annotation), required)
                     for f, annotation, required in fields(cls))
    except Exception:
        # e.g. an annotation naming a class not defined yet: the walk failed only on reaching
        # the fields of an object, so this does, and resolves them again next time.
        del _DECODERS[cls]

        def unresolved(value: Any) -> Any:
            if type(value) is not dict:
                raise _expected("an object", value)
            fields(cls)  # raises while the annotations stay unresolvable
            return decoder(cls)(value)

        return unresolved
    return decode_model
