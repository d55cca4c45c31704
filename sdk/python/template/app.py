"""{{name}}: message handlers for extws-wasm, on the Python SDK `extws` (vendored in ./extws).

Each `@app.message()` function handles one request `Type` (the name of its first parameter's
model) and returns the reply model (whose name is the reply `Type`). The SDK checks `Data`
against the model before the function runs, and the component's `describe` export reports the
models as JSON Schema, their docstrings included.
"""

from dataclasses import dataclass

from extws import App, Error, User

app = App("{{name}}")


@dataclass
class GreetRequest:
    """Who to greet: `{"name": "Ann"}`."""

    name: str


@dataclass
class GreetResponse:
    """The greeting."""

    text: str


@app.message()
def greet(request: GreetRequest, user: User | None) -> GreetResponse:
    """Greets `name`, saying who asked (`user` is None without authentication)."""
    if not request.name.strip():
        raise Error("name is empty")
    by = user.first_name if user else "nobody"
    return GreetResponse(text=f"Hello, {request.name}! (asked by {by})")
