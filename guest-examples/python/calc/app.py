from dataclasses import dataclass
from itertools import accumulate
from extws import App, Error, User
app = App("calc")  # calc, as guest-examples/CONFORMANCE.md says

@dataclass
class CalculateRequest:
    numbers: list[int]

@dataclass
class CalculateResponse:
    result: int

@dataclass
class WhoAmIRequest:
    pass

@dataclass
class WhoAmIResponse:
    user: User | None

@app.message()
def calculate(request: CalculateRequest) -> CalculateResponse:
    if any(not -(2**63) <= s < 2**63 for s in accumulate(request.numbers)):
        raise Error("overflow: the sum does not fit in a signed 64-bit integer")
    return CalculateResponse(result=sum(request.numbers))

@app.message()
def who_am_i(request: WhoAmIRequest, user: User | None) -> WhoAmIResponse:
    return WhoAmIResponse(user=user)
