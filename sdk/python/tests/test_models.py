"""Unit tests of decoding, encoding, schemas and dispatch, on plain CPython (no WIT needed):
`python3 -m unittest discover -s sdk/python/tests`."""

import os
import sys
import unittest
from dataclasses import dataclass, field
from typing import Dict, List, Optional

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from extws import App, Error, User, schema  # noqa: E402
from extws._models import DataError, decode, decode_request, dumps, loads  # noqa: E402


@dataclass
class Point:
    """A point in the plane."""

    x: float
    y: float = 0.0


@dataclass
class Shape:
    name: str
    points: List[Point]
    tags: Dict[str, int] = field(default_factory=dict)
    note: Optional[str] = None
    closed: bool = False
    extra: list = field(default_factory=list)


@dataclass
class Tree:
    name: str
    kids: List["Tree"] = field(default_factory=list)


@dataclass
class Nested:
    grid: List[List[int]]
    by_name: Dict[str, Dict[str, List[Optional[int]]]] = field(default_factory=dict)
    tree: Optional[Tree] = None


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
    user: Optional[User]


def problem(cls, data):
    try:
        decode_request(cls, data)
    except DataError as e:
        return str(e)
    raise AssertionError(f"{data} was accepted")


class Decode(unittest.TestCase):
    def test_integers(self):
        self.assertEqual(decode_request(CalculateRequest, '{"numbers":[1,-2],"x":1}').numbers, [1, -2])
        for bad, shown in [("1.5", "1.5"), ('"1"', '"1"'), ("true", "true"),
                           ("9223372036854775808", "9223372036854775808"), ("-0", "-0"),
                           ("1e2", "100.0"), ("null", "null"), ("[1]", "an array")]:
            self.assertEqual(problem(CalculateRequest, f'{{"numbers":[{bad}]}}'),
                             f"numbers[0]: expected an integer, got {shown}")

    def test_shapes(self):
        self.assertEqual(problem(CalculateRequest, "{}"), "missing field numbers")
        self.assertEqual(problem(CalculateRequest, "null"), "missing field numbers")
        self.assertEqual(problem(CalculateRequest, "[1,2]"), "expected an object, got an array")
        self.assertEqual(problem(CalculateRequest, '{"numbers":1}'), "numbers: expected an array, got 1")
        self.assertEqual(problem(Shape, '{"name":"a","points":[{}]}'), "missing field points[0].x")
        self.assertEqual(problem(Shape, '{"name":"a","points":[],"tags":{"k":"v"}}'),
                         'tags.k: expected an integer, got "v"')
        self.assertEqual(problem(Shape, '{"name":1,"points":[]}'), "name: expected a string, got 1")
        self.assertEqual(problem(Shape, '{"name":"a","points":[],"closed":1}'),
                         "closed: expected a boolean, got 1")
        self.assertEqual(problem(Shape, "NaN"), "not JSON: NaN is not JSON")

    def test_paths(self):
        # Paths are joined as the field walk joins them, whatever the nesting.
        self.assertEqual(problem(Shape, '{"name":"a","points":[{"x":1},{"x":"1"}]}'),
                         'points[1].x: expected a number, got "1"')
        self.assertEqual(problem(Nested, '{"grid":[[1],[2,true]]}'),
                         "grid[1][1]: expected an integer, got true")
        self.assertEqual(problem(Nested, '{"grid":[],"by_name":{"a":{"b":[null,"x"]}}}'),
                         'by_name.a.b[1]: expected an integer, got "x"')
        self.assertEqual(problem(Nested, '{"grid":[],"by_name":{"":{"":["x"]}}}'),
                         'by_name..[0]: expected an integer, got "x"')
        self.assertEqual(problem(Nested, '{"grid":[],"tree":{"name":"t","kids":[{"name":"u","kids":[{}]}]}}'),
                         "missing field tree.kids[0].kids[0].name")
        with self.assertRaises(DataError) as e:
            decode(List[Point], [{"x": 1}, {}], "at")
        self.assertEqual(str(e.exception), "missing field at[1].x")

    def test_json_corners(self):
        self.assertEqual(decode_request(CalculateRequest, ' {"numbers":[3]} \n').numbers, [3])
        self.assertIsInstance(loads("[-0]")[0], float)
        self.assertIsInstance(loads("-0.0"), float)
        for text, error in [("[NaN]", "NaN is not JSON"), ("-Infinity", "-Infinity is not JSON"),
                            ("\ufeff{}", "Unexpected UTF-8 BOM"), ("{} x", "Extra data"),
                            ("", "Expecting value")]:
            with self.assertRaises(ValueError) as e:
                loads(text)
            self.assertIn(error, str(e.exception))

    def test_unsupported(self):
        # Like the walk over values, an annotation extws cannot decode fails when reached.
        self.assertEqual(decode(List[set], []), [])
        with self.assertRaises(TypeError):
            decode(List[set], [1])

    def test_models(self):
        s = decode_request(Shape, '{"name":"a","points":[{"x":1},{"x":2.5,"y":-1}],"note":null}')
        self.assertEqual(s, Shape("a", [Point(1.0), Point(2.5, -1.0)]))
        self.assertIsInstance(s.points[0].x, float)
        self.assertEqual(decode_request(WhoAmIRequest, "null"), WhoAmIRequest())


