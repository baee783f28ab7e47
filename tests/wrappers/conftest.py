"""Small environments shared by the wrapper tests."""

from __future__ import annotations

import pytest

from agentgym import Feedback, InvalidAction, LLMEnv, Tool, ToolError

_TWO_NUMBERS = {
    "type": "object",
    "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
    "required": ["a", "b"],
    "additionalProperties": False,
}


def _divide(a: float, b: float) -> float:
    if b == 0:
        raise ToolError("cannot divide by zero")
    return a / b


def _crash() -> None:
    raise RuntimeError("boom")


class Calculator(LLMEnv):
    """Answer the product of two numbers; a calculator's tools may help."""

    instructions = "Answer the product of the two numbers with a whole number."

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.tools = (
            Tool("add", "Add two numbers.", lambda a, b: a + b, _TWO_NUMBERS),
            Tool("mul", "Multiply two numbers.", lambda a, b: a * b, _TWO_NUMBERS),
            Tool("divide", "Divide a by b.", _divide, _TWO_NUMBERS),
            Tool("crash", "A broken tool.", _crash),
            Tool("repeat", "Repeat 'x' n times.", lambda n: "x" * n,
                 {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}),
            Tool("facts", "Facts about a number.", lambda n: {"n": n, "even": n % 2 == 0},
                 {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}),
        )
        self.answers: list[str] = []

    def new_episode(self, options):
        self.a, self.b = self.rng.randint(10, 99), self.rng.randint(10, 99)
        self.answers = []
        return f"What is {self.a} * {self.b}?"

    def play(self, action):
        try:
            value = int(action.strip())
        except ValueError:
            raise InvalidAction("answer with a whole number.") from None
        self.answers.append(action)
        won = value == self.a * self.b
        return Feedback("Correct!" if won else "Wrong.", {"outcome": float(won)},
                        terminated=True, success=won)


@pytest.fixture
def calculator() -> Calculator:
    return Calculator()


@pytest.fixture(scope="session")
def calculator_class() -> type[Calculator]:
    return Calculator
