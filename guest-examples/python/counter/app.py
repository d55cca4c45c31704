"""The counter example on the Python SDK: the Rust counter's behaviour (guest-examples/counter).

A per-user counter in the tenant's key-value store, whose new value is pushed to everyone
subscribed to the topic `counter`; presence through the connection hooks.
"""

from dataclasses import dataclass
from typing import Optional

from extws import App, Error, User, kv, push

app = App("counter")
TOPIC = "counter"


@dataclass
class IncrementRequest:
    by: int = 1


@dataclass
class IncrementResponse:
    count: int


@app.push
@dataclass
class CounterChanged:
    user: int
    count: int


@dataclass
class GetCountRequest:
    pass


@dataclass
class GetCountResponse:
    count: int


@dataclass
class SubscribeRequest:
    pass


@dataclass
class SubscribeResponse:
    topic: str


@dataclass
class NotifyUserRequest:
    user: int
    text: Optional[str] = None


@app.push
@dataclass
class Notice:
    text: Optional[str]


@dataclass
class NotifyUserResponse:
    sent: bool


@dataclass
class PresenceRequest:
    pass


@dataclass
class PresenceResponse:
    online: int


def user_id(user: Optional[User]) -> int:
    if user is None:
        raise Error("the counter needs an authenticated user")
    return user.id


@app.message()
def increment(request: IncrementRequest, user: Optional[User]) -> IncrementResponse:
    uid = user_id(user)
    count = kv.increment(f"count:{uid}", request.by)
    push.publish(TOPIC, CounterChanged(user=uid, count=count))
    return IncrementResponse(count=count)


@app.message()
def get_count(request: GetCountRequest, user: Optional[User]) -> GetCountResponse:
    count = kv.get(f"count:{user_id(user)}", 0)
    return GetCountResponse(count=count if type(count) is int else 0)


@app.message()
def subscribe(request: SubscribeRequest) -> SubscribeResponse:
    push.subscribe(TOPIC)
    return SubscribeResponse(topic=TOPIC)


@app.message()
def notify_user(request: NotifyUserRequest) -> NotifyUserResponse:
    push.to_user(request.user, Notice(text=request.text))
    return NotifyUserResponse(sent=True)


@app.message()
def presence(request: PresenceRequest) -> PresenceResponse:
    online = kv.get("presence:online", 0)
    return PresenceResponse(online=online if type(online) is int else 0)


@app.on_connect
def connected(user: Optional[User]) -> None:
    try:
        kv.increment("presence:online", 1)
    except Error:
        pass  # best-effort, as in the Rust counter


@app.on_disconnect
def disconnected(user: Optional[User]) -> None:
    try:
        kv.increment("presence:online", -1)
    except Error:
        pass
