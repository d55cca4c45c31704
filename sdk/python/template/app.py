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
class CalculateRequest:
    """Numbers to add up: `{"numbers": [1, 2, 3]}`."""

    numbers: list[int]


@dataclass
class CalculateResponse:
    """The sum of the numbers."""

    result: int


@app.message()
def calculate(request: CalculateRequest, user: User | None) -> CalculateResponse:
    """Adds up the numbers (`user` is the Telegram user, None without authentication)."""
    result = sum(request.numbers)
    if not -(2**63) <= result < 2**63:
        raise Error("the sum does not fit in a signed 64-bit integer")
    return CalculateResponse(result=result)
