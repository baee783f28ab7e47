"""The trainer under ``torch.distributed``: who this process is, and one step's metrics over
every process (evaluation gathers its episodes the same way, with :func:`gather`).

Each process rolls out its own share of the step's tasks (whole groups), so the rollout-side
metrics it computes describe its share only. :func:`global_metrics` turns them into the
metrics of the whole step, the same figures one process playing every task would log:

* ``success/train``, ``reward/mean``, ``reward/std``, ``rollout/turns``,
  ``rollout/response_tokens``: recomputed from every process's per-episode records
  (:func:`episode_metrics`);
* ``health/advantage_mean / _std / _min / _max / _zero_fraction``: recomputed from every
  process's per-turn advantages;
* counts (episodes, kept / dropped / refused trajectories, groups, rollout tokens per second,
  guidance's failed groups, hinted episodes and groups it could not rebuild): summed;
* ``*_min`` / ``*_max``: the smallest / largest; ``time/*``: the slowest process;
* every other rollout-side metric: the mean of the processes' values weighted by what each
  process's value is a mean over (:func:`_weight_key`): its trainable trajectories for
  ``reward/*`` and ``health/*`` (an episode whose environment raised is not one of them), its
  groups of them for the per-group ``health/reward_std_in_group`` and
  ``health/zero_variance_group_fraction``, its hinted episodes for ``guidance/hinted_success``
  and ``guidance/level_mean``, its episodes for the rest;
* ``train/*`` and ``optimizer/*``: already global (:mod:`agentgym.train.update`), kept as they are.

Importing this module (``from agentgym.train import Trainer`` does) before
``init_process_group`` also imports ``torch.distributed.nn``, whose functions take
``group.WORLD`` as a default argument, evaluated when it is imported. Imported after the join
(transformers imports it while loading a model), those defaults hold the process group for the
rest of the process: ``destroy_process_group`` cannot free it, gloo's threads are torn down
during interpreter exit instead, and that now and then aborts a rank that finished well
("terminate called without an active exception"). Imported before, the default is ``None``, the
default group. (``ZeroRedundancyOptimizer``'s and FSDP's grad-scaler modules have the same
trap; import them before joining too if you use them.)
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch.distributed as dist

from agentgym.credit.health import advantage_statistics
from agentgym.trajectory import Trajectory

if dist.is_available():
    import torch.distributed.nn  # noqa: F401 - before any process group exists (see above)

_SUMMED = frozenset({"rollout/episodes", "rollout/untrainable", "rollout/tokens_per_second",
                     "filters/kept_trajectories", "filters/dropped_trajectories", "health/trajectories",
                     "health/groups", "guidance/failed_groups", "guidance/hinted_episodes",
                     "guidance/unbuilt_groups"})
_ALREADY_GLOBAL = ("train/", "optimizer/", "step")
_PER_GROUP = frozenset({"health/reward_std_in_group", "health/zero_variance_group_fraction"})
_PER_HINTED_EPISODE = frozenset({"guidance/hinted_success", "guidance/level_mean"})


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank_and_world() -> tuple[int, int]:
    """``(rank, world size)``; ``(0, 1)`` outside ``torch.distributed``."""
    if is_distributed():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def gather(value: Any) -> list[Any]:
    """Every process's ``value`` (picklable), in rank order; ``[value]`` outside
    ``torch.distributed``. Every process must call it at the same point."""
    if not is_distributed():
        return [value]
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, value)
    return gathered


def episode_records(trajectories: Sequence[Trajectory]) -> list[tuple[float, float, int, int]]:
    """Per episode: success, return, turns, generated tokens (what :func:`episode_metrics` needs)."""
    return [(float(t.success), float(t.episode_return), len(t.turns), int(t.generated_tokens)) for t in trajectories]


def episode_metrics(records: Sequence[tuple[float, float, int, int]]) -> dict[str, float]:
    """Success and the environment's reward over the step's episodes (before any reward
    provider adds to it), from :func:`episode_records`."""
    if not records:
        return {"rollout/episodes": 0.0}
    success, returns, turns, tokens = (np.array(column, dtype=np.float64) for column in zip(*records))
    return {
        "success/train": float(success.mean()),
        "reward/mean": float(returns.mean()),
        "reward/std": float(returns.std()),
        "rollout/episodes": float(len(records)),
        "rollout/turns": float(turns.mean()),
        "rollout/response_tokens": float(tokens.mean()),
    }


def _weight_key(key: str) -> str:
    """The count a rollout-side mean ``key`` is taken over, in each process's metrics: its
    weight when the processes' values are averaged (module docstring)."""
    if key in _PER_GROUP:
        return "health/groups"
    if key in _PER_HINTED_EPISODE:
        return "guidance/hinted_episodes"
    if key.startswith(("reward/", "health/")):
        return "health/trajectories"
    return "rollout/episodes"


def global_metrics(metrics: dict[str, Any], records: Sequence[tuple[float, float, int, int]],
                   turn_advantages: np.ndarray | Sequence[float] = ()) -> dict[str, Any]:
    """This process's step metrics, episode records and per-turn advantages → the whole step's
    metrics (module docstring). Every process must call it, at the same point of the same step."""
    if not is_distributed():
        return metrics
    gathered = gather((metrics, list(records), np.asarray(turn_advantages, dtype=np.float64)))
    shares = [share for share, _, _ in gathered]
    every_record = [record for _, share, _ in gathered for record in share]
    every_advantage = np.concatenate([share for _, _, share in gathered])
    combined = dict(metrics)
    keys = dict.fromkeys(key for share in shares for key in share)  # union, in first-seen order
    for key in keys:
        if key.startswith(_ALREADY_GLOBAL):
            continue
        weight_key = _weight_key(key)
        pairs = [(share[key], share.get(weight_key, share.get("rollout/episodes", 0.0))) for share in shares
                 if isinstance(share.get(key), (int, float)) and not math.isnan(share[key])]
        if not pairs:
            continue
        values = [value for value, _ in pairs]
        if key in _SUMMED:
            combined[key] = float(sum(values))
        elif key.endswith("_min"):
            combined[key] = float(min(values))
        elif key.endswith("_max") or key.startswith("time/"):
            combined[key] = float(max(values))
        else:
            weight = sum(n for _, n in pairs)
            combined[key] = (float(sum(v * n for v, n in pairs) / weight) if weight
                             else float(np.mean(values)))
    if every_record:
        combined.update(episode_metrics(every_record))
    if len(every_advantage):
        combined.update({f"health/{name}": value for name, value in advantage_statistics(every_advantage).items()})
    return combined
