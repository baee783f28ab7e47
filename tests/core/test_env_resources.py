"""The per-episode resource lifecycle of LLMEnv, counted on real resources.

Each episode of :class:`Sandbox` opens a real file and spawns a real ``sleep`` process (what a
sandbox, a browser page or a database connection is to a real environment); psutil then checks
that this process holds neither after every way an episode can end.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import psutil
import pytest
from gymnasium.error import ResetNeeded

import agentgym
from agentgym import Feedback, InvalidAction, LLMEnv


class Sandbox(LLMEnv):
    """Say ``win`` to win; ``boom`` makes ``play`` raise. Holds a file and a process per episode."""

    instructions = "Say win."
    example_actions = ("win", "wait")

    def __init__(self, scratch: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.scratch = Path(scratch)
        self.acquired = self.released = 0
        self.fail_new_episode = False
        self.process: subprocess.Popen | None = None
        self.file = None

    def acquire_resources(self) -> None:
        self.acquired += 1
        self.file = open(self.scratch / f"episode-{self.acquired}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(["sleep", "60"])

    def release_resources(self) -> None:
        self.released += 1
        self.file.close()
        self.process.kill()
        self.process.wait()

    def new_episode(self, options):
        if self.fail_new_episode:
            raise RuntimeError("the task could not be drawn")
        self.file.write("episode\n")
        return "Say win."

    def play(self, action):
        if action == "boom":
            raise RuntimeError("the sandbox died")
        if action not in self.example_actions:
            raise InvalidAction("say win or wait")
        return Feedback("won" if action == "win" else "waiting", {"outcome": float(action == "win")},
                        terminated=action == "win", success=action == "win")


def held(scratch: Path) -> tuple[int, int]:
    """(open files under ``scratch``, live ``sleep`` children) of this process."""
    me = psutil.Process()
    files = sum(Path(f.path).parent == scratch for f in me.open_files())
    sleepers = sum(1 for child in me.children(recursive=True)
                   if child.is_running() and child.status() != psutil.STATUS_ZOMBIE and child.name() == "sleep")
    return files, sleepers


@pytest.fixture
def scratch(tmp_path):
    yield tmp_path
    assert held(tmp_path) == (0, 0), "a test left resources open"


def test_an_episode_that_terminates_releases_at_once(scratch):
    env = Sandbox(str(scratch))
    env.reset(seed=0)
    assert held(scratch) == (1, 1)
    env.step("wait")
    env.step("nonsense")  # an invalid action keeps the episode and its resources
    assert held(scratch) == (1, 1)
    assert env.step("win")[2]
    assert held(scratch) == (0, 0) and (env.acquired, env.released) == (1, 1)
    env.close()
    assert env.released == 1, "release runs once per acquire"


def test_a_reset_in_the_middle_of_an_episode_releases_the_abandoned_one(scratch):
    env = Sandbox(str(scratch))
    for seed in range(5):
        env.reset(seed=seed)
        env.step("wait")
        assert held(scratch) == (1, 1)
    env.close()
    assert held(scratch) == (0, 0) and (env.acquired, env.released) == (5, 5)


def test_a_raising_play_releases_and_ends_the_episode(scratch):
    env = Sandbox(str(scratch))
    env.reset(seed=0)
    with pytest.raises(RuntimeError, match="the sandbox died"):
        env.step("boom")
    assert held(scratch) == (0, 0)
    with pytest.raises(ResetNeeded):
        env.step("win")
    env.reset(seed=1)
    assert held(scratch) == (1, 1)
    env.close()
    env.close()
    assert (env.acquired, env.released) == (2, 2)


def test_a_raising_new_episode_releases_what_was_acquired(scratch):
    env = Sandbox(str(scratch))
    env.fail_new_episode = True
    with pytest.raises(RuntimeError, match="could not be drawn"):
        env.reset(seed=0)
    assert held(scratch) == (0, 0) and (env.acquired, env.released) == (1, 1)
    with pytest.raises(ResetNeeded):
        env.step("win")
    env.close()
    assert env.released == 1


def test_a_failing_acquire_is_not_released_and_a_failing_release_is_not_retried(scratch):
    class BadAcquire(Sandbox):
        def acquire_resources(self):
            raise OSError("no sandbox available")

    env = BadAcquire(str(scratch))
    with pytest.raises(OSError, match="no sandbox"):
        env.reset(seed=0)
    env.close()
    assert env.released == 0

    class BadRelease(Sandbox):
        def release_resources(self):
            super().release_resources()
            raise OSError("release failed")

    env = BadRelease(str(scratch))
    env.reset(seed=0)
    with pytest.raises(OSError, match="release failed"):
        env.step("win")
    env.close()  # not retried: no second error
    assert env.released == 1


def test_a_raising_play_keeps_its_error_when_release_fails_too(scratch):
    class BothFail(Sandbox):
        def release_resources(self):
            super().release_resources()
            raise OSError("release failed")

    env = BothFail(str(scratch))
    env.reset(seed=0)
    with pytest.raises(RuntimeError, match="the sandbox died") as caught:
        env.step("boom")
    assert any("release_resources raised too" in note for note in caught.value.__notes__)


def test_a_turn_budget_truncation_is_released_on_its_truncating_step(scratch):
    agentgym.register("testing/ResourceSandbox-v0", Sandbox, max_turns=2, override=True)
    env = agentgym.make("testing/ResourceSandbox-v0", scratch=str(scratch))
    env.reset(seed=0)
    env.step("wait")
    assert env.step("wait")[3], "the turn budget truncates"
    # TurnLimit ends the environment's episode on its truncating step: the resources go at once.
    assert held(scratch) == (0, 0) and env.unwrapped.released == 1
    env.reset(seed=1)
    assert held(scratch) == (1, 1) and env.unwrapped.released == 1
    env.step("wait")
    env.step("wait")
    env.unwrapped.end_episode()  # what a wrapper may call to release at once
    assert held(scratch) == (0, 0)
    env.reset(seed=2)
    env.close()
    assert held(scratch) == (0, 0) and (env.unwrapped.acquired, env.unwrapped.released) == (3, 3)


@pytest.mark.filterwarnings("ignore:.*is now replaced by")
@pytest.mark.parametrize("replies", [
    ["wait", "win"],                 # terminates
    ["wait", "wait", "wait"],        # truncated by the rollout's turn budget
    ["boom"],                        # the environment raises
])
def test_the_rollout_engine_leaves_nothing_open(scratch, replies):
    from agentgym.policies.scripted import ScriptedPolicy
    from agentgym.rollout import RolloutConfig, Task, rollout

    agentgym.register("testing/ResourceSandboxRollout-v0", Sandbox, kwargs={"scratch": str(scratch)},
                      max_turns=3, override=True)
    result = rollout(ScriptedPolicy(replies, then="wait"),
                     [Task("testing/ResourceSandboxRollout-v0", seed=s) for s in range(3)],
                     RolloutConfig(max_turns=3), progress=False)
    assert len(result.trajectories) == 3
    if replies == ["boom"]:
        assert all("the sandbox died" in t.error for t in result.trajectories)
    else:
        assert all(t.error is None for t in result.trajectories)
    assert held(scratch) == (0, 0)


def test_close_after_a_step_that_timed_out_releases_while_the_step_still_runs(scratch):
    """What a caller with a per-step timeout does: give up waiting, then close from its own
    thread. The resources go at once, even though ``play`` has not returned yet."""
    import threading

    entered, leave = threading.Event(), threading.Event()

    class Stuck(Sandbox):
        def play(self, action):
            entered.set()
            leave.wait(10)
            return super().play(action)

    env = Stuck(str(scratch))
    env.reset(seed=0)
    stepping = threading.Thread(target=env.step, args=("wait",))
    stepping.start()
    assert entered.wait(10)
    env.close()
    assert held(scratch) == (0, 0) and env.released == 1
    leave.set()
    stepping.join(10)
    assert not stepping.is_alive() and env.released == 1
    with pytest.raises(ResetNeeded):  # the episode ended with the close, whatever play answered
        env.step("wait")
