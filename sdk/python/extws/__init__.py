"""extws: typed message handlers for extws-wasm, in Python (built with componentize-py).

```python
from dataclasses import dataclass
from extws import App, Error, User

app = App("calc")

@dataclass
class CalculateRequest:
    numbers: list[int]

@dataclass
class CalculateResponse:
    result: int

@app.message()
def calculate(request: CalculateRequest, user: User | None) -> CalculateResponse:
    return CalculateResponse(result=sum(request.numbers))
```

The request `Type` is the first parameter's model name, the reply `Type` the returned model's.
`Data` is decoded and checked before the handler runs (`invalid CalculateRequest: ...`), and
the component's `describe` export reports every model as JSON Schema. `extws.kv`,
`extws.push`, `extws.log`, `extws.session` and `extws.telegram` wrap the host's imports; they
work inside the component only.
"""

from ._app import App
from ._errors import Error
from ._models import DataError, schema
from ._user import User

__all__ = ["App", "DataError", "Error", "User", "schema"]
__version__ = "0.1.0"
