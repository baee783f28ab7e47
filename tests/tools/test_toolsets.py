"""The toolset lifecycle on real sessions: each episode's toolset runs a real child process,
opened at reset and closed at every way an episode ends — including ``close`` from another
thread while one of its tools hangs on that process."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

import psutil
import pytest
from gymnasium.error import ResetNeeded

import agentgym
from agentgym import ConfigError, Feedback, InvalidAction, LLMEnv
from agentgym.tools import Toolset, ToolError, tool
from agentgym.wrappers import ToolCalling

# The session process: reverses each line it reads.
WORKER = "import sys\nfor line in sys.stdin:\n    print(line.rstrip('\\n')[::-1], flush=True)\n"


def call(name: str, **arguments) -> str:
    import json

    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


def sessions() -> list[psutil.Process]:
    """Live session processes of this test process."""
    return [c for c in psutil.Process().children(recursive=True)
            if c.is_running() and c.status() != psutil.STATUS_ZOMBIE and "-c" in c.cmdline()
            and any("[::-1]" in part for part in c.cmdline())]


class Reverser(Toolset):
    """A per-episode process the tools talk to over pipes."""

    def __init__(self) -> None:
        self.opened = self.closed = 0
        self.process: subprocess.Popen | None = None

    def open(self) -> None:
        self.opened += 1
        self.process = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)

    def close(self) -> None:
        self.closed += 1
        self.process.kill()  # a tool blocked on the pipe gets end-of-file and returns
        self.process.wait()
        self.process.stdin.close()
        self.process.stdout.close()

    @tool
    def reverse(self, text: str) -> str:
        """Reverse a text in the session's process."""
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()
        return self._read()

    @tool
    def listen(self) -> str:
        """Wait for the session's next line (there is none: it hangs until the session closes)."""
        return self._read()

    def _read(self) -> str:
        line = self.process.stdout.readline()
        if not line:
            raise ToolError("the session has ended")
        return line.rstrip("\n")


class ReverseGame(LLMEnv):
    """Answer the reversed word; the reverser may help. ``boom`` makes ``play`` raise."""

    instructions = "Reply with the word reversed."
    toolsets = (Reverser,)
    example_actions = ("drawer",)

    def new_episode(self, options):
        self.word = self.rng.choice(["stressed", "drawer", "lived", "reward"])
        self.expected = self.toolset(Reverser).reverse(self.word)  # the session is open already
        return f"Reverse the word {self.word!r}."

    def play(self, action):
        if action == "boom":
            raise RuntimeError("the game broke")
        if not action.strip():
            raise InvalidAction("reply with a word.")
        won = action.strip() == self.expected
        return Feedback("Right." if won else "Wrong.", {"outcome": float(won)}, terminated=True, success=won)


agentgym.register("testing/ToolsetReverse-v0", ReverseGame, max_turns=3)


@pytest.fixture
def nothing_left(resources):
    yield resources
    resources.assert_released()
    assert sessions() == []


def reverser(env) -> Reverser:
    return env.unwrapped.toolset(Reverser)


def test_opened_at_reset_and_closed_when_the_episode_terminates(nothing_left):
    env = agentgym.make("testing/ToolsetReverse-v0")
    assert isinstance(env.env, ToolCalling), "make adds the tool calling"
    _, info = env.reset(seed=0)
    assert [t["function"]["name"] for t in info["tools"]] == ["reverse", "listen"]
    toolset = reverser(env)
    assert toolset.is_open and toolset.opened == 1 and len(sessions()) == 1
    observation, _, _, _, _ = env.step(call("reverse", text="abc"))
    assert observation == "<tool_response>\ncba\n</tool_response>"
    first_pid = toolset.process.pid
    _, reward, terminated, _, _ = env.step(env.unwrapped.expected)
    assert terminated and reward == 1.0
    assert not toolset.is_open and toolset.closed == 1 and sessions() == []
    # The next episode gets a new session.
    env.reset()
    assert toolset.process.pid != first_pid and (toolset.opened, toolset.closed) == (2, 1)
    env.close()
    assert toolset.closed == 2


