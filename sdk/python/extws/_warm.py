"""Runs the SDK's per-call path once at import, on sample values made from the models.

componentize-py snapshots the component after its import, and every fresh instance starts
from that snapshot. CPython specializes bytecode the first times it runs it (writing into the
code objects) and fills lookup caches as it goes; done here, that work is in the snapshot,
not repeated by every fresh instance's first call. Handlers themselves are not called:
only decoding (so the models' `__init__`, and any `__post_init__`, run on the samples),
encoding and the JSON text functions. A sample a model refuses is simply skipped.
"""

from __future__ import annotations

import typing
from typing import Any, Callable, Dict, List

from . import _models
from ._values import fields, optional_inner

_ROUNDS = 3  # CPython specializes an instruction at about its second run


def sample(tp: Any, depth: int = 0) -> Any:
    """A JSON value that decodes into annotation `tp` (nested models to a few levels)."""
    if tp is bool:
        return False
    if tp is int:
        return 1
    if tp is float:
        return 0.5
    if tp is str:
        return "s"
    inner = optional_inner(tp)
    if inner is not None:
        return sample(inner, depth) if depth < 3 else None
    origin, args = typing.get_origin(tp) or tp, typing.get_args(tp)
    if origin in (list, List):
        item = args[0] if args else Any
        return [sample(item, depth + 1) for _ in range(2)] if depth < 3 else []
    if origin in (dict, Dict):
        item = args[1] if len(args) == 2 else Any
        return {"k": sample(item, depth + 1)} if depth < 3 else {}
    if _models.is_model(tp):
        return {f.name: sample(annotation, depth + 1)
                for f, annotation, required in fields(tp) if required or depth < 3}
    return None  # Any, object, or what decoding refuses anyway


def repeat(fn: Callable[..., Any], *args: Any) -> None:
    """Calls `fn(*args)` `_ROUNDS` times, ignoring what it raises."""
    for _ in range(_ROUNDS):
        try:
            fn(*args)
        except Exception:
            pass


def route(decode_data: Callable[[str], Any], request: type, reply: type) -> None:
    """Runs `decode_data` (a route's request decoder) on a sample request and encodes a sample
    reply, `_ROUNDS` times. Never raises."""
    def once() -> None:
        decode_data(_models.dumps(sample(request)))
        _models.dumps(_models.decode(reply, sample(reply)))

    repeat(once)
