#!/usr/bin/env python3
"""Checks a counter component (the Rust counter's behaviour) end to end over real sockets.

    sdk/check-counter.py COMPONENT.wasm [--raw]   (EXTWS_WASM: the host binary, default extws-wasm)

Starts `extws-wasm serve` with a fresh embedded store, connects two users with signed
initData (Python `websockets`), and checks increments, the CounterChanged push to a
subscriber, notices to a user, and presence through the hooks. An SDK counter also refuses
`{"by": "2"}` (typed Data); `--raw` skips that for the raw-WIT Rust counter, which reads it as 1.
"""

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import websockets

EXTWS = os.environ.get("EXTWS_WASM", "extws-wasm")
TOKEN = "5000:check-counter-token"


def sign(user):
    return subprocess.run([EXTWS, "sign-init-data", "--bot-token", TOKEN, "--user", json.dumps(user)],
                          check=True, capture_output=True, text=True).stdout.strip()


async def request(ws, msg_type, data=None):
    await ws.send(json.dumps({"Type": msg_type, "Data": data}))
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


async def expect(ws, msg_type, data):
    """The next push is `msg_type` with `data`; a push to a user also carries its `Seq`."""
    reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
    reply.pop("Seq", None)
    assert reply == {"Type": msg_type, "Data": data}, reply


async def check(url, raw):
    ann, bob = {"id": 11, "first_name": "Ann"}, {"id": 22, "first_name": "Bob"}
    async with websockets.connect(f"{url}?{sign(ann)}") as a, websockets.connect(f"{url}?{sign(bob)}") as b:
        await asyncio.sleep(0.3)  # the hooks run after authentication
        assert await request(a, "PresenceRequest", {}) == {"Type": "PresenceResponse", "Data": {"online": 2}}
        assert await request(b, "SubscribeRequest") == {"Type": "SubscribeResponse", "Data": {"topic": "counter"}}
        assert await request(a, "GetCountRequest", {}) == {"Type": "GetCountResponse", "Data": {"count": 0}}
        assert await request(a, "IncrementRequest", {"by": 5}) == {"Type": "IncrementResponse", "Data": {"count": 5}}
        await expect(b, "CounterChanged", {"user": 11, "count": 5})
        assert await request(a, "IncrementRequest", {}) == {"Type": "IncrementResponse", "Data": {"count": 6}}
        await expect(b, "CounterChanged", {"user": 11, "count": 6})
        assert await request(a, "GetCountRequest", {}) == {"Type": "GetCountResponse", "Data": {"count": 6}}
        if not raw:
            bad = await request(a, "IncrementRequest", {"by": "2"})
            assert bad["Type"] == "HandlerException" and "by" in bad["Data"]["message"], bad
        assert await request(a, "NotifyUserRequest", {"user": 22, "text": "hi"}) == \
            {"Type": "NotifyUserResponse", "Data": {"sent": True}}
        await expect(b, "Notice", {"text": "hi"})
    async with websockets.connect(f"{url}?{sign(ann)}") as a:
        await asyncio.sleep(0.5)
        assert await request(a, "PresenceRequest") == {"Type": "PresenceResponse", "Data": {"online": 1}}
        assert await request(a, "GetCountRequest") == {"Type": "GetCountResponse", "Data": {"count": 6}}


def main():
    component = os.path.abspath(sys.argv[1])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen([EXTWS, "serve", "--component", component, "--bot-token", TOKEN,
                                   "--listen", f"127.0.0.1:{port}", "--data-dir", data],
                                  stdout=subprocess.DEVNULL, stderr=open(os.path.join(data, "log"), "w"))
        try:
            for _ in range(1800):  # loading compiles the component: slow on a busy machine
                try:
                    socket.create_connection(("127.0.0.1", port), 0.1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            asyncio.run(check(f"ws://127.0.0.1:{port}/", "--raw" in sys.argv[2:]))
            print(f"counter ok: {component}")
        except BaseException:
            server.terminate()
            server.wait()
            sys.stderr.write(open(os.path.join(data, "log")).read()[-3000:])
            raise
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
