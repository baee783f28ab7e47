"""Information gain on damaged token records: refused as unscorable (skippable), naming them."""

from __future__ import annotations

import pytest

from agentgym.rewards import InformationGainReward, UnscorableTrajectory
from agentgym.trajectory import Trajectory, Turn

from .tiny_lm import tiny_llama, tiny_tokenizer


@pytest.fixture(scope="module")
def reward_parts():
    tokenizer = tiny_tokenizer()
    return tiny_llama(len(tokenizer)), tokenizer


def token_trajectory(prompt_length: int = 3, first_observation_end: int = 8) -> Trajectory:
    turns = [Turn(0, "o", "a", action_span=(3, 5), observation_span=(5, first_observation_end)),
             Turn(1, "o", "a", action_span=(8, 10), observation_span=(10, 12))]
    return Trajectory(task_id="guess", turns=turns, token_ids=list(range(10, 22)), prompt_length=prompt_length,
                      metadata={"reference_answer": "42", "answer_stub": "The secret number is "})


@pytest.mark.parametrize("damaged", [token_trajectory(prompt_length=50), token_trajectory(first_observation_end=80)])
def test_contexts_beyond_the_recorded_tokens_are_unscorable_and_skippable(reward_parts, damaged):
    model, tokenizer = reward_parts
    # was a bare "boundaries must be in [1, 12], got [50]" ValueError, even with on_missing="skip"
    with pytest.raises(UnscorableTrajectory, match=r"trajectory 1 \('guess'\).*12 recorded tokens"):
        InformationGainReward(model, tokenizer).values([token_trajectory(), damaged])
    good = token_trajectory()
    values = InformationGainReward(model, tokenizer, on_missing="skip").values([good, damaged])
    assert values[1] is None and len(values[0]) == 2
    assert "12 recorded tokens" in damaged.metadata["info_gain_skipped"]
