"""What the host knows about the current connection (WIT interface `session`)."""

from typing import Any, Optional

try:
    from wit_world.imports import session as _session
except ImportError:  # outside a component
    from ._outside import Outside

    _session = Outside("session")  # type: ignore[assignment]


def tenant() -> str:
    """The name of the tenant (bot or app) this connection belongs to."""
    return _session.tenant()


def init_data() -> Optional[Any]:
    """The validated initData without the user (a WIT `init-data-info` record), or None
    when the server runs without authentication."""
    return _session.init_data()


def origin() -> Any:
    """Where the current call came from (a WIT `call-origin` variant): a client's message
    (``CallOrigin_Client``), a bot update (``CallOrigin_Update``, ``.value`` is its
    ``update_id``), a schedule (``CallOrigin_Schedule``) or the ``extws-wasm call``
    subcommand (``CallOrigin_Cli``). Types starting with ``telegram.`` or ``schedule.`` only
    ever come from their own origin: the host refuses them from clients."""
    return _session.origin()
