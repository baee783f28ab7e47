"""Schemas from signatures and docstrings, compared with hand-written ones; definition-time errors."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal, Optional, Union

import pytest

from agentgym.tools import Injected, Tool, Toolset, tool
from agentgym.tools.schema import parse_docstring


class Unit(enum.Enum):
    CELSIUS = "C"
    FAHRENHEIT = "F"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Session:
    """Something only the environment has."""


@tool
def weather(city: str, days: int = 3, unit: Unit = Unit.CELSIUS, detailed: bool = False) -> str:
    """Forecast the weather of a city.

    Uses the national service; results are cached.

    Args:
        city: the city's name,
            in English.
        days (int): how many days ahead.
        unit: the temperature unit.

    Returns:
        The forecast as text.
    """
    return f"{city} {days} {unit.name} {detailed}"


def test_a_documented_function_gives_the_hand_written_schema():
    assert weather.schema() == {
        "type": "function",
        "function": {
            "name": "weather",
            "description": "Forecast the weather of a city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "the city's name, in English."},
                    "days": {"type": "integer", "description": "how many days ahead.", "default": 3},
                    "unit": {"type": "string", "enum": ["C", "F"], "description": "the temperature unit.",
                             "default": "C"},
                    "detailed": {"type": "boolean", "default": False},
                },
                "required": ["city"],
                "additionalProperties": False,
            },
        },
    }
    assert weather("Paris") == "Paris 3 CELSIUS False"  # still the function


def test_every_supported_annotation():
    @tool(name="kinds", description="All the kinds.")
    def kinds(a: float, b: list[int], c: dict[str, float], d: Literal["x", "y"], e: Optional[str],
              f: int | None = None, g: list = (), h: dict = None, i: Union[int, str] = 1, j: Any = None,
              k: Annotated[str, "a described string"] = "", levels: list[Level] = (), m: Literal[1, 2.5] = 1,
              n: Optional[Unit] = None, o: Optional[list[str]] = None) -> None:
        return None

    properties = kinds.parameters["properties"]
    assert properties == {
        "a": {"type": "number"},
        "b": {"type": "array", "items": {"type": "integer"}},
        "c": {"type": "object", "additionalProperties": {"type": "number"}},
        "d": {"type": "string", "enum": ["x", "y"]},
        "e": {"type": ["string", "null"]},
        "f": {"type": ["integer", "null"]},
        "g": {"type": "array", "default": []},
        "h": {"type": "object"},
        "i": {"anyOf": [{"type": "integer"}, {"type": "string"}], "default": 1},
        "j": {},
        "k": {"type": "string", "description": "a described string", "default": ""},
        "levels": {"type": "array", "items": {"type": "integer", "enum": [1, 2]}, "default": []},
        "m": {"type": "number", "enum": [1, 2.5], "default": 1},
        "n": {"type": ["string", "null"], "enum": ["C", "F", None]},
        "o": {"type": ["array", "null"], "items": {"type": "string"}},
    }
    assert kinds.parameters["required"] == ["a", "b", "c", "d", "e"]


def test_enum_arguments_reach_the_function_as_members():
    seen = {}

    @tool
    def pick(unit: Unit, levels: list[Level], maybe: Optional[Unit] = None) -> str:
        """Pick."""
        seen.update(unit=unit, levels=levels, maybe=maybe)
        return "ok"

    arguments = pick.prepare_arguments({"unit": "F", "levels": [2, 1], "maybe": None})
    pick.fn(**arguments)
    assert seen == {"unit": Unit.FAHRENHEIT, "levels": [Level.HIGH, Level.LOW], "maybe": None}


def test_injected_parameters_are_hidden_from_the_schema():
    @tool(inject=["user_id"])
    def save(text: str, session: Injected[Session], user_id: str) -> str:
        """Save a text."""
        return text

    assert save.injected == ("session", "user_id")
    assert list(save.parameters["properties"]) == ["text"] and save.parameters["required"] == ["text"]
    # An agent naming an injected parameter is refused, not obeyed.
    with pytest.raises(Exception, match="unknown argument"):
        save.prepare_arguments({"text": "x", "session": "forged"})


def test_an_async_function_and_a_method():
    @tool
    async def fetch(url: str) -> str:
        """Fetch a page."""
        return url

    assert fetch.is_async and fetch.parameters["required"] == ["url"]

    class Box(Toolset):
        @tool(timeout=2.0)
        def put(self, item: str) -> str:
            """Put an item in the box."""
            return item

    assert Box.put.method and "self" not in Box.put.parameters["properties"]
    box = Box()
    bound = box.put
    assert not bound.method and bound.timeout == 2.0 and bound.fn("x") == "x"
    with pytest.raises(TypeError, match="is a method"):
        Box.put("x")


@pytest.mark.parametrize(("define", "message"), [
    (lambda: tool(lambda x: x), "name '<lambda>' must be 1 to 64 letters"),
    (lambda: Tool.from_function(_no_doc), "no description"),
    (lambda: Tool.from_function(_untyped), "parameter 'x' has no type annotation"),
    (lambda: Tool.from_function(_set_param), "parameter 'x': the annotation set has no JSON schema"),
    (lambda: Tool.from_function(_object_param), "the annotation Session has no JSON schema"),
    (lambda: Tool.from_function(_star_args), "*args and **kwargs cannot be described"),
    (lambda: Tool.from_function(_positional_only), "keyword arguments"),
    (lambda: Tool.from_function(_int_keys), "use dict[str, ...]"),
    (lambda: Tool.from_function(_documented_typo), "Args describe 'qeury'"),
    (lambda: Tool.from_function(_documented_typo, inject=("nope",)), "inject names 'nope'"),
    (lambda: Tool.from_function(_enum_union), "Enum inside a union"),
    (lambda: Tool.from_function(_unresolvable), "cannot resolve the type hints"),
    (lambda: Tool.from_function(_documented_typo, name="a b"), "must be 1 to 64 letters"),
    (lambda: Tool.from_function(_wrong_default), "parameter 'x': the default must be an integer, got the string"),
    (lambda: Tool.from_function(_out_of_choice_default), "parameter 'mode': the default must be one of"),
])
def test_what_cannot_be_described_fails_at_definition_time(define, message):
    with pytest.raises(TypeError) as error:
        define()
    assert message in str(error.value), str(error.value)


def test_bad_timeouts_and_reserved_names():
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        Tool.from_function(weather.fn, timeout=0)
    with pytest.raises(ValueError, match="timeout"):
        Tool("t", "d", print, timeout=float("nan"))
    with pytest.raises(TypeError, match="cannot be named 'close'"):
        class Bad(Toolset):  # noqa: F841
            @tool
            def close(self) -> str:
                """Close."""
                return ""
    # Any inherited name: a tool method named timeout replaced the class's default timeout (its
    # tools() then failed with "timeout must be a positive number ..., got Tool(...)").
    with pytest.raises(TypeError, match="the @tool method 'timeout' would replace the attribute Toolset.timeout"):
        class Shadow(Toolset):  # noqa: F841
            @tool
            def timeout(self) -> str:
                """Time out."""
                return ""


def test_google_docstring_sections():
    summary, arguments = parse_docstring("""Do a thing
    over two lines.

    More detail.

    Arguments:
        first: one.
        *rest: the others,
            continued.
    Raises:
        ValueError: never an argument.
    """)
    assert summary == "Do a thing over two lines."
    assert arguments == {"first": "one.", "rest": "the others, continued."}
    assert parse_docstring("") == ("", {})


def test_hand_built_tools_keep_working():
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    repeat = Tool("repeat", "Repeat x.", lambda n: "x" * n, schema)
    assert repeat.check_arguments({"n": 2}) is None
    assert repeat.check_arguments({"n": 2, "extra": 1}) is None  # additionalProperties not false
    assert repeat.check_arguments({"n": "2"}) == "argument 'n' of repeat must be an integer, got the string '2'"


# ------------------------------------------------------------------ helpers that must fail
def _no_doc(x: int) -> int:
    return x


def _untyped(x):
    """Untyped."""


def _set_param(x: set) -> None:
    """A set."""


def _object_param(x: Session) -> None:
    """An object."""


def _star_args(*items: str) -> None:
    """Star."""


def _positional_only(x: int, /) -> None:
    """Positional."""


def _int_keys(x: dict[int, str]) -> None:
    """Int keys."""


def _documented_typo(query: str) -> None:
    """Search.

    Args:
        qeury: misspelt.
    """


def _enum_union(x: Union[Unit, int]) -> None:
    """Enum union."""


def _unresolvable(x: "NotDefinedAnywhere") -> None:  # noqa: F821
    """Unresolvable."""


def _wrong_default(x: int = "five") -> None:
    """Its default is no integer."""


def _out_of_choice_default(mode: Literal["fast", "slow"] = "medium") -> None:
    """Its default is not one of the choices."""