class Encode(unittest.TestCase):
    def test_user(self):
        user = User(id=42, first_name="Ann", username="ann", is_premium=True, is_bot=False)
        self.assertEqual(dumps(WhoAmIResponse(user)),
                         '{"user":{"id":42,"is_bot":false,"first_name":"Ann","username":"ann","is_premium":true}}')
        self.assertEqual(dumps(WhoAmIResponse(None)), '{"user":null}')
        self.assertEqual(dumps({"s": 'Zoë "<&>\u2028\n'}), '{"s":"Zoë \\"<&>\u2028\\n"}')


class Schema(unittest.TestCase):
    def test_subset(self):
        self.assertEqual(schema(CalculateRequest), {
            "title": "CalculateRequest", "type": "object",
            "properties": {"numbers": {"type": "array", "items": {"type": "integer", "format": "int64"}}},
            "required": ["numbers"]})
        s = schema(Shape)
        self.assertEqual(s["required"], ["name", "points"])
        self.assertEqual(s["properties"]["points"], {"type": "array", "items": {"$ref": "#/$defs/Point"}})
        self.assertEqual(s["properties"]["note"], {"anyOf": [{"type": "string"}, {"type": "null"}]})
        self.assertEqual(s["properties"]["tags"],
                         {"type": "object", "additionalProperties": {"type": "integer", "format": "int64"}})
        self.assertEqual(s["properties"]["extra"], {"type": "array", "items": {}})
        self.assertEqual(s["$defs"]["Point"]["required"], ["x"])
        self.assertEqual(s["$defs"]["Point"]["description"], "A point in the plane.")
        self.assertNotIn("description", s)  # dataclass's generated docstring is not one
        self.assertEqual(s["$defs"]["Point"]["properties"]["y"], {"type": "number"})


class Dispatch(unittest.TestCase):
    def setUp(self):
        import extws._app
        extws._app._APPS.clear()
        self.app = App("calc")

        @self.app.message()
        def calculate(request: CalculateRequest) -> CalculateResponse:
            if not request.numbers:
                raise Error.close(4000, "empty")
            return CalculateResponse(sum(request.numbers))

        @self.app.message()
        def who_am_i(request: WhoAmIRequest, user: Optional[User]) -> WhoAmIResponse:
            return WhoAmIResponse(user)

        @self.app.on_connect
        def hello(user: Optional[User]) -> None:
            pass

    def test_handle(self):
        self.assertEqual(self.app.message_types(), ["CalculateRequest", "WhoAmIRequest"])
        self.assertEqual(self.app.handle("CalculateRequest", '{"numbers":[2,2]}', None),
                         ("CalculateResponse", '{"result":4}'))
        self.assertEqual(self.app.handle("WhoAmIRequest", "null", User(id=1, first_name="A")),
                         ("WhoAmIResponse", '{"user":{"id":1,"first_name":"A"}}'))
        with self.assertRaises(Error) as e:
            self.app.handle("CalculateRequest", '{"numbers":[1.5]}', None)
        self.assertEqual(e.exception.message, "invalid CalculateRequest: numbers[0]: expected an integer, got 1.5")
        with self.assertRaises(Error) as e:
            self.app.handle("CalculateRequest", '{"numbers":[]}', None)
        self.assertEqual((e.exception.close_connection, e.exception.close_code), (True, 4000))
        with self.assertRaises(Error) as e:
            self.app.handle("Nope", "{}", None)
        self.assertEqual(e.exception.message, "calc does not handle Nope")

    def test_user_made_when_wanted(self):
        made = []

        def to_user(caller):
            made.append(caller)
            return User(id=caller, first_name="A")

        self.assertEqual(self.app.handle_as("CalculateRequest", '{"numbers":[1]}', 7, to_user),
                         ("CalculateResponse", '{"result":1}'))
        self.assertEqual(made, [])  # calculate takes no user
        self.assertEqual(self.app.handle_as("WhoAmIRequest", "{}", 7, to_user),
                         ("WhoAmIResponse", '{"user":{"id":7,"first_name":"A"}}'))
        self.assertEqual(made, [7])

    def test_describe(self):
        d = self.app.describe()
        self.assertEqual(list(d["types"]), ["CalculateRequest", "WhoAmIRequest"])
        self.assertEqual(d["types"]["WhoAmIRequest"]["reply"], "WhoAmIResponse")
        self.assertEqual(d["types"]["WhoAmIRequest"]["reply_schema"]["properties"]["user"],
                         {"anyOf": [{"$ref": "#/$defs/User"}, {"type": "null"}]})
        self.assertEqual(d["hooks"], ["on-connect"])
        self.assertNotIn("pushes", d)

    def test_registration_errors(self):
        with self.assertRaises(TypeError):
            self.app.message()(lambda request: None)
        with self.assertRaises(ValueError):
            @self.app.message()
            def again(request: CalculateRequest) -> CalculateResponse:
                return CalculateResponse(0)


if __name__ == "__main__":
    unittest.main()
