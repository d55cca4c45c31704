"""The `predecessor` baseline: the same protocol built the way the Python predecessor was.

The `websockets` library (asyncio), pydantic models for the envelope, the request and the
Telegram user, HMAC-SHA256 validation of initData from the query string at the handshake, and
handlers registered by request `Type`. The calc logic is the contract in
guest-examples/CONFORMANCE.md.

    python server.py [--listen 127.0.0.1:0] [--bot-token TOKEN]

Prints `listening on ws://ADDR` on stderr once it accepts connections, like extws-wasm.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import signal
import sys
from typing import Any, Awaitable, Callable, Optional
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, ConfigDict, StrictInt, ValidationError
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

I64_MIN, I64_MAX = -(2**63), 2**63 - 1


class WebAppUser(BaseModel):
    model_config = ConfigDict(extra="ignore")
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


class InitData(BaseModel):
    model_config = ConfigDict(extra="ignore")
    auth_date: int
    query_id: Optional[str] = None
    user: Optional[WebAppUser] = None
    start_param: Optional[str] = None
    hash: str


class Envelope(BaseModel):
    Type: str
    Data: Any = None
    Id: Any = None


class CalculateRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    numbers: list[StrictInt]


class CalculateResponse(BaseModel):
    result: int


class WhoAmIResponse(BaseModel):
    user: Optional[WebAppUser]


class HandlerException(Exception):
    def __init__(self, message: str, code: str = "handler_error") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


Handler = Callable[[Any, Optional[WebAppUser]], Awaitable[tuple[str, BaseModel]]]
HANDLERS: dict[str, Handler] = {}


def handler(msg_type: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[msg_type] = fn
        return fn

    return register


@handler("CalculateRequest")
async def calculate(data: Any, user: Optional[WebAppUser]) -> tuple[str, BaseModel]:
    try:
        request = CalculateRequest.model_validate(data)
    except ValidationError:
        raise HandlerException('invalid CalculateRequest: expected {"numbers": [integers]}')
    total = 0
    for n in request.numbers:
        if not I64_MIN <= n <= I64_MAX:
            raise HandlerException('invalid CalculateRequest: expected {"numbers": [integers]}')
        total += n
        if not I64_MIN <= total <= I64_MAX:
            raise HandlerException("overflow: the sum does not fit in a signed 64-bit integer")
    return "CalculateResponse", CalculateResponse(result=total)


@handler("WhoAmIRequest")
async def who_am_i(data: Any, user: Optional[WebAppUser]) -> tuple[str, BaseModel]:
    return "WhoAmIResponse", WhoAmIResponse(user=user)


def validate_init_data(raw: str, bot_token: str) -> InitData:
    """Telegram's first-party check: HMAC-SHA256 over the sorted data-check-string."""
    pairs = dict(parse_qsl(raw, keep_blank_values=True, strict_parsing=True))
    received = pairs.pop("hash", "")
    check = "\n".join(f"{k}={v}" for k, v in sorted(pairs.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    expected = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, received):
        raise ValueError("bad initData signature")
    if "user" in pairs:
        pairs["user"] = json.loads(pairs["user"])
    return InitData.model_validate({**pairs, "hash": received})


class App:
    def __init__(self, bot_token: Optional[str]) -> None:
        self.bot_token = bot_token
        self.sessions: dict[ServerConnection, Optional[WebAppUser]] = {}

    def process_request(self, connection: ServerConnection, request: Request) -> Optional[Response]:
        if self.bot_token is None:
            self.sessions[connection] = None
            return None
        raw = urlsplit(request.path).query
        try:
            init_data = validate_init_data(raw, self.bot_token)
        except (ValueError, ValidationError):
            return connection.respond(401, "unauthorized\n")
        self.sessions[connection] = init_data.user
        return None

    async def handle(self, ws: ServerConnection) -> None:
        user = self.sessions.get(ws)
        try:
            async for message in ws:
                await ws.send(await self.on_message(message, user))
        finally:
            self.sessions.pop(ws, None)

    async def on_message(self, message: str | bytes, user: Optional[WebAppUser]) -> str:
        try:
            envelope = Envelope.model_validate_json(message)
        except ValidationError as e:
            return error("invalid_message", str(e.errors()[0]["msg"]), None)
        fn = HANDLERS.get(envelope.Type)
        if fn is None:
            return error("unknown_type", f"no handler for Type {envelope.Type!r}", envelope.Id)
        try:
            reply_type, reply = await fn(envelope.Data, user)
        except HandlerException as e:
            return error(e.code, e.message, envelope.Id)
        out: dict[str, Any] = {"Type": reply_type, "Data": reply.model_dump(exclude_none=True)}
        if envelope.Id is not None:
            out["Id"] = envelope.Id
        return json.dumps(out, separators=(",", ":"), ensure_ascii=False)


def error(code: str, message: str, msg_id: Any) -> str:
    out: dict[str, Any] = {"Type": "HandlerException", "Data": {"code": code, "message": message}}
    if msg_id is not None:
        out["Id"] = msg_id
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--bot-token")
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)
    app = App(args.bot_token)
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with serve(app.handle, host, int(port), process_request=app.process_request) as server:
        sock = next(iter(server.sockets))
        addr_host, addr_port = sock.getsockname()[:2]
        print(f"listening on ws://{addr_host}:{addr_port}", file=sys.stderr, flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
