"""The app: handler registration, dispatch, hooks and `describe`."""

from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

from . import _models, _warm
from ._errors import Error
from ._user import User

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=type)
Hook = Callable[[Optional[User]], None]


@dataclass
class _Route:
    handler: Callable[..., Any]
    request: type
    reply: type
    wants_user: bool
    decode: Callable[[str], Any]  # request Data to the request model, compiled at registration


class App:
    """The component's handlers. Create one per component, in the module `app`:

    ```python
    app = App("calc")

    @app.message()
    def calculate(request: CalculateRequest, user: User | None) -> CalculateResponse:
        return CalculateResponse(result=sum(request.numbers))
    ```
    """

    def __init__(self, name: str = "handler") -> None:
        """`name` only appears in `<name> does not handle <Type>` (a Type not registered)."""
        self.name = name
        self._routes: Dict[str, _Route] = {}
        self._pushes: Dict[str, type] = {}
        self._hooks: Dict[str, Hook] = {}
        _APPS.append(self)

    def message(self, msg_type: Optional[str] = None) -> Callable[[F], F]:
        """Registers a handler for the request model of its first parameter's annotation.

        The request `Type` is that model's class name unless `msg_type` is given; the reply
        `Type` is the class name of the returned model (the return annotation is the reply
        schema `describe` reports). A second parameter, if any, receives the `User` (or None).
        """

        def register(fn: F) -> F:
            hints = typing.get_type_hints(fn)
            params = list(inspect.signature(fn).parameters.values())
            if not params or params[0].name not in hints:
                raise TypeError(f"{fn.__name__}: annotate the first parameter with a model")
            request: type = hints[params[0].name]
            reply: type = hints.get("return")  # type: ignore[assignment]
            for what, cls in (("request", request), ("return", reply)):
                if not _models.is_model(cls):
                    raise TypeError(
                        f"{fn.__name__}: the {what} annotation must be a dataclass, not {cls!r}")
            name = msg_type or request.__name__
            if name in self._routes:
                raise ValueError(f"{name} is registered twice")
            _models.schema(request), _models.schema(reply)  # unsupported annotations fail here
            _models.model_spec(reply)  # cached now, i.e. in the component's snapshot
            self._routes[name] = _Route(fn, request, reply, len(params) > 1,
                                        _models.request_decoder(request))
            return fn

        return register

    def push(self, cls: C) -> C:
        """Class decorator declaring a model this component pushes (listed by `describe`)."""
        _models.schema(cls)
        self._pushes[cls.__name__] = cls
        return cls

    def on_connect(self, fn: Hook) -> Hook:
        """Decorator: `fn(user)` runs when a connection of the tenant is authenticated."""
        self._hooks["on-connect"] = fn
        return fn

    def on_disconnect(self, fn: Hook) -> Hook:
        """Decorator: `fn(user)` runs when a connection of the tenant closes."""
        self._hooks["on-disconnect"] = fn
        return fn

    def message_types(self) -> List[str]:
        """The registered request Types, in registration order."""
        return list(self._routes)

    def handle(self, msg_type: str, data: str, user: Optional[User]) -> Tuple[str, str]:
        """Runs one request: `(reply Type, reply Data as JSON)`, or raises `Error`."""
        return self.handle_as(msg_type, data, user, None)

    def handle_as(self, msg_type: str, data: str, caller: Any,
                  to_user: Optional[Callable[[Any], Optional[User]]]) -> Tuple[str, str]:
        """`handle`, where the handler's `User` is `to_user(caller)` (`caller` itself when
        `to_user` is None), made only for a handler that takes one."""
        route = self._routes.get(msg_type)
        if route is None:
            raise Error(f"{self.name} does not handle {msg_type}")
        try:
            request = route.decode(data)
        except _models.DataError as e:
            raise Error(f"invalid {msg_type}: {e}") from None
        if route.wants_user:
            reply = route.handler(request, caller if to_user is None else to_user(caller))
        else:
            reply = route.handler(request)
        if _models.model_spec(type(reply)) is None:
            raise TypeError(f"the {msg_type} handler returned {reply!r}, not a model")
        return reply.__class__.__name__, _models.dumps(reply)

    def warm_up(self) -> None:
        """Runs each route's decoding and encoding on samples (see `_warm`): at import, so
        that the work of their first run is in the component's snapshot."""
        for route in self._routes.values():
            _warm.route(route.decode, route.request, route.reply)

    def hook(self, name: str, user: Optional[User]) -> None:
        """Runs the hook `on-connect` or `on-disconnect`, if defined."""
        fn = self._hooks.get(name)
        if fn is not None:
            fn(user)

    def describe(self) -> Dict[str, Any]:
        """The API as `describe` exports it (see wit/handler.wit)."""
        out: Dict[str, Any] = {
            "types": {
                t: {
                    "request": _models.schema(r.request),
                    "reply": r.reply.__name__,
                    "reply_schema": _models.schema(r.reply),
                }
                for t, r in self._routes.items()
            }
        }
        if self._pushes:
            out["pushes"] = {n: _models.schema(c) for n, c in self._pushes.items()}
        out["hooks"] = [h for h in ("on-connect", "on-disconnect") if h in self._hooks]
        return out


_APPS: List[App] = []


def the_app() -> App:
    """The one App the component's module created."""
    if len(_APPS) != 1:
        raise RuntimeError(f"the module `app` must create exactly one extws.App, not {len(_APPS)}")
    return _APPS[0]
