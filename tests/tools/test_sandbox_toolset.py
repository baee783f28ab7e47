"""A toolset over agentgym.sandbox's real Python session: one sandboxed interpreter per episode,
called with <python> tags, closed at episode end — and from another thread while the agent's
code loops forever."""

from __future__ import annotations

import threading
import time

import pytest

from agentgym import Feedback, LLMEnv
from agentgym.sandbox import Sandbox, SandboxLimits, SandboxUnavailable
from agentgym.tools import Toolset, tool
from agentgym.wrappers import ToolCalling


class PythonSandbox(Toolset):
    """A persistent Python interpreter in the sandbox, one per episode."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def open(self) -> None:
        self.session = self.sandbox.session()

    def close(self) -> None:
        self.session.close()  # safe from any thread: a running cell returns at once

    @tool
    def python(self, code: str) -> str:
        """Run Python code in this episode's interpreter (variables persist between calls)."""
        return self.session.run(code).for_agent()


class Compute(LLMEnv):
    instructions = "Compute with <python>...</python>, then answer the number."
    tool_call_formats = ("python", "python-fenced")

    def __init__(self, sandbox: Sandbox, **kwargs) -> None:
        super().__init__(**kwargs)
        self.toolsets = (PythonSandbox(sandbox),)

    def new_episode(self, options):
        return "What is 6 * 7?"

    def play(self, action):
        won = action.strip() == "42"
        return Feedback("Right." if won else "Wrong.", {"outcome": float(won)}, terminated=True, success=won)


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    try:
        return Sandbox(SandboxLimits(wall_seconds=20, cpu_seconds=20))
    except SandboxUnavailable as exc:  # no bubblewrap on this machine: the sandbox's own tests say why
        pytest.skip(f"the OS sandbox is unavailable here: {exc}")


def test_one_interpreter_per_episode(sandbox, resources):
    env = ToolCalling(Compute(sandbox))
    env.reset(seed=0)
    env.step("<python>x = 6</python>")
    observation, *_ = env.step("```python\nprint(x * 7)\n```")
    assert "42" in observation
    assert env.step("42")[2]
    env.reset()
    observation, *_ = env.step("<python>print(x)</python>")
    assert "NameError" in observation  # a new episode, a new interpreter
    env.close()
    resources.assert_released()


def test_closing_from_another_thread_stops_code_that_loops_forever(sandbox, resources):
    env = ToolCalling(Compute(sandbox))
    env.reset(seed=0)
    result: dict = {}
    stepping = threading.Thread(target=lambda: result.setdefault("step", env.step("<python>while True: pass</python>")))
    stepping.start()
    stepping.join(0.5)
    assert stepping.is_alive()
    started = time.perf_counter()
    env.close()
    stepping.join(10)
    assert not stepping.is_alive() and time.perf_counter() - started < 5
    observation, _, _, _, info = result["step"]
    assert info["tool_results"][0]["name"] == "python" and "the session was closed" in observation
    resources.assert_released()
