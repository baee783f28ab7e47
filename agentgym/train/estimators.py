"""The registry of credit estimators a training configuration can name.

``[algorithm] name = "gigpo"`` is looked up here, and only here: each entry says how to build
the estimator from the ``[algorithm]`` section and what the rest of the trainer must know of
it (whether it compares the rollouts of a group, trains a critic, needs information-gain
rewards, its default discount). Adding an estimator is one :func:`register_estimator` call::

    from agentgym.train.estimators import EstimatorSpec, register_estimator

    register_estimator(EstimatorSpec("my_grpo", lambda algo: MyGRPO(eps=1e-4),
                                     "GRPO with a larger epsilon"))

The formulas live with the estimators in :mod:`agentgym.credit`.
"""

from __future__ import annotations

import difflib
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Collection

from agentgym.core import ConfigError
from agentgym.credit import (
    GRPO,
    IGPO,
    RLOO,
    BiLevelGAE,
    DrGRPO,
    GiGPO,
    MultiChannelGRPO,
    ReinforceBatchNorm,
    StratifiedGRPO,
    TurnAwareGAE,
)
from agentgym.credit.igpo import INFO_GAIN_KEY
from agentgym.same_definition import same_definition

if TYPE_CHECKING:
    from agentgym.train.config import AlgorithmSection


@dataclass(frozen=True)
class EstimatorSpec:
    """One estimator a configuration can name.

    Attributes:
        name: what ``[algorithm] name`` says.
        build: the estimator from the ``[algorithm]`` section.
        summary: one line for ``--help`` and error messages.
        compares_group: its advantages compare the rollouts of one task (``group_size`` must
            be at least 2).
        critic: it needs the value head (PPO's GAE).
        information_gain: it needs :class:`~agentgym.rewards.InformationGainReward` turn
            rewards (an environment with a hidden answer; text models only).
        default_gamma: the turn discount when ``algorithm.gamma`` is absent.
        check: extra problems with the section (messages), e.g. a required option missing.
        reads_components: the reward components it reads in place of each turn's reward, from
            the section (``None``: it reads the turn rewards). A per-turn penalty the trainer
            writes as a component (``loss.kl_mode = "reward"``: ``kl_penalty``) reaches such an
            estimator only if it reads that component.
    """

    name: str
    build: Callable[["AlgorithmSection"], Any]
    summary: str
    compares_group: bool = True
    critic: bool = False
    information_gain: bool = False
    default_gamma: float = 1.0
    check: Callable[["AlgorithmSection"], list[str]] | None = None
    reads_components: Callable[["AlgorithmSection"], Collection[str]] | None = None


_ESTIMATORS: dict[str, EstimatorSpec] = {}


def register_estimator(spec: EstimatorSpec, *, override: bool = False) -> EstimatorSpec:
    """Make ``spec`` nameable in configurations. The same spec again is a no-op (also one made
    again by the same code: a notebook cell or script run twice, see
    :func:`~agentgym.same_definition.same_definition`); another spec of a taken name needs
    ``override=True``, which replaces it with a warning.

    Returns:
        The registered spec (the earlier one when nothing changed).
    """
    if not isinstance(spec, EstimatorSpec):
        raise ConfigError(f"register_estimator needs an EstimatorSpec, got {type(spec).__name__}")
    existing = _ESTIMATORS.get(spec.name)
    if existing is not None:
        if same_definition(existing, spec):
            return existing
        if not override:
            raise ConfigError(f"an estimator called {spec.name!r} is registered already (override=True replaces it)")
        warnings.warn(f"agentgym: estimator {spec.name!r} is replaced (override=True)", stacklevel=2)
    _ESTIMATORS[spec.name] = spec
    return spec


def estimator_names() -> tuple[str, ...]:
    """The registered names, in registration order."""
    return tuple(_ESTIMATORS)


def estimator_spec(name: str) -> EstimatorSpec:
    """The entry called ``name``; :class:`ConfigError` naming the close ones otherwise."""
    try:
        return _ESTIMATORS[name]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(name), _ESTIMATORS, n=3)
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        raise ConfigError(f"unknown algorithm {name!r}{hint}: one of {', '.join(_ESTIMATORS)}") from None


def build_estimator(algo: "AlgorithmSection") -> Any:
    """The estimator ``algo.name`` names, built from the section."""
    return estimator_spec(algo.name).build(algo)


def _needs_channels(algo: "AlgorithmSection") -> list[str]:
    if not algo.channels:
        return ["algorithm 'multichannel' needs algorithm.channels: the reward components to z-score and "
                "their weights, e.g. {outcome = 1.0, format = 0.5}"]
    return []


def _alpha_in_unit_interval(algo: "AlgorithmSection") -> list[str]:
    return [] if 0 <= algo.alpha <= 1 else [f"algorithm.alpha must be in [0, 1], got {algo.alpha}"]


def _gae(algo: "AlgorithmSection") -> Any:
    if algo.gae == "bilevel":
        return BiLevelGAE(turn_gamma=algo.discount, turn_lam=algo.lam)
    return TurnAwareGAE(gamma=algo.discount, lam=algo.lam)


for _spec in (
    EstimatorSpec("grpo", lambda a: GRPO(per_trajectory=a.per_trajectory),
                  "episode returns z-scored within the group"),
    EstimatorSpec("drgrpo", lambda a: DrGRPO(per_trajectory=a.per_trajectory),
                  "episode returns minus the group mean (Dr. GRPO)"),
    EstimatorSpec("rloo", lambda a: RLOO(per_trajectory=a.per_trajectory),
                  "episode returns minus the mean of the other rollouts (RLOO)"),
    EstimatorSpec("gigpo", lambda a: GiGPO(gamma=a.discount, step_weight=a.step_weight,
                                           normalize_by_std=a.normalize_by_std,
                                           similarity_threshold=a.similarity_threshold),
                  "episode advantage + step advantage over anchor states (GiGPO)", default_gamma=0.95),
    EstimatorSpec("igpo", lambda a: IGPO(normalization=a.ig_normalization, gamma=a.discount, outcome=a.outcome),
                  "information-gain turn rewards + outcome (IGPO)", information_gain=True,
                  # the turns' information gain, and the outcome of the final turn alone
                  reads_components=lambda a: (INFO_GAIN_KEY, "outcome")),
    EstimatorSpec("multichannel", lambda a: MultiChannelGRPO(dict(a.channels or {}), gamma=a.discount),
                  "per-channel z-scored turn rewards, discounted (MT-GRPO)", check=_needs_channels,
                  reads_components=lambda a: tuple(a.channels or ())),
    EstimatorSpec("stratified", lambda a: StratifiedGRPO(alpha=a.alpha, normalize_by_std=a.normalize_by_std),
                  "GRPO within strata of equal turn counts, blended with the group (SAN)",
                  check=_alpha_in_unit_interval),
    EstimatorSpec("reinforce", lambda a: ReinforceBatchNorm(gamma=a.discount, normalize_over=a.normalize_over),
                  "REINFORCE with batch-normalised returns (ReBN)", compares_group=False),
    EstimatorSpec("ppo", _gae, "value head + turn-aware GAE (PPO)", compares_group=False, critic=True),
):
    register_estimator(_spec)
