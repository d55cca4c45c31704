"""Stand-ins for the generated bindings outside a component (CPython on a developer machine),
so that `extws` and a handler module import anywhere: unit tests, printing `describe`."""

from typing import Any


class NeverRaised(Exception):
    """In place of componentize_py_types.Err, which only the component raises."""


class Outside:
    """In place of a `wit_world.imports` module: every call says where it works."""

    def __init__(self, interface: str) -> None:
        self._interface = interface

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"extws.{self._interface} works inside a component only")
