"""Reinforcement learning for language agents: rollouts, credit, a PPO-clip family loss, updates.

Train from a configuration (``agentgym train --config examples/grpo_guess_the_number.toml``)::

    from agentgym.train import Trainer, load_config
    history = Trainer(load_config("examples/grpo_guess_the_number.toml")).train()

The update API (one policy update on given rows; works under ``torch.distributed``)::

    from agentgym.train import PolicyUpdater, UpdateSettings, training_rows
    rows, report = training_rows(trajectories, GRPO()(trajectories))
    metrics = PolicyUpdater(model, optimizer, UpdateSettings()).update(rows)

Everything that needs torch is imported on first use, so the configuration (and the CLI) load
with the core install.
"""

from __future__ import annotations

from agentgym.lazy import lazy_exports
from agentgym.train.config import ConfigError, TrainConfig, load_config

_LAZY_EXPORTS = {
    "Trainer": "agentgym.train.trainer",
    "PolicyUpdater": "agentgym.train.update",
    "UpdateSettings": "agentgym.train.update",
    "ValueHead": "agentgym.train.update",
    "forward_micro_batch": "agentgym.train.update",
    "score_rows": "agentgym.train.update",
    "resolve_token_budget": "agentgym.train.update",
    "use_attention": "agentgym.train.packed_attention",
    "MicroBatch": "agentgym.train.batching",
    "NotTrainable": "agentgym.train.batching",
    "PackingStats": "agentgym.train.batching",
    "RowReport": "agentgym.train.batching",
    "TrainingRow": "agentgym.train.batching",
    "pack_rows": "agentgym.train.batching",
    "training_rows": "agentgym.train.batching",
    "aggregate": "agentgym.train.loss",
    "aggregation_weights": "agentgym.train.loss",
    "clipped_policy_loss": "agentgym.train.loss",
    "entropy_from_logits": "agentgym.train.loss",
    "entropy_from_logprobs": "agentgym.train.loss",
    "kl_divergence": "agentgym.train.loss",
    "group_weights": "agentgym.train.filters",
    "EntropyBand": "agentgym.train.schedules",
    "lr_multiplier": "agentgym.train.schedules",
    "inference_weights": "agentgym.train.weights",
}


__getattr__ = lazy_exports(__name__, _LAZY_EXPORTS)


__all__ = ["ConfigError", "TrainConfig", "load_config", *sorted(_LAZY_EXPORTS)]
