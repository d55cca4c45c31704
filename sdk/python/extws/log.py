"""Records in the host's log, tagged with the tenant and component (WIT interface `log`)."""

try:
    from wit_world.imports import log as _log
except ImportError:  # outside a component: print to stderr
    import sys
    from enum import Enum

    class _Level(Enum):
        TRACE, DEBUG, INFO, WARN, ERROR = range(5)

    class _log:  # type: ignore[no-redef]
        Level = _Level

        @staticmethod
        def log(level: _Level, message: str) -> None:
            print(f"{level.name}: {message}", file=sys.stderr)


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
