"""Reinforcement learning for language agents: rollouts, credit, a PPO-clip family loss, updates.

The update API (one policy update on given rows; works under ``torch.distributed``)::

    from agentgym.train import PolicyUpdater, UpdateSettings, training_rows
    rows, report = training_rows(trajectories, GRPO()(trajectories))
    metrics = PolicyUpdater(model, optimizer, UpdateSettings()).update(rows)
"""

from agentgym.train.batching import (
    MicroBatch,
    NotTrainable,
    PackingStats,
    RowReport,
    TrainingRow,
    pack_rows,
    training_rows,
)
from agentgym.train.loss import (
    aggregate,
    aggregation_weights,
    clipped_policy_loss,
    entropy_from_logits,
    kl_divergence,
)
from agentgym.train.update import PolicyUpdater, UpdateSettings, ValueHead, forward_micro_batch, score_rows

__all__ = [
    "MicroBatch",
    "NotTrainable",
    "PackingStats",
    "PolicyUpdater",
    "RowReport",
    "TrainingRow",
    "UpdateSettings",
    "ValueHead",
    "aggregate",
    "aggregation_weights",
    "clipped_policy_loss",
    "entropy_from_logits",
    "forward_micro_batch",
    "kl_divergence",
    "pack_rows",
    "score_rows",
    "training_rows",
]
