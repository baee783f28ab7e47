"""Reward providers: named per-turn reward components computed from finished trajectories.

The protocol is one call, ``provider(trajectories) -> None``, that writes into the turns:

* each turn's ``reward_components[name]`` holds the component's value for that turn (a
  provider that has nothing to say about a turn, e.g. information gain on the final turn,
  leaves it out);
* ``turn.reward`` moves by the change of that component, so it stays the sum of the
  environment's reward and every provider's component. Writing a component again *replaces*
  it: calling a provider twice is the same as calling it once, and a provider named like an
  environment component (``FormatPenalty``'s ``"format"`` and :class:`AnswerFormat`'s) takes
  its place instead of adding to it.

A single-component provider subclasses :class:`RewardProvider` and implements only
:meth:`RewardProvider.score`, a pure function of the trajectories returning one value (or
``None``) per turn. :class:`CombinedReward` weighs several providers: each one's component is
its value times its weight (so the reward remains the sum of the components), and the weights
are recorded in ``trajectory.metadata["reward_weights"]``. :func:`component_means` summarises
the components of a batch for logging.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import defaultdict
from typing import Any, Sequence, Union

from agentgym.core import is_finite_number
from agentgym.trajectory import Trajectory

TurnValues = list[list[Union[float, None]]]


class RewardProvider(ABC):
    """One named reward component. Subclasses set ``name`` and implement :meth:`score`."""

    name: str

    @abstractmethod
    def score(self, trajectories: Sequence[Trajectory]) -> TurnValues:
        """For each trajectory, one value per turn (``None``: no component on that turn)."""

    def __call__(self, trajectories: Sequence[Trajectory]) -> None:
        """Write the component into every turn (see the module docstring)."""
        write_component(trajectories, self.name, self.score(trajectories))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class CombinedReward:
    """Several providers with weights, each logged as its own component.

    ``CombinedReward([(InformationGainReward(model, tok), 1.0), (FormatPenalty(), 0.5)])``;
    a bare provider counts with weight 1. Every provider scores the trajectories as they were
    handed in (all scores are taken before any is written), so the order does not matter.
    """

    def __init__(self, providers: Sequence[RewardProvider | tuple[RewardProvider, float]]) -> None:
        pairs = [_provider_and_weight(index, item) for index, item in enumerate(providers)]
        names = [provider.name for provider, _ in pairs]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"two providers write the same component {duplicates}; give them distinct names")
        self.providers = pairs

    def __call__(self, trajectories: Sequence[Trajectory]) -> None:
        """Score with every provider, check every value, then write them all (nothing is written
        when a provider fails or returns a value that is not a finite number)."""
        scores = [(provider.name, weight, provider.score(trajectories)) for provider, weight in self.providers]
        checked = [(name, weighted_values(trajectories, name, values, weight)) for name, weight, values in scores]
        for name, values in checked:
            _write(trajectories, name, values)
        weights = {name: weight for name, weight, _ in scores}
        for trajectory in trajectories:
            trajectory.metadata["reward_weights"] = {**trajectory.metadata.get("reward_weights", {}), **weights}

    def __repr__(self) -> str:
        return f"CombinedReward({self.providers!r})"


def _provider_and_weight(index: int, item: Any) -> tuple[RewardProvider, float]:
    """``providers[index]`` of :class:`CombinedReward` as ``(provider, weight)``: a provider (weight
    1) or a ``(provider, weight)`` pair, the weight a finite number (NumPy's too; not a bool)."""
    provider, weight = item if isinstance(item, tuple) and len(item) == 2 else (item, 1.0)
    if not (callable(getattr(provider, "score", None)) and isinstance(getattr(provider, "name", None), str)):
        raise ValueError(f"providers[{index}] must be a RewardProvider or a (RewardProvider, weight) pair, "
                         f"got {item!r:.80}")
    if not is_finite_number(weight):
        raise ValueError(f"providers[{index}]: the weight of {provider!r} must be a finite number, got {weight!r}")
    return provider, float(weight)


def write_component(trajectories: Sequence[Trajectory], name: str, values: TurnValues, weight: float = 1.0) -> None:
    """Set ``reward_components[name] = weight * value`` on every turn with a value and move
    ``turn.reward`` by the change. Every value is checked first (:func:`weighted_values`), so a
    bad one raises ``ValueError`` and nothing is written."""
    _write(trajectories, name, weighted_values(trajectories, name, values, weight))


def weighted_values(trajectories: Sequence[Trajectory], name: str, values: TurnValues,
                    weight: float = 1.0) -> list[list[float | None]]:
    """``weight * value`` for every turn (``None`` kept), after checking that there is one list
    per trajectory and one value per turn, each ``None`` or a finite number (not a bool, not a
    string) whose weighted value is finite too; ``ValueError`` naming the component, the
    trajectory and the turn otherwise (a NaN reward would make its group's advantages NaN)."""
    if len(values) != len(trajectories):
        raise ValueError(f"{name}: {len(values)} value lists for {len(trajectories)} trajectories")
    out: list[list[float | None]] = []
    for index, (trajectory, turn_values) in enumerate(zip(trajectories, values)):
        try:
            count = len(turn_values)
        except TypeError:
            raise ValueError(f"{name}: trajectory {index}: expected a list of per-turn values, "
                             f"got {turn_values!r:.80}") from None
        if count != len(trajectory.turns):
            raise ValueError(f"{name}: trajectory {index}: {count} values for a trajectory of "
                             f"{len(trajectory.turns)} turns")
        row: list[float | None] = []
        for t, value in enumerate(turn_values):
            new = None if value is None else weight * value if is_finite_number(value) else math.nan
            if new is not None and not math.isfinite(new):
                shown = value if is_finite_number(value) else f"{value!r:.80}"
                raise ValueError(f"{name}: trajectory {index}, turn {t}: value {shown} (weight {weight:g}) is "
                                 "not a finite number")
            row.append(None if new is None else float(new))
        out.append(row)
    return out


def _write(trajectories: Sequence[Trajectory], name: str, values: list[list[float | None]]) -> None:
    for trajectory, turn_values in zip(trajectories, values):
        for turn, new in zip(trajectory.turns, turn_values):
            if new is None:
                continue
            turn.reward += new - turn.reward_components.get(name, 0.0)
            turn.reward_components[name] = new


def finite_setting(owner: str, name: str, value: Any, *, minimum: float | None = None) -> float:
    """A provider's numeric setting as a float; ``ValueError`` unless it is a finite number (not a
    bool, not a string) and at least ``minimum`` (NaN compares false with everything, so a plain
    ``value < 0`` check lets it through, and it then writes NaN into every reward)."""
    if not is_finite_number(value) or (minimum is not None and value < minimum):
        bound = "" if minimum is None else f" >= {minimum:g}"
        raise ValueError(f"{owner}: {name} must be a finite number{bound}, got {value!r}")
    return float(value)


def component_means(trajectories: Sequence[Trajectory]) -> dict[str, float]:
    """The mean per-trajectory total of each reward component (a trajectory without the
    component counts 0), and of the whole reward as ``"total"``: one number per channel for a
    training log."""
    if not trajectories:
        return {}
    totals: dict[str, float] = defaultdict(float)
    for trajectory in trajectories:
        for turn in trajectory.turns:
            for name, value in turn.reward_components.items():
                totals[name] += value
    means = {name: total / len(trajectories) for name, total in sorted(totals.items())}
    means["total"] = sum(t.episode_return for t in trajectories) / len(trajectories)
    return means
