"""The contract checks on tool environments: hostile actions, bad arguments of every kind and
malformed markup of every format are error observations — and the checks catch an environment
that breaks that."""

from __future__ import annotations

import ast
import operator
import runpy
from pathlib import Path

import pytest

import agentgym
from agentgym import ConfigError, ErrorKind, Feedback, InvalidAction, LLMEnv
from agentgym.tools import ToolError, ToolOutcome, tool
from agentgym.testing import check_hostile_actions, check_llm_env, check_tool_calls
from agentgym.wrappers import ToolCalling

runpy.run_path(str(Path(__file__).resolve().parents[2] / "examples" / "custom_tool.py"))

_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
              ast.USub: operator.neg, ast.Pow: operator.pow}


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > 64:
            raise ToolError("exponents above 64 are not allowed")
        return _OPERATORS[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.operand))
    raise ToolError(f"only arithmetic is allowed, not {type(node).__name__}")


@tool
def python(code: str) -> str:
    """Evaluate one arithmetic expression (numbers, + - * / **) and return its value.

    Args:
        code: the expression.
    """
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except SyntaxError as exc:
        raise ToolError(f"syntax error: {exc.msg}") from None
    try:
        return repr(_evaluate(tree.body))
    except ZeroDivisionError:
        raise ToolError("division by zero") from None


class Arithmetic(LLMEnv):
    """Compute an expression; the agent may run code in <python> tags or ```python fences."""

    instructions = "Compute the value. Run arithmetic in <python>...</python> if you like, then answer the number."
    tools = (python,)
    tool_call_formats = ("python", "python-fenced", "hermes", "openai")
    example_actions = ("42", "<python>6 * 7</python>")

    def new_episode(self, options):
        self.a, self.b = self.rng.randint(100, 999), self.rng.randint(100, 999)
        return f"What is {self.a} * {self.b}?"

    def play(self, action):
        try:
            value = int(action.strip())
        except ValueError:
            raise InvalidAction("answer with a whole number.") from None
        won = value == self.a * self.b
        return Feedback("Right." if won else "Wrong.", {"outcome": float(won)}, terminated=True, success=won)

    def oracle_action(self):
        return str(self.a * self.b)


agentgym.register("testing/ContractArithmetic-v0", Arithmetic, max_turns=6, override=True)


@pytest.mark.parametrize("env_id", ["mine/Bill-v0", "testing/ContractArithmetic-v0"])
def test_tool_environments_pass_every_contract_check(env_id):
    env = agentgym.make(env_id)
    check_llm_env(env, hostile=120)
    env.close()


def test_code_formats_reach_the_tool_and_their_mistakes_say_how_to_write_a_call():
    env = agentgym.make("testing/ContractArithmetic-v0")
    env.reset(seed=0)
    observation, _, _, _, info = env.step("Let me compute.\n```python\n(2 + 3) * 4\n```")
    assert observation == "<tool_response>\n20\n</tool_response>" and info["tool_results"][0]["name"] == "python"
    observation, *_ = env.step("<python>1/0</python>")
    assert "Error: division by zero" in observation
    observation, _, _, _, info = env.step("<python>2 + 2")
    assert info["error_kind"] == ErrorKind.FORMAT
    assert observation == ("Tool call error: unclosed <python>: end the code with </python>. "
                           "Write each call as <python>code</python>.")
    observation, _, _, _, info = env.step("<python>1</python>\n```python\n2\n```")
    assert "mixes two tool-call formats (python and python-fenced)" in observation
    assert "<python>code</python> or as ```python\ncode\n```" in observation  # every format shown


def test_hostile_actions_through_every_format():
    env = ToolCalling(Arithmetic(), formats=list(agentgym.tools.FORMATS.keys() - {"sql", "search"}))
    check_hostile_actions(env, n=300)


def test_a_format_for_a_tool_the_environment_lacks_is_refused():
    with pytest.raises(ConfigError, match="the 'sql' call format calls the tool 'sql', which Arithmetic does not have"):
        ToolCalling(Arithmetic(), formats=["sql"])

    class Misdeclared(Arithmetic):
        tool_call_formats = ("serach",)

    with pytest.raises(ConfigError, match="unknown tool-call format 'serach'"):
        agentgym.tools.resolve_formats(Misdeclared.tool_call_formats)
    with pytest.raises(ConfigError, match="Misdeclared.tool_call_formats"):
        ToolCalling(Misdeclared())


def test_no_formats_at_all_is_refused_rather_than_tool_calling_silently_off():
    """``ToolCalling(env, formats=())`` read no call in any action: every action went to the
    environment as a final answer, and nothing said why the tools were never called."""
    with pytest.raises(ConfigError, match="ToolCalling formats is empty: name at least one tool-call format"):
        ToolCalling(Arithmetic(), formats=())

    class Declared(Arithmetic):
        tool_call_formats = []

    with pytest.raises(ConfigError, match="Declared.tool_call_formats is empty"):
        ToolCalling(Declared())


class Unchecked(Arithmetic):
    """Breaks the contract: runs the function on whatever the agent sends."""

    def call_tool(self, name, arguments):
        return ToolOutcome(str(python.fn(**arguments)), True)


class Credulous(Arithmetic):
    """Breaks the contract: says every call went well."""

    def call_tool(self, name, arguments):
        return ToolOutcome("fine", True)


@pytest.mark.parametrize(("broken", "message"), [(Unchecked, "step raised"), (Credulous, "was accepted")])
def test_the_tool_check_catches_an_environment_that_breaks_the_contract(broken, message):
    with pytest.raises(AssertionError, match=message):
        check_tool_calls(ToolCalling(broken()))


def test_check_llm_env_runs_the_tool_check():
    with pytest.raises(AssertionError, match="was accepted"):
        check_llm_env(ToolCalling(Credulous()), hostile=10)
