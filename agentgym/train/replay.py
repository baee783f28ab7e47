"""Self-imitation replay (SPEAR-style): the best past successes of a task, replayed into its
later groups with the advantage recalibrated against the current group.

A sparse-reward agent task is often solved once, by luck, and then not again for many steps:
GRPO learns from that success only in the step it happened. :class:`ReplayBuffer` keeps the
best successful trajectories of each task, and when the task comes round again the trainer
adds them to its group (:meth:`agentgym.train.trainer.Trainer.train_step`), but only where they
still beat what the policy does now::

    A_replay = R_replay - mean(R_1 .. R_G)         (R_i: the current group's returns)
    replayed only if A_replay > 0                    (the same A on every generated token)

So a replayed success pulls the policy towards itself while the group does worse on average,
and stops being replayed once the group matches it (self-imitation: learn from one's own past
good episodes, never from worse ones). The difference is not divided by the group's standard
deviation: the groups that most need a replayed success are those in which every episode
failed, whose deviation is 0. ``A_replay`` is measured against the whole current group as
rolled out (before the group filters).

A replayed trajectory was sampled by an older policy: it trains with the decoupled objective's
importance weights (:func:`~agentgym.train.loss.decoupled_policy_loss`), its proximal log-probs
being the learner's before the update, exactly as a stale asynchronous or a hinted row.

**The task key** is the trajectory's ``group_id``: the environment with its arguments *and*
the seed (:attr:`~agentgym.rollout.Task.group_id`), not the environment alone. A trajectory is
a sample of the policy *given its prompts*: those of another seed (another secret word,
another level) make a different conditional distribution, where a success is no success, and a
return compared with another task's group says nothing. The price: a buffer entry is replayed only when its seed is
drawn again (with ``env.train_seeds`` spanning ``N`` seeds and ``k`` tasks a step, about every
``N / k`` steps), so self-imitation suits runs whose seed range is small enough to recur.

**Eviction.** Each task keeps its ``per_task`` best entries (by return; on a tie the newer
wins: it comes from a policy closer to the learner), the whole buffer at most ``capacity``:
over it, the lowest return goes first, the oldest among equals. An entry older than
``max_age`` steps is dropped (its policy is too far from the learner's for the importance
weights to mean much). A token sequence already in the buffer for the task is not added twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from agentgym.trajectory import Trajectory

REPLAYED_KEY = "replayed_from_step"  # trajectory metadata: the step whose rollout played it


@dataclass
class ReplayEntry:
    """One stored trajectory: its task key, return, the step that played it, and an insertion
    number (the order of arrival, for the tie-breaks)."""

    key: str
    trajectory: Trajectory
    episode_return: float
    step: int
    order: int


def recalibrated_advantage(replay_return: float, group_returns: Sequence[float]) -> float:
    """``R_replay - mean(group_returns)`` (module docstring); the group must not be empty."""
    if not group_returns:
        raise ValueError("a replayed trajectory needs a current group to be measured against")
    return float(replay_return) - sum(float(r) for r in group_returns) / len(group_returns)


class ReplayBuffer:
    """The best successful trajectories per task (module docstring).

    Args:
        capacity: the most entries in all.
        per_task: the most entries of one task.
        min_return: a success is stored only if its return is at least this.
        max_age: entries played more than this many steps before the current one are dropped
            (0: never).
    """

    def __init__(self, capacity: int = 256, per_task: int = 2, *, min_return: float = 0.0,
                 max_age: int = 0) -> None:
        if capacity < 1 or per_task < 1 or max_age < 0:
            raise ValueError(f"need capacity >= 1, per_task >= 1 and max_age >= 0, got {capacity}, {per_task}, "
                             f"{max_age}")
        self.capacity, self.per_task, self.min_return, self.max_age = capacity, per_task, min_return, max_age
        self._entries: dict[str, list[ReplayEntry]] = {}  # per key, best first
        self._order = 0

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._entries.values())

    @property
    def tasks(self) -> int:
        return len(self._entries)

    def entries(self, key: str) -> list[ReplayEntry]:
        """The task's entries, best first (highest return; the newest among equals)."""
        return list(self._entries.get(key, ()))

    def add(self, trajectories: Iterable[Trajectory], step: int) -> int:
        """Store the successes of ``trajectories`` (played at ``step``) that qualify; returns
        how many were stored (and stayed after eviction)."""
        added: list[ReplayEntry] = []
        for trajectory in trajectories:
            key = trajectory.group_id
            episode_return = trajectory.episode_return
            if key is None or not trajectory.success or episode_return < self.min_return:
                continue
            entries = self._entries.setdefault(key, [])
            if any(e.trajectory.token_ids == trajectory.token_ids for e in entries):
                continue
            self._order += 1
            entry = ReplayEntry(key, trajectory, episode_return, step, self._order)
            entries.append(entry)
            entries.sort(key=_rank)
            del entries[self.per_task:]
            added.append(entry)
        self._evict_over_capacity()
        return sum(1 for entry in added if entry in self._entries.get(entry.key, ()))

    def candidates(self, key: str, step: int, limit: int) -> list[ReplayEntry]:
        """Up to ``limit`` of the task's entries for replay at ``step``, best first (the expired
        ones dropped first)."""
        self.expire(step)
        return self.entries(key)[:limit]

    def expire(self, step: int) -> int:
        """Drop entries older than ``max_age`` steps at ``step``; returns how many went."""
        if not self.max_age:
            return 0
        dropped = 0
        for key in list(self._entries):
            fresh = [e for e in self._entries[key] if step - e.step <= self.max_age]
            dropped += len(self._entries[key]) - len(fresh)
            self._set(key, fresh)
        return dropped

    def _evict_over_capacity(self) -> None:
        while len(self) > self.capacity:
            worst = min((e for entries in self._entries.values() for e in entries),
                        key=lambda e: (e.episode_return, e.order))
            self._set(worst.key, [e for e in self._entries[worst.key] if e is not worst])

    def _set(self, key: str, entries: list[ReplayEntry]) -> None:
        if entries:
            self._entries[key] = entries
        else:
            self._entries.pop(key, None)

    # ------------------------------------------------------------------ checkpoints
    def state(self) -> dict[str, Any]:
        """The buffer as plain data (the trajectories as :meth:`Trajectory.to_dict` records)."""
        return {"order": self._order, "entries": [
            {"key": e.key, "return": e.episode_return, "step": e.step, "order": e.order,
             "trajectory": e.trajectory.to_dict()}
            for entries in self._entries.values() for e in entries]}

    def load_state(self, state: dict[str, Any]) -> None:
        """Replace the buffer with :meth:`state`'s, within this buffer's ``per_task`` and
        ``capacity`` (a resumed run may set smaller ones than the run that saved it): the
        entries over them go as they would have on adding."""
        self._entries = {}
        for data in state["entries"]:
            entry = ReplayEntry(data["key"], Trajectory.from_dict(data["trajectory"]), float(data["return"]),
                                int(data["step"]), int(data["order"]))
            self._entries.setdefault(entry.key, []).append(entry)
        for entries in self._entries.values():
            entries.sort(key=_rank)
            del entries[self.per_task:]
        self._order = int(state["order"])
        self._evict_over_capacity()


def _rank(entry: ReplayEntry) -> tuple[float, int]:
    return (-entry.episode_return, -entry.order)
