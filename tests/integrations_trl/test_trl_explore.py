"""agentgym_rollout's own arguments, checked as a demanding user passes them."""

import types

import pytest

from agentgym.integrations.trl import agentgym_rollout

GUESS = "games/GuessTheNumber-v0"
ARGS = types.SimpleNamespace(temperature=1.0, top_p=1.0, seed=0, max_completion_length=8)


@pytest.mark.parametrize("name", ["max_tokens_per_turn", "max_concurrent_episodes", "max_batch_size"])
@pytest.mark.parametrize("value", [0, -1, 2.5, True])
def test_a_count_that_is_not_a_positive_integer_is_refused_by_its_own_name(name, value):
    with pytest.raises(ValueError, match=f"^{name} must be a positive integer or None, got {value!r}$"):
        agentgym_rollout(GUESS, **{name: value})


def test_the_counts_given_are_the_ones_used():
    rollout = agentgym_rollout(GUESS, max_tokens_per_turn=3, max_concurrent_episodes=2, max_batch_size=1)
    config = rollout._rollout_config(ARGS, types.SimpleNamespace(args=ARGS), 4)
    assert (config.sampling.max_tokens, config.max_concurrent_episodes, config.max_batch_size) == (3, 2, 1)
    config = agentgym_rollout(GUESS)._rollout_config(ARGS, types.SimpleNamespace(args=ARGS), 4)
    assert (config.sampling.max_tokens, config.max_concurrent_episodes, config.max_batch_size) == (8, 4, 4)


@pytest.mark.parametrize("seed", [1.7, "3", True, None])
def test_dataset_seeds_that_are_not_integers_are_refused_not_rounded(seed):
    with pytest.raises(ValueError, match=f"seeds must be integers, got {seed!r}"):
        agentgym_rollout(GUESS).dataset([0, seed])


def test_dataset_takes_integer_seeds_of_any_integer_type():
    import numpy as np

    rows = agentgym_rollout(GUESS).dataset([np.int64(3), 4])["prompt"]
    assert ['"seed": 3' in rows[0], '"seed": 4' in rows[1]] == [True, True]
