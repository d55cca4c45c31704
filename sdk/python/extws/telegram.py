"""The Telegram Bot API, called as the tenant's bot (WIT interface `telegram`)."""

import json
from typing import Any, Dict

try:
    from componentize_py_types import Err
    from wit_world.imports import telegram as _telegram
except ImportError:  # outside a component
    from ._outside import NeverRaised as Err  # type: ignore[assignment]
    from ._outside import Outside

    _telegram = Outside("telegram")  # type: ignore[assignment]

from . import _models
from ._errors import from_wit


def call(method: str, params: Dict[str, Any]) -> Any:
    """Calls Bot API `method` with `params`; returns Telegram's `result` as JSON values.
    Raises `extws.Error` when denied, refused by Telegram, rate-limited or unreachable."""
    try:
        return json.loads(_telegram.call(method, _models.dumps(params)))
    except Err as e:
        raise from_wit(e) from None
