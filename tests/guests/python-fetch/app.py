"""Test guest `python-fetch`: outbound HTTP from Python, the way componentize-py documents it.

`Fetch` `{"url": U}` GETs `U` over `wasi:http` with componentize-py's bundled `poll_loop`
(an `asyncio` event loop over `wasi:io/poll` plus `send` and a body `Stream`) and answers
`FetchResult` `{"status": N, "body": "..."}` or `{"error": "..."}`, the error being the
`wasi:http` error code (e.g. `ErrorCode_HttpRequestDenied()`). Redirects are not followed.

The build names `wasi:http/types` `types` (what `poll_loop` imports) and this package's own
`types` interface `handler_types`.
"""

import asyncio
import json
from urllib.parse import urlsplit

import poll_loop
import wit_world
from componentize_py_types import Err
from poll_loop import PollLoop, Stream
from wit_world.imports.handler_types import HandlerError, Response, User
from wit_world.imports.streams import StreamError_LastOperationFailed
from wit_world.imports.types import (
    Fields,
    OutgoingRequest,
    Scheme,
    Scheme_Http,
    Scheme_Https,
    Scheme_Other,
)


class WitWorld(wit_world.WitWorld):
    def message_types(self) -> list[str]:
        return ["Fetch"]

    def handle(self, msg_type: str, data: str, user: User | None) -> Response:
        if msg_type != "Fetch":
            raise Err(HandlerError(f"python-fetch does not handle {msg_type}", False, None))
        request = json.loads(data)
        url = request.get("url", "") if isinstance(request, dict) else ""
        loop = PollLoop()
        asyncio.set_event_loop(loop)
        try:
            status, body = loop.run_until_complete(get(url))
            reply = {"status": status, "body": body.decode("utf-8", "replace")}
        except Err as e:
            reply = {"error": describe(e.value)}
        finally:
            loop.close()
        return Response("FetchResult", json.dumps(reply))


async def get(url: str) -> tuple[int, bytes]:
    """GETs `url` and returns its status and whole body; raises `Err` on a `wasi:http` error."""
    parts = urlsplit(url)
    request = OutgoingRequest(Fields())
    request.set_scheme(scheme(parts.scheme))
    request.set_authority(parts.netloc)
    path = parts.path or "/"
    request.set_path_with_query(f"{path}?{parts.query}" if parts.query else path)
    response = await poll_loop.send(request)
    status = response.status()
    stream = Stream(response.consume())
    body = bytearray()
    while (chunk := await stream.next()) is not None:
        body += chunk
    return status, bytes(body)


def scheme(name: str) -> Scheme:
    if name == "http":
        return Scheme_Http()
    if name == "https":
        return Scheme_Https()
    return Scheme_Other(name)


def describe(error: object) -> str:
    """The `wasi:http` error code (or stream error) as text, e.g. `ErrorCode_HttpRequestDenied()`."""
    if isinstance(error, StreamError_LastOperationFailed):
        return error.value.to_debug_string()
    return repr(error)
