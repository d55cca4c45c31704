"""Models: decoding request `Data` into annotated classes, encoding replies, JSON Schemas.

A model is a dataclass whose fields are annotated with `int` (a signed 64-bit integer),
`float`, `str`, `bool`, `list[T]`, `dict[str, T]`, `Optional[T]` (`T | None`), `typing.Any` or
another model. Decoding follows sdk/README.md: unknown fields are ignored, a field without a
default is required, `1.5`, `"1"`, `true` and `2**63` are not integers, and every problem is a
`DataError` naming the field path (`numbers[0]: expected an integer, got 1.5`).
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from typing import Any, Callable, Dict, List, Optional, Tuple

from ._decode import Problem, decoder, problem_text
from ._text import encode, loads
from ._values import I64_MAX, I64_MIN, describe_value, optional_inner
from ._values import fields as _fields


class DataError(ValueError):
    """`Data` does not fit the request model; `str()` is the problem with its field path."""


def dumps(value: Any) -> str:
    """Compact JSON with minimal escaping (what serde_json and JSON.stringify write)."""
    return encode(to_jsonable(value))


def is_model(cls: Any) -> bool:
    """Whether `cls` is a model class (a dataclass)."""
    return isinstance(cls, type) and dataclasses.is_dataclass(cls)


def decode(tp: Any, value: Any, path: str = "") -> Any:
    """Converts the JSON value `value` into annotation `tp`, raising DataError."""
    try:
        return decoder(tp)(value)
    except Problem as p:
        raise DataError(problem_text(p, path)) from None


def request_decoder(cls: type) -> Callable[[str], Any]:
    """A function from the JSON text of `Data` to the request model `cls` (`null` reads as
    `{}`), raising DataError; the model is looked at now, not at every call."""
    decode_value = decoder(cls)

    def decode_data(data: str) -> Any:
        try:
            value = loads(data)
        except (ValueError, RecursionError) as e:
            raise DataError(f"not JSON: {e}") from None
        try:
            return decode_value({} if value is None else value)
        except Problem as p:
            raise DataError(problem_text(p)) from None

    return decode_data


def decode_request(cls: type, data: str) -> Any:
    """The request model `cls` from the JSON text of `Data` (`null` reads as `{}`)."""
    return request_decoder(cls)(data)


_PLAIN = frozenset((str, int, float, bool, type(None)))
_ENCODED: Dict[type, Tuple[Tuple[str, ...], bool]] = {}


def model_spec(cls: type) -> Optional[Tuple[Tuple[str, ...], bool]]:
    """(field names, `__omit_none__`) of model class `cls` (cached), or None if not a model."""
    spec = _ENCODED.get(cls)
    if spec is None and is_model(cls):
        names = tuple(f.name for f in dataclasses.fields(cls))
        spec = _ENCODED[cls] = (names, bool(getattr(cls, "__omit_none__", False)))
    return spec


def to_jsonable(value: Any) -> Any:
    """Models to plain JSON values, fields in declaration order. A model class with
    `__omit_none__ = True` leaves out its fields that are None (and its schema does not
    allow null for them), as `User` does."""
    cls = type(value)
    if cls in _PLAIN:
        return value
    spec = model_spec(cls)
    if spec is not None:
        names, omit = spec
        if omit:
            out = {}
            for name in names:
                v = getattr(value, name)
                if v is not None:
                    out[name] = to_jsonable(v)
            return out
        return {name: to_jsonable(getattr(value, name)) for name in names}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


def schema(cls: type) -> Dict[str, Any]:
    """The JSON Schema (sdk/README.md's subset) of model `cls`; nested models under `$defs`."""
    defs: Dict[str, Any] = {}
    root = _model_schema(cls, defs, root=cls)
    if defs:
        root["$defs"] = defs
    return root


def _model_schema(cls: type, defs: Dict[str, Any], root: type) -> Dict[str, Any]:
    properties: Dict[str, Any] = {}
    required: List[str] = []
    omit = getattr(cls, "__omit_none__", False)
    for f, annotation, is_required in _fields(cls):
        inner = optional_inner(annotation) if omit and not is_required else None
        properties[f.name] = _schema(annotation if inner is None else inner, defs, root)
        if is_required:
            required.append(f.name)
    out: Dict[str, Any] = {"title": cls.__name__}
    doc = description(cls)
    if doc:
        out["description"] = doc
    out.update(type="object", properties=properties, required=required)
    return out


def description(cls: type) -> Optional[str]:
    """A model's docstring (not the one dataclass generates), for its schema's description."""
    doc = inspect.getdoc(cls)
    if not doc or doc.startswith(cls.__name__ + "("):
        return None
    return doc


def _schema(tp: Any, defs: Dict[str, Any], root: type) -> Dict[str, Any]:
    if tp is Any or tp is object:
        return {}
    inner = optional_inner(tp)
    if inner is not None:
        return {"anyOf": [_schema(inner, defs, root), {"type": "null"}]}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer", "format": "int64"}
    if tp is float:
        return {"type": "number"}
    if tp is str:
        return {"type": "string"}
    origin, args = typing.get_origin(tp) or tp, typing.get_args(tp)
    if origin in (list, List):
        return {"type": "array", "items": _schema(args[0] if args else Any, defs, root)}
    if origin in (dict, Dict):
        item = args[1] if len(args) == 2 else Any
        return {"type": "object", "additionalProperties": _schema(item, defs, root)}
    if is_model(tp):
        if tp is root:
            return {"$ref": "#"}
        name = tp.__name__
        if name not in defs:
            defs[name] = {}  # placeholder: recursive models refer to themselves
            defs[name] = _model_schema(tp, defs, root)
        return {"$ref": f"#/$defs/{name}"}
    raise TypeError(f"extws has no JSON Schema for {tp!r}")
