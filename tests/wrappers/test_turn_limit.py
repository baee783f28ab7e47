"""TurnLimit truncates, and ends the environment's episode at once so its resources go."""

from agentgym import Feedback, LLMEnv
from agentgym.wrappers import TurnLimit


class Counted(LLMEnv):
    """Each episode holds one counted resource; the episode never ends by itself."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.held = 0
        self.released = 0

    def acquire_resources(self):
        self.held += 1

    def release_resources(self):
        self.held -= 1
        self.released += 1

    def new_episode(self, options):
        return "go"

    def play(self, action):
        return Feedback("again", {"outcome": 0.0})


def test_the_truncating_step_releases_the_episodes_resources_at_once():
    env = TurnLimit(Counted(), max_turns=2)
    env.reset(seed=0)
    assert env.unwrapped.held == 1
    *_, truncated, info = env.step("a")
    assert not truncated and env.unwrapped.held == 1 and info["turns_left"] == 1
    *_, truncated, info = env.step("b")
    assert truncated and info["turns_left"] == 0
    assert env.unwrapped.held == 0 and env.unwrapped.released == 1  # not waiting for reset or close
    env.reset(seed=1)
    env.close()
    assert env.unwrapped.held == 0 and env.unwrapped.released == 2  # released exactly once each


def test_an_episode_terminating_on_its_last_turn_is_released_once():
    class Ends(Counted):
        def play(self, action):
            return Feedback("done", {"outcome": 1.0}, terminated=True, success=True)

    env = TurnLimit(Ends(), max_turns=1)
    env.reset(seed=0)
    *_, terminated, truncated, _ = env.step("a")
    assert terminated and not truncated
    env.close()
    assert env.unwrapped.held == 0 and env.unwrapped.released == 1
