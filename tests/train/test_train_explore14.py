"""Round-14 probes of the training configuration: a KL penalty written as a reward component
must reach the estimator."""

from __future__ import annotations

import pytest

from agentgym.train.config import ConfigError, TrainConfig

KL_IN_REWARD = {"kl_coef": 0.1, "kl_mode": "reward"}


@pytest.mark.parametrize("algorithm, words", [
    ({"name": "igpo"}, "algorithm 'igpo' does not read .*'info_gain', 'outcome'.*use loss.kl_mode = 'loss'$"),
    ({"name": "multichannel", "channels": {"outcome": 1.0}},
     "algorithm 'multichannel' does not read .*'outcome'.*or add kl_penalty = 1.0 to algorithm.channels$"),
])
def test_a_kl_penalty_in_the_reward_that_the_estimator_never_reads_is_refused(algorithm, words):
    """With loss.kl_mode = 'reward' the trainer writes the penalty as each turn's kl_penalty
    component; IGPO and MT-GRPO read their own components, not the turn reward, so the run
    trained without its KL penalty and nothing said so."""
    with pytest.raises(ConfigError, match="kl_penalty.* reward component, which " + words):
        TrainConfig.from_dict({"algorithm": algorithm, "loss": KL_IN_REWARD})


@pytest.mark.parametrize("algorithm, loss", [
    ({"name": "grpo"}, KL_IN_REWARD),                       # reads the turn rewards, penalty included
    ({"name": "multichannel", "channels": {"outcome": 1.0, "kl_penalty": 1.0}}, KL_IN_REWARD),
    ({"name": "igpo"}, {"kl_coef": 0.1, "kl_mode": "loss"}),  # a loss term: no component to read
    ({"name": "igpo"}, {"kl_coef": 0.0, "kl_mode": "reward"}),  # no penalty at all
])
def test_a_kl_penalty_the_estimator_sees_is_taken(algorithm, loss):
    config = TrainConfig.from_dict({"algorithm": algorithm, "loss": loss})
    assert config.loss.kl_mode == loss["kl_mode"]
