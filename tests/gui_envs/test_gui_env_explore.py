"""Defects found by exploratory testing of the GUI environments from a user's side."""

from __future__ import annotations

import pytest

from agentgym.envs.gui.actions import ActionError, parse_action
from agentgym.envs.gui.frames import CoordinateFrame
from agentgym.envs.gui.grounding import GroundingEnv

PIXELS = CoordinateFrame.make("pixels", (412, 915))
HUGE = "1" + "0" * 400  # an integer JSON and Python read exactly, too large for a float


@pytest.mark.parametrize("text", [
    '{"action": "click", "x": %s, "y": 5}' % HUGE,
    "click(5, -%s)" % HUGE,
    '{"action": "click", "coordinate": [%s, 1]}' % HUGE,
    '{"action": "long_press", "x": 5, "y": 5, "duration_ms": %s}' % HUGE,
    '{"action": "swipe", "x1": 1, "y1": 1, "x2": %s, "y2": 1}' % HUGE,
    '{"action": "scroll", "direction": "down", "x": %s, "y": 1}' % HUGE,
])
def test_an_integer_too_large_for_a_float_is_an_action_error(text):
    with pytest.raises(ActionError, match="finite number|milliseconds"):
        parse_action(text, PIXELS)


def test_a_huge_coordinate_is_an_error_observation_not_a_crash(make_gui):
    env = make_gui(GroundingEnv, "easy")
    env.reset(seed=0)
    observation, reward, terminated, _, info = env.step('{"action": "click", "x": %s, "y": 5}' % HUGE)
    assert info["error"] is not None and "finite" in info["error"]
    assert not terminated and "Error:" in observation["text"]
    assert env.episode_active


@pytest.mark.parametrize("text", [
    "```" + " " * 40_000 + "x",
    "```" + " " * 40_000,
    "```json" + "\n" * 40_000 + "x",
    "```" + "a" * 40_000,
])
def test_an_unclosed_code_fence_is_refused_in_linear_time(text):
    """A reply that opens a code fence and never closes it is refused at once (the fence
    pattern used to try every split of the blanks after the opening: seconds per step)."""
    import time

    started = time.perf_counter()
    with pytest.raises(ActionError):
        parse_action(text, PIXELS)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("text", [
    '```json\n{"action": "back"}\n```',
    '  ```\n{"action": "back"}```  \n',
    '```{"action": "back"}```',
    '<answer>```json\n{"action": "back"}\n```</answer>',
])
def test_a_fenced_action_still_parses(text):
    assert parse_action(text, PIXELS).type == "back"


@pytest.mark.parametrize("weights", [[1, 2], "format", 3.0])
def test_reward_weights_that_are_no_mapping_are_a_config_error(weights):
    from agentgym.core import ConfigError
    from agentgym.envs.gui.action_prediction import ActionPredictionEnv

    with pytest.raises(ConfigError, match="reward_weights"):
        ActionPredictionEnv(reward_weights=weights)


@pytest.mark.parametrize("kinds", [5, {"form": 1}, b"form"])
@pytest.mark.parametrize("which", ["grounding", "navigation"])
def test_kinds_that_are_no_name_or_list_are_a_config_error(which, kinds):
    from agentgym.core import ConfigError
    from agentgym.envs.gui.navigation import NavigationEnv

    cls = GroundingEnv if which == "grounding" else NavigationEnv
    with pytest.raises(ConfigError, match="kinds must be"):
        cls(kinds=kinds)
