"""A rollout ``Task``'s seed is an integer (NumPy's too, kept as a plain int); anything else is
refused where the task is made, not deep inside the rollout."""

from __future__ import annotations

import numpy as np
import pytest

from agentgym.rollout import Task


@pytest.mark.parametrize("seed", [1.5, "3", True, None])
def test_a_seed_that_is_not_an_integer_is_refused_naming_it(seed):
    with pytest.raises(TypeError, match="Task seed must be an integer"):
        Task("games/GuessTheNumber-v0", seed=seed)


def test_a_numpy_seed_becomes_a_plain_int():
    task = Task("games/GuessTheNumber-v0", seed=np.int64(7))
    assert task.seed == 7 and type(task.seed) is int
