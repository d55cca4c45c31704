"""The Telegram user a request comes from."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Optional


@dataclass(frozen=True, kw_only=True)
class User:
    """A Telegram Mini App user (Telegram's WebAppUser), from the validated initData."""

    # It serializes with Telegram's field names, absent optional fields omitted, e.g.
    # {"id":42,"first_name":"Ann","username":"ann"}.

    id: int
    is_bot: Optional[bool] = None
    first_name: str
    last_name: Optional[str] = None
    username: Optional[str] = None
    language_code: Optional[str] = None
    is_premium: Optional[bool] = None
    added_to_attachment_menu: Optional[bool] = None
    allows_write_to_pm: Optional[bool] = None
    photo_url: Optional[str] = None

    __omit_none__: ClassVar[bool] = True  # absent optional fields are left out of the JSON

    @classmethod
    def _from_wit(cls, user: Any) -> Optional["User"]:
        if user is None:
            return None
        return cls(**{name: getattr(user, name) for name in _NAMES})


_NAMES = tuple(f.name for f in dataclasses.fields(User))  # once, not at every conversion
