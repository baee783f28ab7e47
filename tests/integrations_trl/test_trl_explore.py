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
