"""The calc example handler: sums numbers and tells the caller who they are.

Its exact behaviour is the contract in `guest-examples/CONFORMANCE.md`, shared by the same
example in every guest language (the Rust one in `guest-examples/calc` is the reference).

componentize-py turns this module into a component of the WIT world `handler`: the class
`WitWorld` implements the world's exports, and a `handler-error` is returned by raising
`Err(HandlerError(...))`.
"""

import json

import wit_world
from componentize_py_types import Err
from wit_world.imports.types import HandlerError, Response, User

import strict_json

INVALID = 'invalid CalculateRequest: expected {"numbers": [integers]}'
OVERFLOW = "overflow: the sum does not fit in a signed 64-bit integer"
I64_MIN, I64_MAX = -(2**63), 2**63 - 1


class WitWorld(wit_world.WitWorld):
    def message_types(self) -> list[str]:
        return ["CalculateRequest", "WhoAmIRequest"]

    def handle(self, msg_type: str, data: str, user: User | None) -> Response:
        if msg_type == "CalculateRequest":
            return calculate(data)
        if msg_type == "WhoAmIRequest":
            return who_am_i(user)
        raise error(f"calc does not handle {msg_type}")


def calculate(data: str) -> Response:
    numbers = parse_numbers(data)
    if numbers is None:
        raise error(INVALID)
    total = 0
    for n in numbers:
        total += n
        if not I64_MIN <= total <= I64_MAX:
            raise error(OVERFLOW)
    return Response(msg_type="CalculateResponse", data=f'{{"result":{total}}}')


def parse_numbers(data: str) -> list[int] | None:
    """`{"numbers": [i64, ...]}`, or None when the request does not have that shape."""
    try:
        value = strict_json.loads(data)
    except (ValueError, RecursionError):
        return None
    numbers = value.get("numbers") if isinstance(value, dict) else None
    if not isinstance(numbers, list) or not all(type(n) is int for n in numbers):
        return None  # `type(n) is int` refuses bools; non-i64 numbers are floats
    return numbers


def who_am_i(user: User | None) -> Response:
    fields = None
    if user is not None:
        # Telegram's WebAppUser field names, in the contract's order; absent fields are omitted.
        fields = {
            "id": user.id,
            "is_bot": user.is_bot,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "username": user.username,
            "language_code": user.language_code,
            "is_premium": user.is_premium,
            "added_to_attachment_menu": user.added_to_attachment_menu,
            "allows_write_to_pm": user.allows_write_to_pm,
            "photo_url": user.photo_url,
        }
        fields = {name: value for name, value in fields.items() if value is not None}
    return Response(msg_type="WhoAmIResponse", data=to_json({"user": fields}))


def error(message: str) -> Err:
    return Err(HandlerError(message=message, close_connection=False, close_code=None))


def to_json(value: object) -> str:
    """Compact JSON with minimal escaping, as serde_json writes it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
