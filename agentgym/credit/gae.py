"""PPO advantages: token-level GAE that skips observation tokens, and bi-level GAE.

Values are given by the caller (a value head), one array per trajectory as long as its
``token_ids``. Convention: ``values[p]`` estimates the return *before* token ``p`` is generated
(the state is the sequence up to ``p - 1``), so the value of the state in which turn ``t``
starts acting is ``values[action_start_t]``. Only positions on the loss mask are read.

Turn-aware token GAE (:func:`masked_gae`, :class:`TurnAwareGAE`)
    Over the generated positions ``p_0 < p_1 < ...`` only (observation tokens are skipped: the
    next value and the running advantage are carried across them unchanged, and gamma/lambda
    are applied once per generated token)::

        delta_j = r_{p_j} + gamma * V(p_{j+1}) - V(p_j)           V(p_last+1) = bootstrap (0)
        A_j     = delta_j + gamma * lambda * A_{j+1}
        target_j = A_j + V(p_j)                                     (the critic's target)

    A turn's reward sits on the last token of its ``action_span``. Unmasked GAE over the whole
    sequence would instead discount across every observation token too.

Bi-level GAE (:func:`turn_level_gae`, :class:`BiLevelGAE`)
    Between turns, GAE over turns with turn rewards ``r_t`` and turn values ``V_t``::

        delta_t = r_t + gamma_turn * V_{t+1} - V_t                 V_T = bootstrap (0)
        A_t     = delta_t + gamma_turn * lambda_turn * A_{t+1}
        G_t     = A_t + V_t                                         (the turn's lambda-return)

    Inside turn ``t`` (generated positions ``q_0..q_n-1``), token GAE towards that turn's
    return: the last token earns ``G_t`` and nothing follows it::

        delta_n-1 = G_t - V(q_n-1)
        delta_j   = gamma_token * V(q_j+1) - V(q_j)
        A(q_j)    = delta_j + gamma_token * lambda_token * A(q_j+1)

    With ``gamma_token = lambda_token = 1`` every token earns ``G_t - V(q_j)``, so the first
    token of a turn carries exactly the turn-level advantage ``A_t``.

Every turn must have generated tokens (a trajectory with a turn that has none, or a text-only
trajectory, is refused with ``ValueError``). Observation and prompt tokens get advantage 0.
``per_turn`` holds, for :class:`TurnAwareGAE`, the advantage of each turn's first generated
token; for :class:`BiLevelGAE`, the turn-level ``A_t`` (the first token's advantage when
``gamma_token = lambda_token = 1``). Advantages come out raw: whitening them over the batch, if
wanted, is the trainer's step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Iterable, Sequence

import numpy as np

from agentgym.core import is_finite_number
from agentgym.credit.base import Advantages, check_rewards, check_unit, generated_span
from agentgym.trajectory import Trajectory


def masked_gae(
    rewards: Sequence[float],
    values: Sequence[float],
    mask: Sequence[int],
    *,
    gamma: float,
    lam: float,
    bootstrap: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """GAE over the positions where ``mask`` is 1 (see the module docstring).

    Returns ``(advantages, targets)``, both 0 where ``mask`` is 0. Rewards must sit on masked-in
    positions: a reward on an observation token has no action to credit and raises ``ValueError``.
    So do ``gamma`` or ``lam`` outside ``[0, 1]``, and a reward or value on a masked-in position,
    or a bootstrap, that is not finite (it would make every advantage before it NaN or
    infinite); values off the mask are not read.
    """
    gamma, lam = check_unit("gamma", gamma), check_unit("lam", lam)
    if not is_finite_number(bootstrap):
        raise ValueError(f"bootstrap value {bootstrap!r} is not a finite number")
    rewards = np.asarray(rewards, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    if not rewards.shape == values.shape == mask.shape:
        raise ValueError(f"rewards {rewards.shape}, values {values.shape} and mask {mask.shape} differ in shape")
    if np.any(rewards[~mask] != 0):
        raise ValueError("a reward lies on a masked (observation) position")
    positions = np.flatnonzero(mask & ~(np.isfinite(rewards) & np.isfinite(values)))
    if positions.size:
        raise ValueError(f"the rewards or values at positions {positions[:5].tolist()} are not finite")
    advantages = np.zeros_like(rewards)
    next_value, running = bootstrap, 0.0
    for p in range(len(rewards) - 1, -1, -1):
        if not mask[p]:
            continue  # carry next_value and running across observation tokens unchanged
        delta = rewards[p] + gamma * next_value - values[p]
        running = delta + gamma * lam * running
        advantages[p] = running
        next_value = values[p]
    targets = np.where(mask, advantages + values, 0.0)
    return advantages, targets


def turn_level_gae(
    rewards: Sequence[float],
    values: Sequence[float],
    *,
    gamma: float,
    lam: float,
    bootstrap: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """GAE over turns: ``(A_t, G_t)`` from turn rewards and turn values (module docstring)."""
    return masked_gae(rewards, values, np.ones(len(rewards), dtype=bool), gamma=gamma, lam=lam, bootstrap=bootstrap)


class ValueBasedEstimator(ABC):
    """A credit estimator that needs the critic's values: trajectories and values in.

    Args of ``__call__``:
        trajectories: token-level trajectories (a list or any iterable, read once).
        values: per trajectory, an array as long as its ``token_ids`` (module docstring).
        bootstrap_values: per trajectory, the value after its last token (e.g. the critic's
            estimate for a truncated episode); ``None``: 0 for all (every episode terminal).
            A trajectory marked ``terminated`` takes 0 whatever its entry says (``None`` and NaN
            included: it is not read): nothing follows a terminal state, so the critic's values
            can be passed for the whole batch, or ``None`` where there is nothing to bootstrap.

    A value on a generated position, a bootstrap value that is read or a reward that is not
    finite raises ``ValueError`` naming the trajectory (never a NaN advantage); so do ``values``
    or ``bootstrap_values`` that are not one entry per trajectory (a single number, say).
    """

    @abstractmethod
    def __call__(
        self,
        trajectories: Iterable[Trajectory],
        values: Sequence[Sequence[float]],
        bootstrap_values: Sequence[float] | None = None,
    ) -> Advantages:
        """The advantages and value targets of ``trajectories``."""


def _is_sized(values: object) -> bool:
    """A sequence or array with a length (not a number, not text, not a one-pass iterator)."""
    try:
        len(values)  # type: ignore[arg-type]
    except TypeError:
        return False
    return not isinstance(values, (str, bytes))


def _checked_inputs(
    trajectories: Iterable[Trajectory],
    values: Sequence[Sequence[float]],
    bootstrap_values: Sequence[float] | None,
) -> list[tuple[Trajectory, np.ndarray, list[tuple[int, int]], float]]:
    trajectories = list(trajectories)  # any iterable, read once (a generator has no len())
    if not _is_sized(values):
        raise ValueError(f"values must hold one array per trajectory (a list), got {values!r:.80}")
    if len(values) != len(trajectories):
        raise ValueError(f"{len(values)} value arrays for {len(trajectories)} trajectories")
    if bootstrap_values is None:
        bootstrap_values = [0.0] * len(trajectories)
    elif not _is_sized(bootstrap_values):
        raise ValueError(f"bootstrap_values must hold one number per trajectory (a list; None: 0 for all), "
                         f"got {bootstrap_values!r:.80}")
    elif len(bootstrap_values) != len(trajectories):
        raise ValueError(f"{len(bootstrap_values)} bootstrap values for {len(trajectories)} trajectories")
    check_rewards(trajectories)
    checked = []
    for index, (trajectory, value, bootstrap) in enumerate(zip(trajectories, values, bootstrap_values)):
        if trajectory.token_ids is None:
            raise ValueError(f"trajectory {index} is text-only: token-level GAE needs token ids")
        try:
            value = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"trajectory {index}: values must be numbers, one per token ({exc})") from None
        if value.shape != (len(trajectory.token_ids),):
            raise ValueError(f"trajectory {index}: values for {len(trajectory.token_ids)} tokens must be one number "
                             f"per token, got an array of shape {value.shape}")
        try:
            mask = np.asarray(trajectory.loss_mask(), dtype=bool)
            spans = [generated_span(trajectory, turn) for turn in trajectory.turns]
        except ValueError as exc:  # a damaged action_span: say which trajectory of the batch
            raise ValueError(f"{trajectory.describe(index)}, {exc}") from None
        positions = np.flatnonzero(~np.isfinite(value) & mask)
        if positions.size:
            raise ValueError(f"trajectory {index}: values at generated token positions {positions[:5].tolist()} "
                             "are not finite")
        if not trajectory.terminated and not is_finite_number(bootstrap):
            raise ValueError(f"trajectory {index}: bootstrap value {bootstrap!r} is not a finite number")
        for turn, (start, end) in zip(trajectory.turns, spans):
            if end <= start:
                raise ValueError(f"trajectory {index}, turn {turn.index}: no generated tokens to credit")
        checked.append((trajectory, value, spans, 0.0 if trajectory.terminated else float(bootstrap)))
    return checked


class TurnAwareGAE(ValueBasedEstimator):
    """Token-level GAE over generated tokens only; each turn's reward on its last token.

    Args:
        gamma: discount per generated token.
        lam: GAE lambda.
    """

    def __init__(self, *, gamma: float = 1.0, lam: float = 0.95) -> None:
        self.gamma = check_unit("gamma", gamma)
        self.lam = check_unit("lam", lam)

    def __call__(
        self,
        trajectories: Iterable[Trajectory],
        values: Sequence[Sequence[float]],
        bootstrap_values: Sequence[float] | None = None,
    ) -> Advantages:
        per_turn, tokens, targets = [], [], []
        for trajectory, value, spans, bootstrap in _checked_inputs(trajectories, values, bootstrap_values):
            rewards = np.zeros(len(value), dtype=np.float64)
            for turn, (_, end) in zip(trajectory.turns, spans):
                rewards[end - 1] += turn.reward
            advantages, target = masked_gae(rewards, value, trajectory.loss_mask(),
                                            gamma=self.gamma, lam=self.lam, bootstrap=bootstrap)
            per_turn.append([float(advantages[start]) for start, _ in spans])
            tokens.append(advantages)
            targets.append(target)
        return Advantages(per_turn=per_turn, token_advantages=tokens, value_targets=targets)


class BiLevelGAE(ValueBasedEstimator):
    """GAE between turns (turn rewards, turn values) and inside each turn towards its return.

    Args:
        turn_gamma / turn_lam: discount and lambda across turns.
        token_gamma / token_lam: discount and lambda across the tokens of one turn.
    """

    def __init__(self, *, turn_gamma: float = 0.95, turn_lam: float = 1.0,
                 token_gamma: float = 1.0, token_lam: float = 1.0) -> None:
        self.turn_gamma = check_unit("turn_gamma", turn_gamma)
        self.turn_lam = check_unit("turn_lam", turn_lam)
        self.token_gamma = check_unit("token_gamma", token_gamma)
        self.token_lam = check_unit("token_lam", token_lam)

    def __call__(
        self,
        trajectories: Iterable[Trajectory],
        values: Sequence[Sequence[float]],
        bootstrap_values: Sequence[float] | None = None,
    ) -> Advantages:
        per_turn, tokens, targets, turn_returns = [], [], [], []
        for trajectory, value, spans, bootstrap in _checked_inputs(trajectories, values, bootstrap_values):
            turn_values = [value[start] for start, _ in spans]
            turn_rewards = [turn.reward for turn in trajectory.turns]
            turn_advantages, returns = turn_level_gae(turn_rewards, turn_values, gamma=self.turn_gamma,
                                                      lam=self.turn_lam, bootstrap=bootstrap)
            advantages = np.zeros(len(value), dtype=np.float64)
            target = np.zeros(len(value), dtype=np.float64)
            for (start, end), turn_return in zip(spans, returns):
                inside = np.zeros(end - start, dtype=np.float64)
                inside[-1] = turn_return  # the turn's last token earns its lambda-return G_t
                advantages[start:end], target[start:end] = masked_gae(
                    inside, value[start:end], np.ones(end - start, dtype=bool),
                    gamma=self.token_gamma, lam=self.token_lam)
            per_turn.append(turn_advantages.tolist())
            tokens.append(advantages)
            targets.append(target)
            turn_returns.append(returns.tolist())
        return Advantages(per_turn=per_turn, token_advantages=tokens, value_targets=targets,
                          components={"turn_return": turn_returns})
