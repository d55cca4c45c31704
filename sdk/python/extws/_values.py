"""What decoding, encoding and schemas share: model fields, `Optional`, how a value is shown."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from typing import Any, Dict, List, Optional, Tuple

I64_MIN, I64_MAX = -(2**63), 2**63 - 1

Field = Tuple[dataclasses.Field, Any, bool]  # type: ignore[type-arg]

_FIELDS: Dict[type, List[Field]] = {}


def fields(cls: type) -> List[Field]:
    """(field, annotation, required) for every init field of a model (cached: the models of
    registered handlers are resolved at import, i.e. into the component's snapshot)."""
    cached = _FIELDS.get(cls)
    if cached is None:
        cached = _FIELDS[cls] = _resolve_fields(cls)
    return cached


def _resolve_fields(cls: type) -> List[Field]:
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        out.append((f, hints[f.name], required))
    return out


def optional_inner(tp: Any) -> Optional[Any]:
    """T for `Optional[T]` / `T | None`, else None."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0]
    return None


def describe_value(value: Any) -> str:
    """How a problem message shows a JSON value: scalars as JSON, containers by kind."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, float) and value == 0 and str(value).startswith("-"):
        return "-0"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."