def test_closed_when_a_reset_abandons_the_episode_and_at_close(nothing_left):
    env = agentgym.make("testing/ToolsetReverse-v0")
    env.reset(seed=0)
    env.step(call("reverse", text="x"))
    env.reset(seed=1)  # abandons the first episode
    toolset = reverser(env)
    assert (toolset.opened, toolset.closed) == (2, 1) and len(sessions()) == 1
    env.close()
    env.close()  # idempotent
    assert toolset.closed == 2 and sessions() == []


def test_closed_on_the_step_a_turn_budget_truncates(nothing_left):
    env = agentgym.make("testing/ToolsetReverse-v0", max_turns=2)
    env.reset(seed=0)
    env.step(call("reverse", text="x"))
    _, _, terminated, truncated, info = env.step(call("reverse", text="y"))
    assert truncated and not terminated and reverser(env).closed == 1 and sessions() == []
    assert info["tool_stats"]["calls"] == {"reverse": 2}
    env.close()


def test_closed_when_play_raises(nothing_left):
    env = agentgym.make("testing/ToolsetReverse-v0")
    env.reset(seed=0)
    with pytest.raises(RuntimeError, match="the game broke"):
        env.step("boom")
    assert reverser(env).closed == 1 and sessions() == []
    env.close()


def test_a_tool_of_a_closed_toolset_is_not_run(nothing_left):
    env = ReverseGame()
    env.reset(seed=0)
    env.end_episode()
    outcome = env.call_tool("reverse", {"text": "x"})
    assert not outcome.ok and outcome.failure == "unavailable" and "session is closed" in outcome.content
    env.close()


def test_closing_from_another_thread_while_a_tool_hangs(nothing_left):
    """What a rollout with a per-step timeout does: give up on a step stuck in a tool and close
    the environment from its own thread. The session goes at once, which makes the hung call
    return; the step then ends and nothing is left."""
    env = agentgym.make("testing/ToolsetReverse-v0")
    env.reset(seed=0)
    toolset = reverser(env)
    outcome: dict = {}

    def step():
        outcome["result"] = env.step(call("listen"))

    stepping = threading.Thread(target=step)
    stepping.start()
    stepping.join(0.3)
    assert stepping.is_alive(), "the listen tool should hang on the session"
    env.close()
    stepping.join(10)
    assert not stepping.is_alive()
    observation, _, _, _, info = outcome["result"]
    assert info["tool_results"][0]["ok"] is False and "the session has ended" in observation
    assert toolset.closed == 1 and sessions() == []
    with pytest.raises(ResetNeeded):  # the episode ended with the close
        env.step(call("reverse", text="x"))


class _Counted(Toolset):
    log: list[str] = []

    def open(self) -> None:
        self.log.append(f"open {type(self).__name__}")

    def close(self) -> None:
        self.log.append(f"close {type(self).__name__}")


class First(_Counted):
    @tool
    def first(self) -> str:
        """First."""
        return "1"


class Second(_Counted):
    fail_open = fail_close = False

    def open(self) -> None:
        if self.fail_open:
            raise ConnectionError("cannot reach the database")
        super().open()

    def close(self) -> None:
        super().close()
        if self.fail_close:
            raise ConnectionError("the database went away")

    @tool
    def second(self) -> str:
        """Second."""
        return "2"


class Ordered(LLMEnv):
    instructions = "Say done."
    toolsets = (First, Second)

    def acquire_resources(self):
        _Counted.log.append("acquire")

    def release_resources(self):
        _Counted.log.append("release")

    def new_episode(self, options):
        _Counted.log.append("new_episode")
        return "go"

    def play(self, action):
        return Feedback("done", {}, terminated=True)


def test_order_failures_and_exactly_once():
    _Counted.log.clear()
    env = Ordered()
    env.reset(seed=0)
    env.step("done")
    assert _Counted.log == ["acquire", "open First", "open Second", "new_episode",
                            "close Second", "close First", "release"]
    # A failing open fails the reset; what was opened is closed and the resources released.
    _Counted.log.clear()
    env.toolset(Second).fail_open = True
    with pytest.raises(ConnectionError, match="cannot reach"):
        env.reset()
    assert _Counted.log == ["acquire", "open First", "close First", "release"]
    # A failing close is reported, the others still close, and it is not retried.
    env.toolset(Second).fail_open = False
    env.toolset(Second).fail_close = True
    env.reset()
    _Counted.log.clear()
    with pytest.raises(ConnectionError, match="went away"):
        env.close()
    assert _Counted.log == ["close Second", "close First", "release"]
    env.close()
    assert _Counted.log == ["close Second", "close First", "release"]


