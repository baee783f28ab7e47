"""Defects found in the fourteenth exploratory round of the GUI environments."""

from __future__ import annotations

import numpy as np
import pytest

from agentgym.envs.gui.grounding import GroundingEnv


@pytest.mark.parametrize("frame", [{}, {"frame": "resized", "max_side": 256}], ids=["pixels", "resized"])
def test_every_observed_image_is_a_writable_array_of_its_own(make_gui, frame):
    """A fresh screenshot was handed out read-only (NumPy's view of the decoded PNG, or of the
    resized image), an error observation's image a writable copy: in-place preprocessing
    (``image -= mean``) raised 'assignment destination is read-only' on one and not the other,
    and ``torch.from_numpy`` warned about it."""
    env = make_gui(GroundingEnv, "easy", **frame)
    first, _ = env.reset(seed=0)
    pristine = first["image"].copy()
    first["image"][:] = 7  # the agent's own array: changing it changes nothing the environment holds
    again, *_ = env.step('{"action": "click", "x": -5, "y": 0}')  # an error observation: the same screen
    assert np.array_equal(again["image"], pristine)
    again["image"][:] = 9
    last, *_ = env.step(env.oracle_action())
    for observation in (again, last):
        image = observation["image"]
        assert image.flags.writeable and image.dtype == np.uint8
    assert not np.shares_memory(first["image"], again["image"])
    assert not np.shares_memory(again["image"], last["image"])
    assert (last["image"] != 9).any()


@pytest.mark.parametrize("which", ["grounding", "navigation"])
def test_the_oracle_before_reset_is_a_runtime_error(which):
    """gui/ActionPrediction-v0's oracle said "no episode is running; call reset() first"; the
    grounding and navigation oracles failed an assert (with ``python -O`` an AttributeError or a
    TypeError about None). No browser is opened: the environment is only made."""
    from agentgym.envs.gui.navigation import NavigationEnv

    env = (GroundingEnv if which == "grounding" else NavigationEnv)("easy")
    with pytest.raises(RuntimeError, match="call reset"):
        env.oracle_action()
    if which == "navigation":
        with pytest.raises(RuntimeError, match="call reset"):
            env.task_done()
    env.close()


@pytest.mark.parametrize("x, shown", [(1000.001, "1000.001"), (1000.0001, "1000.0001"), (1000.5, "1000.5")])
def test_an_off_screen_point_is_shown_as_written(x, shown):
    """A point just past the normalised frame's edge was shown to 6 digits: "(1000, 0) is outside
    the screen; use x and y from 0 to 1000", an error that contradicts itself."""
    from agentgym.envs.gui.actions import ActionError, parse_action
    from agentgym.envs.gui.frames import CoordinateFrame

    frame = CoordinateFrame.make("normalized_1000", (412, 915))
    with pytest.raises(ActionError, match=rf"^\({shown}, 0\) is outside the screen"):
        parse_action('{"action": "click", "x": %r, "y": 0}' % x, frame)
    with pytest.raises(ActionError, match=r"^\(-5, 12\) is outside"):  # whole numbers stay short
        parse_action('{"action": "click", "x": -5, "y": 12}', frame)
