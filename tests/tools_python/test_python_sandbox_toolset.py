"""agentgym.tools.PythonSandbox: one real sandboxed interpreter per episode behind the tool
``python(code)`` — state within an episode, a fresh one per episode, lazy start, the per-episode
run budget, files, code that loops/crashes/floods, closing from another thread (also while the
interpreter starts), no process left behind, and a clear refusal where the sandbox cannot work."""

from __future__ import annotations

import threading
import time

import psutil
import pytest

from agentgym import Feedback, LLMEnv
from agentgym.sandbox import Sandbox, SandboxLimits, SandboxUnavailable
from agentgym.tools import PythonSandbox, ToolError
from agentgym.wrappers import ToolCalling


class Scratch(LLMEnv):
    """A minimal environment around one PythonSandbox; any text without code ends the episode."""

    tool_call_formats = ("python", "hermes")

    def __init__(self, toolset: PythonSandbox) -> None:
        super().__init__()
        self.python_sandbox = toolset
        self.toolsets = (toolset,)

    def new_episode(self, options):
        return "Compute."

    def play(self, action):
        return Feedback("done", {"outcome": 0.0}, terminated=True)


def _children() -> int:
    return len(psutil.Process().children(recursive=True))


def _run(env: ToolCalling, code: str) -> str:
    observation, reward, terminated, truncated, info = env.step(f"<python>{code}</python>")
    assert reward == 0.0 and not terminated and info["tool_results"][0]["name"] == "python"
    return observation


def test_state_persists_within_an_episode_and_not_across(sandbox, resources):
    env = ToolCalling(Scratch(PythonSandbox(sandbox=sandbox)))
    env.reset(seed=0)
    assert "[no output]" in _run(env, "import math\nx = math.factorial(20)")
    assert "2432902008176640000" in _run(env, "x")  # a final expression's value is shown
    first = env.unwrapped.python_sandbox.session
    env.step("finished")  # ends the episode: the interpreter is closed
    assert first.closed
    env.reset()
    assert "NameError" in _run(env, "print(x)")
    assert env.unwrapped.python_sandbox.session is not first
    env.close()
    resources.assert_released()


def test_the_interpreter_starts_at_the_first_call_unless_eager(sandbox, resources):
    lazy = Scratch(PythonSandbox(sandbox=sandbox))
    before = _children()
    lazy.reset(seed=0)
    assert lazy.python_sandbox.session is None and _children() == before  # an episode without code costs nothing
    assert lazy.call_tool("python", {"code": "print(1)"}).content == "1"
    assert _children() > before
    lazy.close()
    eager = Scratch(PythonSandbox(sandbox=sandbox, lazy=False))
    eager.reset(seed=0)
    assert eager.python_sandbox.session is not None and eager.python_sandbox.session.alive
    eager.close()
    resources.assert_released()


def test_the_run_budget_is_per_episode(sandbox):
    env = Scratch(PythonSandbox(sandbox=sandbox, max_calls=2))
    env.reset(seed=0)
    assert [env.call_tool("python", {"code": f"print({n})"}).content for n in (1, 2)] == ["1", "2"]
    refused = env.call_tool("python", {"code": "print(3)"})
    assert not refused.ok and "limit of 2 code runs" in refused.content and "final answer" in refused.content
    assert env.python_sandbox.calls == 2 and env.python_sandbox.last_code == "print(2)"
    assert env.python_sandbox.execute("print(4)").stdout == "4\n"  # the environment's own runs do not count
    env.reset()
    assert env.python_sandbox.calls == 0 and env.call_tool("python", {"code": "print(5)"}).content == "5"
    env.close()


def test_files_are_in_tmp_and_an_episode_can_add_its_own(sandbox):
    toolset = PythonSandbox(sandbox=sandbox, files={"data/numbers.txt": "3 4 5"})
    env = Scratch(toolset)
    env.reset(seed=0)
    toolset.add_files({"extra.txt": b"bytes too"})
    code = "print(sum(map(int, open('/tmp/data/numbers.txt').read().split())), open('extra.txt').read())"
    assert env.call_tool("python", {"code": code}).content == "12 bytes too"
    with pytest.raises(RuntimeError, match="already running"):
        toolset.add_files({"late.txt": "x"})
    env.reset()
    assert "FileNotFoundError" in env.call_tool("python", {"code": "open('extra.txt')"}).content
    env.close()