# ------------------------------------------------------------------ async toolsets
class AsyncCat(Toolset):
    """An asyncio subprocess: bound to the event loop that started it."""

    async def aopen(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", WORKER, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.closed = 0

    async def aclose(self) -> None:
        self.closed += 1
        self.process.kill()
        await self.process.wait()

    @tool(timeout=10)
    async def echo(self, text: str) -> str:
        """Reverse a text in the session's process."""
        assert asyncio.get_running_loop() is self.loop, "a loop-bound session used from another loop"
        self.process.stdin.write(text.encode() + b"\n")
        await self.process.stdin.drain()
        return (await self.process.stdout.readline()).decode().rstrip("\n")

    @tool
    async def listen(self) -> str:
        """Wait for a line that never comes."""
        line = await self.process.stdout.readline()
        if not line:
            raise ToolError("the session has ended")
        return line.decode()


class AsyncGame(LLMEnv):
    instructions = "Say done."
    toolsets = (AsyncCat,)

    def new_episode(self, options):
        return "go"

    def play(self, action):
        return Feedback("done", {}, terminated=True)


class AsyncHookGame(AsyncGame):
    async def aplay(self, action):
        return Feedback("done", {}, terminated=True)


def test_an_async_toolset_through_the_synchronous_api_keeps_one_loop(nothing_left):
    env = ToolCalling(AsyncGame())
    for seed in range(2):
        env.reset(seed=seed)
        for word in ("abc", "xyz"):
            _, _, _, _, info = env.step(call("echo", text=word))
            assert info["tool_results"][0]["content"] == word[::-1], info["tool_results"]
        env.step("done")
        assert env.unwrapped.toolset(AsyncCat).closed == 1 and sessions() == []
    env.close()


def test_closing_an_async_toolset_from_another_thread_while_its_tool_hangs(nothing_left):
    env = ToolCalling(AsyncGame())
    env.reset(seed=0)
    results: dict = {}
    stepping = threading.Thread(target=lambda: results.setdefault("step", env.step(call("listen"))))
    stepping.start()
    stepping.join(0.3)
    assert stepping.is_alive()
    env.close()  # runs aclose on the loop the hung call runs on
    stepping.join(10)
    assert not stepping.is_alive() and "the session has ended" in results["step"][0]
    assert env.unwrapped.toolset(AsyncCat).closed == 1 and sessions() == []
    assert env.unwrapped._toolset_loop is None, "close stops the toolset loop (its thread is counted too)"


def test_an_async_toolset_opened_by_areset_lives_on_the_callers_loop(nothing_left):
    async def main():
        env = AsyncHookGame()
        await env.areset(seed=0)
        assert env.toolset(AsyncCat).loop is asyncio.get_running_loop()
        assert (await env.acall_tool("echo", {"text": "abc"})).content == "cba"
        # A synchronous tool step from a worker thread runs on this loop too.
        wrapper = ToolCalling(env)
        wrapper._done = False
        _, _, _, _, info = await asyncio.to_thread(wrapper.step, call("echo", text="xyz"))
        assert info["tool_results"][0]["content"] == "zyx"
        await env.aclose()
        assert env.toolset(AsyncCat).closed == 1

    asyncio.run(main())


# ------------------------------------------------------------------ declaring toolsets
def test_toolset_declarations_are_checked():
    class Shared(LLMEnv):
        toolsets = (First(),)

    with pytest.raises(ConfigError, match="declared on the class, so every environment would share"):
        Shared().all_tools()

    class NotAToolset(LLMEnv):
        toolsets = (str,)

    with pytest.raises(ConfigError, match="neither a Toolset subclass nor a Toolset instance"):
        NotAToolset().all_tools()

    class NeedsArguments(Toolset):
        def __init__(self, path: str) -> None:
            self.path = path

    class Unbuildable(LLMEnv):
        toolsets = (NeedsArguments,)

    with pytest.raises(ConfigError, match=r"build it in __init__: self.toolsets = \(NeedsArguments\(...\),\)"):
        Unbuildable().all_tools()

    class Twice(LLMEnv):
        toolsets = (First, First)

    with pytest.raises(ConfigError, match="two tools are named 'first'"):
        Twice().all_tools()

    class BuiltInInit(LLMEnv):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.toolsets = (NeedsArguments("/tmp/db"),)

    env = BuiltInInit()
    assert env.toolset(NeedsArguments).path == "/tmp/db" and env.all_tools() == ()
    with pytest.raises(ConfigError, match="has no First toolset"):
        env.toolset(First)


def test_each_environment_makes_its_own_toolset_instances():
    a, b = ReverseGame(), ReverseGame()
    assert a.toolset(Reverser) is not b.toolset(Reverser)
    assert a.toolset(Reverser) is a.toolset(Reverser)


class Sleepy(Toolset):
    timeout = 0.1  # the bound of every tool here that sets none

    def open(self) -> None:
        self.wake = threading.Event()

    def close(self) -> None:
        self.wake.set()  # ends a call still waiting

    @tool
    def doze(self) -> str:
        """Wait to be woken."""
        self.wake.wait(30)
        return "awake"

    @tool(timeout=5)
    def quick(self) -> str:
        """Answer at once."""
        return "here"


class SleepyGame(AsyncGame):
    toolsets = (Sleepy,)


def test_a_toolsets_timeout_bounds_its_tools(resources):
    env = SleepyGame()
    env.reset(seed=0)
    assert [t.timeout for t in env.all_tools()] == [0.1, 5]
    outcome = env.call_tool("doze", {})
    assert outcome.failure == "timeout" and "did not finish within 0.1 seconds" in outcome.content
    assert env.call_tool("quick", {}).content == "here"
    env.close()  # wakes the abandoned call: its thread ends
    resources.assert_released()


def test_formats_travel_as_data():
    from agentgym.wrappers import WrapperSpec

    class Coder(LLMEnv):
        tool_call_formats = ("python",)

        @tool
        def python(self, code: str) -> str:
            """Run code."""
            return code.upper()

        def new_episode(self, options):
            return "go"

        def play(self, action):
            return Feedback("ok", {})

    env = WrapperSpec("ToolCalling", {"formats": ["hermes"]})(Coder())
    assert [f.name for f in env.formats] == ["hermes"]
    env = ToolCalling(Coder())
    env.reset(seed=0)
    assert env.step("<python>x</python>")[0] == "<tool_response>\nX\n</tool_response>"


def test_the_rollout_engine_abandons_an_episode_stuck_in_a_tool_and_leaves_nothing(nothing_left):
    """A step that hangs in a tool runs past the rollout's step timeout: the engine gives up on
    it, closes the environment from its own thread — which closes the session and so ends the
    hung call — and records the episode as failed; the other episodes finish."""
    from agentgym.policies.scripted import ScriptedPolicy
    from agentgym.rollout import RolloutConfig, Task, rollout

    class Scripts(ScriptedPolicy):
        async def agenerate(self, requests, sampling):
            generations = await super().agenerate(requests, sampling)
            for request, generation in zip(requests, generations):
                if "'lived'" in request.messages[-1]["content"]:  # seed 1's word: this episode hangs
                    generation.text = call("listen")
            return generations

    tasks = [Task("testing/ToolsetReverse-v0", seed=s) for s in range(3)]
    words = {}
    for task in tasks:
        game = ReverseGame()
        game.reset(seed=task.seed)
        words[task.seed] = game.word
        game.close()
    assert "lived" in words.values()
    with pytest.warns(Warning, match="outlasted its timeout and was abandoned"):
        result = rollout(Scripts([call("reverse", text="abc")], then="done"), tasks, RolloutConfig(step_timeout=1.0),
                         progress=False)
    by_seed = {t.seed: t for t in result.trajectories}
    for seed, word in words.items():
        trajectory = by_seed[seed]
        if word == "lived":
            assert trajectory.error_kind == "timeout" and trajectory.error, trajectory.error
        else:
            assert trajectory.error is None and trajectory.turns[0].info["tool_results"][0]["content"] == "cba"
