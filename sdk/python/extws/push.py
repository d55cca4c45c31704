"""Server push to other connections of the tenant (WIT interface `push`).

```python
from extws import push

push.publish("counter", CounterChanged(user=42, count=3))   # to subscribers of "counter"
push.to_user(42, Notice(text="hi"))                         # to every connection of user 42
push.subscribe("counter")                                   # this connection
```

The pushed `Type` is the model's class name (declare it with `@app.push` so that `describe`
lists it). Failures raise `extws.Error` (`push unavailable: ...`, `invalid push: ...`).
"""

from __future__ import annotations

from typing import Any, Tuple

try:
    from componentize_py_types import Err
    from wit_world.imports import push as _push
except ImportError:  # outside a component
    from ._outside import NeverRaised as Err  # type: ignore[assignment]
    from ._outside import Outside

    _push = Outside("push")  # type: ignore[assignment]

from . import _models
from ._errors import Error, from_wit


def _encode(message: Any) -> Tuple[str, str]:
    if not _models.is_model(type(message)):
        raise Error(f"invalid push: {message!r} is not a model")
    return type(message).__name__, _models.dumps(message)


def to_user(user_id: int, message: Any) -> None:
    """Sends the model `message` to every connection of Telegram user `user_id`, on every
    server."""
    msg_type, data = _encode(message)
    try:
        _push.send_to_user(user_id, msg_type, data)
    except Err as e:
        raise from_wit(e) from None


def publish(topic: str, message: Any) -> None:
    """Sends the model `message` to every connection subscribed to `topic`."""
    msg_type, data = _encode(message)
    try:
        _push.publish(topic, msg_type, data)
    except Err as e:
        raise from_wit(e) from None


def subscribe(topic: str) -> None:
    """Subscribes the calling connection to `topic` (until it closes or unsubscribes)."""
    try:
        _push.subscribe(topic)
    except Err as e:
        raise from_wit(e) from None


def unsubscribe(topic: str) -> None:
    """Unsubscribes the calling connection from `topic`."""
    try:
        _push.unsubscribe(topic)
    except Err as e:
        raise from_wit(e) from None
