"""The env boundary under a hung step: an episode's resources are released at once."""

import subprocess
import threading
import time

import psutil
import pytest

import agentgym
from agentgym import Feedback, LLMEnv
from agentgym.policies.base import Generation, Policy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.vector import HungEnvironmentWarning

TEARDOWN = threading.Event()
SANDBOXES: list[subprocess.Popen] = []


class SandboxHangs(LLMEnv):
    """Each episode runs a real ``sleep 60`` sandbox process; ``play`` hangs until teardown."""

    def acquire_resources(self):
        self.sandbox = subprocess.Popen(["sleep", "60"])
        SANDBOXES.append(self.sandbox)

    def release_resources(self):
        self.sandbox.kill()
        self.sandbox.wait(5)

    def new_episode(self, options):
        return "start"

    def play(self, action):
        TEARDOWN.wait(60)
        return Feedback("late", {"outcome": 0.0}, terminated=True)


agentgym.register("testing/SandboxHangs-v0", SandboxHangs, max_turns=3)


class Constant(Policy):
    name = "constant"

    async def agenerate(self, requests, sampling):
        return [Generation("run") for _ in requests]


@pytest.fixture(autouse=True)
def teardown():
    TEARDOWN.clear()
    SANDBOXES.clear()
    yield
    TEARDOWN.set()
    for sandbox in SANDBOXES:  # never leave a sleep behind, even when the test failed
        sandbox.kill()
        sandbox.wait(5)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_timed_out_episode_releases_its_sandbox_while_play_still_hangs():
    config = RolloutConfig(step_timeout=0.5, group_size=2)
    with pytest.warns(HungEnvironmentWarning, match="abandoned in its thread"):
        result = rollout(Constant(), [Task("testing/SandboxHangs-v0", 0)], config, progress=False)
    assert [t.error_kind for t in result.trajectories] == ["timeout", "timeout"]
    assert len(SANDBOXES) == 2 and not TEARDOWN.is_set()  # play is still hung in both threads
    deadline = time.monotonic() + 5
    while not all(_gone(s.pid) for s in SANDBOXES) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_gone(s.pid) for s in SANDBOXES), "the sandbox of a timed-out episode was left running"
    assert all(s.returncode is not None for s in SANDBOXES), "release_resources did not run"
