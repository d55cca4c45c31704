"""The component's entry module: `componentize-py -w described-handler componentize extws.main`.

It imports the module `app` (your handlers, which create one `extws.App`) and exports that app
as the world's `WitWorld`. Nothing here is meant to be imported by user code.
"""

import importlib
from typing import List, Optional

import wit_world
from componentize_py_types import Err
from wit_world.imports.types import HandlerError, Response
from wit_world.imports.types import User as WitUser

from . import _models, _warm, log
from ._app import the_app
from ._errors import Error
from ._user import User

importlib.import_module("app")
_app = the_app()


class WitWorld(wit_world.WitWorld):
    """The exports of world `described-handler`, delegating to the app."""

    def message_types(self) -> List[str]:
        return _app.message_types()

    def describe(self) -> str:
        return _models.dumps(_app.describe())

    def handle(self, msg_type: str, data: str, user: Optional[WitUser]) -> Response:
        try:
            reply_type, text = _app.handle_as(msg_type, data, user, User._from_wit)
        except Error as e:
            raise Err(HandlerError(message=e.message, close_connection=e.close_connection,
                                   close_code=e.close_code)) from None
        return Response(msg_type=reply_type, data=text)

    def on_connect(self, user: Optional[WitUser]) -> None:
        _hook("on-connect", user)

    def on_disconnect(self, user: Optional[WitUser]) -> None:
        _hook("on-disconnect", user)


def _hook(name: str, user: Optional[WitUser]) -> None:
    try:
        _app.hook(name, User._from_wit(user))
    except Error as e:
        log.warn(f"{name}: {e.message}")


def _sample_user() -> None:
    fields = {name: None for name in getattr(WitUser, "__dataclass_fields__", ())}
    User._from_wit(WitUser(**{**fields, "id": 1, "first_name": "A"}))


def _warm_up() -> None:
    """The first run of the per-call path, into the snapshot (see `_warm`)."""
    _app.warm_up()
    _warm.repeat(_sample_user)
    _warm.repeat(lambda: Response(msg_type="", data=""))


_warm_up()
