"""Durable key-value state of the tenant, as JSON values (WIT interface `kv`).

```python
from extws import kv

kv.set("greeting", {"text": "hi"}, ttl_ms=60_000)
kv.get("greeting")                     # {'text': 'hi'}, or None once expired
kv.increment("visits")                 # 1, 2, ...: atomic
kv.compare_and_swap("lock", None, 1)   # True if "lock" was absent
kv.list_keys("count:")                 # ['count:1', 'count:2']
```

Values are stored as compact JSON (models become objects). Failures raise `extws.Error`
(`quota exceeded: ...`, `store unavailable: ...`, `invalid: ...`).
"""

from __future__ import annotations

from typing import Any, List, Optional, Type, TypeVar

try:
    from componentize_py_types import Err
    from wit_world.imports import kv as _kv
except ImportError:  # outside a component
    from ._outside import NeverRaised as Err  # type: ignore[assignment]
    from ._outside import Outside

    _kv = Outside("kv")  # type: ignore[assignment]

from . import _models
from ._errors import Error, from_wit

T = TypeVar("T")


def get(key: str, default: Any = None, *, model: Optional[Type[T]] = None) -> Any:
    """The JSON value of `key` (decoded into `model` when given), or `default` if absent.
    A stored value that does not decode raises `Error` (`invalid: ...`)."""
    raw = get_bytes(key)
    if raw is None:
        return default
    try:
        value = _models.loads(raw.decode())
        return value if model is None else _models.decode(model, value)
    except (ValueError, RecursionError) as e:  # DataError is a ValueError
        raise Error(f"invalid: the value of {key} does not decode: {e}") from None


def set(key: str, value: Any, *, ttl_ms: Optional[int] = None) -> None:
    """Stores `value` as JSON, expiring after `ttl_ms` milliseconds when given."""
    set_bytes(key, _models.dumps(value).encode(), ttl_ms=ttl_ms)


def delete(key: str) -> bool:
    """Deletes `key`; True if it existed."""
    try:
        return _kv.delete(key)
    except Err as e:
        raise from_wit(e) from None


def increment(key: str, delta: int = 1) -> int:
    """Atomically adds `delta` to the integer at `key` (absent: 0); returns the new value."""
    try:
        return _kv.increment(key, delta)
    except Err as e:
        raise from_wit(e) from None


def compare_and_swap(key: str, expected: Any, new: Any) -> bool:
    """Atomically sets `key` to `new` if it holds `expected` (None: if it is absent).

    Values compare as their compact JSON text, so pass what was stored with `set`."""
    old = None if expected is None else _models.dumps(expected).encode()
    try:
        return _kv.compare_and_swap(key, old, _models.dumps(new).encode())
    except Err as e:
        raise from_wit(e) from None


def list_keys(prefix: str = "", limit: int = 1000) -> List[str]:
    """Keys starting with `prefix`, sorted, at most `limit` (the host caps it at 1000)."""
    try:
        return _kv.list_keys(prefix, limit)
    except Err as e:
        raise from_wit(e) from None


def get_bytes(key: str) -> Optional[bytes]:
    """The raw value of `key`, or None."""
    try:
        return _kv.get(key)
    except Err as e:
        raise from_wit(e) from None


def set_bytes(key: str, value: bytes, *, ttl_ms: Optional[int] = None) -> None:
    """Stores raw bytes at `key`, expiring after `ttl_ms` milliseconds when given."""
    try:
        _kv.set(key, value, ttl_ms)
    except Err as e:
        raise from_wit(e) from None
