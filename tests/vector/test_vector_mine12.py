"""Defects of the vector environments left open at earlier stops, fixed in the twelfth round."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from agentgym.vector._slots import error_observation


def test_a_one_of_space_gets_an_error_observation_that_belongs_to_it_and_carries_the_text():
    # it was the empty tuple, not an element of the space (OneOf's elements are (index, value))
    text_second = spaces.OneOf([spaces.Discrete(3), spaces.Text(100)])
    observation = error_observation(text_second, "failed")
    assert observation == (1, "failed") and text_second.contains(observation)

    no_text = spaces.OneOf([spaces.Box(0, 1, (2,), np.float32), spaces.Discrete(3)])
    observation = error_observation(no_text, "failed")
    assert observation[0] == 0 and no_text.contains(observation)
