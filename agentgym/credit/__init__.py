"""Credit assignment: trajectories in, per-turn and token-level advantages out.

One estimator per module, its formula in the module docstring:

- ``GRPO``, ``DrGRPO``, ``RLOO``: episode-level group baselines (:mod:`.grpo`)
- ``GiGPO``: episode advantage + step advantage over anchor states (:mod:`.gigpo`)
- ``MultiChannelGRPO``: per-channel z-scored turn rewards, discounted (:mod:`.multichannel`)
- ``StratifiedGRPO``: normalisation within structural strata, blended (:mod:`.stratified`)
- ``IGPO``: information-gain turn rewards + outcome (:mod:`.igpo`)
- ``ReinforceBatchNorm``: REINFORCE with batch-normalised returns (:mod:`.reinforce`)
- ``TurnAwareGAE``, ``BiLevelGAE``: PPO advantages from a critic's values (:mod:`.gae`)
- ``training_health``: batch metrics to log every step (:mod:`.health`)

Shared pieces (the :class:`Advantages` result, grouping, the group-of-one rule) live in
:mod:`.base`.

Example::

    from agentgym.credit import GRPO, training_health

    advantages = GRPO()(trajectories)          # grouped by Trajectory.group_id
    advantages.per_turn[0]                     # one value per turn of trajectory 0
    advantages.tokens(0)                       # aligned with trajectories[0].loss_mask()
    training_health(trajectories, advantages).as_dict()
"""

from agentgym.credit.base import (
    DEFAULT_EPS,
    SINGLETON_GROUP_ADVANTAGE,
    AdvantageEstimator,
    Advantages,
    broadcast_to_tokens,
    discounted_returns,
    group_indices,
    standardize,
)
from agentgym.credit.gae import BiLevelGAE, TurnAwareGAE, ValueBasedEstimator, masked_gae, turn_level_gae
from agentgym.credit.gigpo import GiGPO, raw_observation
from agentgym.credit.grpo import (
    GRPO,
    RLOO,
    DrGRPO,
    GroupRelativeEstimator,
    episode_advantages,
    group_relative_advantages,
)
from agentgym.credit.health import TrainingHealth, training_health
from agentgym.credit.igpo import IGPO
from agentgym.credit.multichannel import MultiChannelGRPO
from agentgym.credit.reinforce import ReinforceBatchNorm
from agentgym.credit.stratified import StratifiedGRPO, turn_count

__all__ = [
    "DEFAULT_EPS",
    "GRPO",
    "IGPO",
    "RLOO",
    "SINGLETON_GROUP_ADVANTAGE",
    "AdvantageEstimator",
    "Advantages",
    "BiLevelGAE",
    "DrGRPO",
    "GiGPO",
    "GroupRelativeEstimator",
    "MultiChannelGRPO",
    "ReinforceBatchNorm",
    "StratifiedGRPO",
    "TrainingHealth",
    "TurnAwareGAE",
    "ValueBasedEstimator",
    "broadcast_to_tokens",
    "discounted_returns",
    "episode_advantages",
    "group_indices",
    "group_relative_advantages",
    "masked_gae",
    "raw_observation",
    "standardize",
    "training_health",
    "turn_count",
    "turn_level_gae",
]