def test_loops_crashes_and_floods_are_observations(resources):
    toolset = PythonSandbox(SandboxLimits(wall_seconds=1.5, cpu_seconds=5, output_chars=2_000))
    env = ToolCalling(Scratch(toolset))
    env.reset(seed=0)
    _run(env, "kept = 1")
    looped = _run(env, "while True:\n    pass")
    assert "wall-clock limit" in looped and "session was restarted" in looped
    assert "NameError" in _run(env, "kept")  # the state went with the killed interpreter
    crashed = _run(env, "import os\nos._exit(7)")
    assert "interpreter ended (exit status 7)" in crashed
    flooded = _run(env, "print('y' * 1_000_000)")
    assert len(flooded) < 3_000 and "characters omitted" in flooded
    assert "ZeroDivisionError" in _run(env, "1 / 0")
    assert _run(env, "print('still here')").endswith("still here\n</tool_response>")
    env.close()
    resources.assert_released()


def test_closed_from_another_thread_while_code_loops_forever(sandbox, resources):
    env = ToolCalling(Scratch(PythonSandbox(sandbox=sandbox)))
    env.reset(seed=0)
    result: dict = {}
    stepping = threading.Thread(target=lambda: result.setdefault("step", env.step("<python>while True: pass</python>")))
    stepping.start()
    time.sleep(0.5)
    assert stepping.is_alive()
    started = time.perf_counter()
    env.close()
    stepping.join(10)
    assert not stepping.is_alive() and time.perf_counter() - started < 5
    observation, _, _, _, info = result["step"]
    assert "the session was closed" in observation and info["tool_results"][0]["name"] == "python"
    resources.assert_released()


def test_closed_while_the_interpreter_is_starting(sandbox, resources):
    for delay in (0.0, 0.01, 0.03):
        env = Scratch(PythonSandbox(sandbox=sandbox))
        env.reset(seed=0)
        outcome: dict = {}
        calling = threading.Thread(target=lambda: outcome.setdefault("call", env.call_tool("python", {"code": "print(1)"})))
        calling.start()
        time.sleep(delay)
        env.close()
        calling.join(10)
        assert not calling.is_alive()
        call = outcome["call"]
        assert call.content == "1" or "closed" in call.content  # finished first, or told the session closed
    resources.assert_released()


def test_many_episodes_leave_no_process_behind(sandbox, resources):
    env = ToolCalling(Scratch(PythonSandbox(sandbox=sandbox)))
    for seed in range(12):
        env.reset(seed=seed)
        assert "spawned" in _run(env, "import subprocess\nsubprocess.Popen(['sleep', '60'])\nprint('spawned')")
        if seed % 3 == 0:
            env.step("answer")  # ended by the environment; the others are abandoned by the next reset
    env.close()
    resources.assert_released()


def test_a_tool_call_outside_an_episode_is_an_error(sandbox):
    env = Scratch(PythonSandbox(sandbox=sandbox))
    outcome = env.call_tool("python", {"code": "print(1)"})
    assert not outcome.ok and "not available now" in outcome.content
    with pytest.raises(ToolError, match="not open"):
        PythonSandbox(sandbox=sandbox).execute("1")


def test_an_unavailable_sandbox_is_refused_at_reset_with_the_fix(tmp_path):
    env = Scratch(PythonSandbox(bwrap=str(tmp_path / "no-bwrap")))
    with pytest.raises(SandboxUnavailable) as refused:
        env.reset(seed=0)
    message = str(refused.value)
    assert "PythonSandbox" in message and "bubblewrap is not installed" in message
    assert "apt-get install -y bubblewrap" in message and "isolation='rlimits'" in message
    assert message.count("apt-get install") == 1 and message.count("isolation='rlimits'") == 1  # said once
    env.close()


def test_arguments_are_checked(sandbox):
    with pytest.raises(ValueError, match="either sandbox= or limits="):
        PythonSandbox(SandboxLimits(), sandbox=sandbox)
    with pytest.raises(TypeError, match="must be an agentgym.sandbox.Sandbox"):
        PythonSandbox(sandbox="local")
    with pytest.raises(TypeError, match="SandboxLimits"):
        PythonSandbox({"wall_seconds": 3})
    with pytest.raises(ValueError, match="max_calls"):
        PythonSandbox(max_calls=-1)
    with pytest.raises(ValueError, match="relative path"):
        PythonSandbox(files={"/etc/passwd": "x"})
    with pytest.raises(TypeError, match="lazy"):
        PythonSandbox(lazy="no")
    schema = PythonSandbox().tools()[0].schema()["function"]
    assert schema["name"] == "python" and schema["parameters"]["required"] == ["code"]
    assert isinstance(PythonSandbox(sandbox=sandbox).sandbox, Sandbox)
