"""The SDK's error, and the conversion of the WIT import errors into it."""

from __future__ import annotations

from typing import Any, Optional


class Error(Exception):
    """A handler's deliberate failure: the client gets a `HandlerException` with `message`.

    `raise Error("no such item")` fails the request; `raise Error.close(4000, "banned")` also
    closes the connection with that code. kv, push and telegram failures raise it too.
    """

    def __init__(self, message: str, *, close_connection: bool = False,
                 close_code: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        self.close_connection = close_connection
        self.close_code = close_code

    @classmethod
    def close(cls, code: int, reason: str) -> "Error":
        """An error that makes the host close the connection with `code` after sending
        `reason` (codes outside 1000, 1001, 1003, 1007–1011, 3000–4999 become 1008)."""
        return cls(reason, close_connection=True, close_code=code)


# Messages per WIT variant case, as the Rust counter words them.
_PREFIXES = {
    "KvError_QuotaExceeded": "quota exceeded",
    "KvError_Unavailable": "store unavailable",
    "KvError_Invalid": "invalid",
    "PushError_Unavailable": "push unavailable",
    "PushError_Invalid": "invalid push",
    "TelegramError_Denied": "telegram denied",
    "TelegramError_Unavailable": "telegram unavailable",
    "TelegramError_Invalid": "invalid telegram call",
}


def from_wit(err: Any) -> Error:
    """An `Error` for the value of a `componentize_py_types.Err` raised by an import."""
    value = getattr(err, "value", err)
    kind = type(value).__name__
    inner = getattr(value, "value", value)
    if kind == "TelegramError_RateLimited":
        return Error(f"telegram rate limited: retry after {inner} s")
    if kind == "TelegramError_Api":
        return Error(f"telegram error {inner.code}: {inner.description}")
    return Error(f"{_PREFIXES.get(kind, kind)}: {inner}")
