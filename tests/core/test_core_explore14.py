"""Round-14 probes of agentgym.core's checks."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import agentgym

from agentgym.browser.env import png_to_array
from agentgym.core import ConfigError, Feedback, InvalidAction, LLMEnv, check_number, is_finite_number
from agentgym.wrappers import AnswerFormat, ToolCalling


@pytest.mark.parametrize("value", [10**400, -(10**400)])
def test_an_integer_too_large_for_a_float_is_no_finite_number(value):
    """check_number (every environment's numeric arguments: a reward weight, a scale) raised
    Python's OverflowError ('int too large to convert to float') instead of its ConfigError."""
    assert not is_finite_number(value)
    with pytest.raises(ConfigError, match="sigma_scale must be a finite number"):
        check_number("GroundingEnv", "sigma_scale", value)


def test_large_integers_a_float_holds_are_finite_numbers():
    assert is_finite_number(10**300) and check_number("x", "y", 10**300) == 1e300


class Picture(LLMEnv):
    """An image each turn; "bad" is an invalid action (the error observation keeps the image)."""

    def new_episode(self, options):
        return {"text": "Look.", "image": np.full((4, 4, 3), 100, np.uint8)}

    def play(self, action):
        if action == "bad":
            raise InvalidAction("not a move")
        return Feedback({"text": "Again.", "image": np.full((4, 4, 3), 100, np.uint8)})


def test_an_image_changed_in_place_by_the_agent_is_not_the_one_an_error_observation_shows():
    """The environment kept the very array it handed out: an agent normalising its observation
    in place (``image -= 100``) changed the image the next error observation showed."""
    env = Picture()
    for start in (lambda: env.reset(seed=0)[0], lambda: env.step("move")[0]):
        observation = start()
        observation["image"] -= 100  # the agent's own copy, writable
        shown = env.step("bad")[0]
        assert shown["text"].startswith("Invalid action:") and (shown["image"] == 100).all()


def test_a_browser_screenshot_is_a_writable_array_of_its_own():
    """png_to_array (every BrowserEnv screenshot) gave a read-only view: ``image -= mean``
    raised 'assignment destination is read-only' on the steps that were no error."""
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), (10, 20, 30)).save(buffer, "PNG")
    image = png_to_array(buffer.getvalue())
    assert image.shape == (2, 3, 3) and image.flags.writeable
    image -= 10
    assert image[0, 0].tolist() == [0, 10, 20]


@pytest.mark.parametrize("wrap", [lambda env: AnswerFormat(env, instruction="Answer in <answer></answer>."),
                                  lambda env: ToolCalling(env)], ids=["AnswerFormat", "ToolCalling"])
def test_a_wrapper_answering_with_the_last_image_shows_it_as_it_was(wrap):
    """AnswerFormat and ToolCalling answer a malformed reply with the last observation's image;
    they kept the very array the agent got, so an agent normalising it in place changed it."""
    env = wrap(Picture())
    observation, _ = env.reset(seed=0)
    observation["image"] -= 100
    shown = env.step("<answer>unclosed" if isinstance(env, AnswerFormat) else "<tool_call>{oops</tool_call>")[0]
    assert shown["image"].shape == (4, 4, 3) and (shown["image"] == 100).all(), shown["text"]


class ToolsThatFail(LLMEnv):
    """An environment whose tool list cannot be read (a toolset whose server will not start)."""

    closed = 0

    def new_episode(self, options):
        return "go"

    def play(self, action):
        return Feedback("ok")

    def all_tools(self):
        raise RuntimeError("the tool server did not start")

    def close(self):
        type(self).closed += 1
        super().close()


agentgym.register("explore14/ToolsThatFail-v0", ToolsThatFail)


def test_make_closes_an_environment_whose_tools_cannot_be_listed():
    """make() built the environment, then asked for its tools to put ToolCalling around it: a
    failure there left the environment (its browser, its servers) open."""
    with pytest.raises(RuntimeError, match="the tool server did not start"):
        agentgym.make("explore14/ToolsThatFail-v0")
    assert ToolsThatFail.closed == 1
