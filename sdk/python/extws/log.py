"""Records in the host's log, tagged with the tenant and component (WIT interface `log`)."""

from wit_world.imports import log as _log


def debug(message: str) -> None:
    """Logs at debug level."""
    _log.log(_log.Level.DEBUG, message)


def info(message: str) -> None:
    """Logs at info level."""
    _log.log(_log.Level.INFO, message)


def warn(message: str) -> None:
    """Logs at warn level."""
    _log.log(_log.Level.WARN, message)


def error(message: str) -> None:
    """Logs at error level."""
    _log.log(_log.Level.ERROR, message)
