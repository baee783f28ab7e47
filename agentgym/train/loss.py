"""The policy-gradient loss, per token, and how per-token values become one number.

Pure torch functions (ALGORITHMS.md §7); every tensor argument is per token, and the caller
applies the loss mask through :func:`aggregate` or per-token weights.

PPO clip, asymmetric, with an optional dual clip (:func:`clipped_policy_loss`)::

    ratio = exp(logp - logp_old)
    L     = max(-A * ratio, -A * clip(ratio, 1 - eps_low, 1 + eps_high))
    L     = min(L, -A * c)            for A < 0, when dual clip c (> 1) is set

Cases (eps = 0.2, c = 3): A = +1, ratio 1.5 -> -1.2; A = -1, ratio 0.5 -> 0.8;
A = -1, ratio 5 -> 3 with dual clip, 5 without.

Decoupled PPO (:func:`decoupled_policy_loss`; AReaL's objective for asynchronous training),
when the tokens were sampled by a behaviour policy older than the learner. Per token, with
``b`` the behaviour log-prob (recorded at sampling), ``p`` the proximal log-prob (the learner's
weights before this update) and ``logp`` the new one::

    ratio = exp(logp - p)                                 (clipped as above, around the proximal policy)
    w     = min(exp(p - b), importance_cap)               (the behaviour weight; no gradient)
    L     = w * L_clip(logp, p, A)

Case (eps = 0.2, cap 5): A = +1, logp - p = log 1.5, p - b = log 2 -> w = 2, L = 2 * -1.2 = -2.4;
with cap 1.5 -> -1.8. When ``p == b`` (synchronous training) ``w = exp(0) = 1`` exactly and
``L`` is the PPO-clip loss bit for bit.

KL to a reference policy (:func:`kl_divergence`), estimated from the sampled tokens' log-probs
(``delta = ref - logp``)::

    k1 = logp - ref = -delta                 unbiased, can be negative
    k3 = exp(delta) - delta - 1              unbiased, always >= 0, lower variance

Entropy (:func:`entropy_from_logits`, :func:`entropy_from_logprobs`): ``H = -sum_v p_v log p_v`` of each position's
distribution (``0 log 0 = 0``: a ``-inf`` logit adds nothing).

EPO's entropy smoothing (:func:`entropy_smoothing_penalty`; Xu et al. 2025, "EPO:
Entropy-regularized Policy Optimization for LLM Agents Reinforcement Learning"). With ``H_bar``
the average entropy of the past steps and the band ``[kappa_l * H_bar, kappa_r * H_bar]``, each
generated token's entropy ``H_t`` outside the band is penalised by its distance to it::

    P_t = max(0, kappa_l * H_bar - H_t) + max(0, H_t - kappa_r * H_bar)
    loss_t = ... - c_H * (H_t - beta_k * P_t)           (c_H: the entropy coefficient;
                                                         beta_k: lambda_smooth x the phase weight)

Inside the band only the usual bonus ``-c_H * H_t`` acts; below it the penalty adds to the
bonus (push entropy up), above it the penalty outweighs it once ``beta_k > 1`` (pull entropy
down). Case (H_bar = 1, kappa 0.5 / 1.5): H_t = 0.2 -> P = 0.3; 1.0 -> 0; 2.0 -> 0.5. EPO's
reference code adds a constant ``alpha`` for each token outside the band, which carries no
gradient; the distance above is the differentiable form of the same band.

Aggregation (:func:`aggregate`, :func:`aggregation_weights`) of per-token values ``l`` over
the masked tokens of ``S`` sequences, sequence ``s`` holding ``n_s`` of them, ``N = sum n_s``::

    token-mean            sum_s sum_t l / N
    seq-mean-token-mean   (1/S) sum_s (1/n_s) sum_t l
    seq-mean-token-sum    (1/S) sum_s sum_t l

Each is a weighted sum ``sum w_t l_t`` with a weight per token that depends only on the counts,
so a mini-batch split into micro-batches (or across processes) gives exactly the mini-batch's
loss when every micro-batch uses the weights computed from the mini-batch's totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import torch

Aggregation = Literal["token-mean", "seq-mean-token-mean", "seq-mean-token-sum"]
KLEstimator = Literal["k1", "k3"]
AGGREGATIONS: tuple[str, ...] = ("token-mean", "seq-mean-token-mean", "seq-mean-token-sum")
KL_ESTIMATORS: tuple[str, ...] = ("k1", "k3")


def clipped_policy_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    *,
    eps_low: float = 0.2,
    eps_high: float = 0.2,
    dual_clip: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The per-token PPO-clip loss (module docstring) and a boolean tensor marking the tokens
    where a clip decided the value (the gradient is zero there).

    A token whose advantage is 0 has loss 0 and no gradient whatever its ratio (one that
    overflows, ``exp(logp - logp_old) = inf``, would make ``-0 * inf = NaN``; a zero-variance
    group's tokens all have ``A = 0``). ``dual_clip`` is ``c`` (must exceed 1) or ``None`` for
    no dual clip.
    """
    if dual_clip is not None and dual_clip <= 1.0:
        raise ValueError(f"dual_clip must be greater than 1, got {dual_clip}")
    log_ratio = logprobs - old_logprobs
    ratio = torch.exp(torch.where(advantages == 0, torch.zeros_like(log_ratio), log_ratio))
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - eps_low, 1.0 + eps_high)
    loss = torch.maximum(unclipped, clipped)
    was_clipped = clipped > unclipped
    if dual_clip is not None:
        capped = torch.minimum(loss, -advantages * dual_clip)
        dual = (advantages < 0) & (capped < loss)
        loss = torch.where(advantages < 0, capped, loss)
        was_clipped = was_clipped | dual
    return loss, was_clipped


def decoupled_policy_loss(
    logprobs: torch.Tensor,
    proximal_logprobs: torch.Tensor,
    behaviour_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    *,
    importance_cap: float = 5.0,
    eps_low: float = 0.2,
    eps_high: float = 0.2,
    dual_clip: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The per-token decoupled PPO loss (module docstring): the PPO-clip loss around the
    proximal policy, times the behaviour weight ``w = min(exp(p - b), importance_cap)``
    (detached: a constant per token). Returns the loss, the clipped-token mask of
    :func:`clipped_policy_loss` and ``w``.

    ``importance_cap`` must be at least 1 (an on-policy token, ``p == b``, keeps weight 1).
    """
    if importance_cap < 1:
        raise ValueError(f"importance_cap must be at least 1, got {importance_cap}")
    weight = torch.exp(proximal_logprobs - behaviour_logprobs).clamp(max=importance_cap).detach()
    loss, clipped = clipped_policy_loss(logprobs, proximal_logprobs, advantages, eps_low=eps_low,
                                        eps_high=eps_high, dual_clip=dual_clip)
    return weight * loss, clipped, weight


def kl_divergence(logprobs: torch.Tensor, ref_logprobs: torch.Tensor, estimator: KLEstimator = "k3") -> torch.Tensor:
    """Per-token estimate of ``KL(pi || pi_ref)`` from the sampled tokens' log-probs."""
    delta = ref_logprobs - logprobs
    if estimator == "k1":
        return -delta
    if estimator == "k3":
        return torch.exp(delta) - delta - 1.0
    raise ValueError(f"unknown KL estimator {estimator!r}: use 'k1' or 'k3'")


def entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """``-sum p log p`` over the last dimension."""
    return entropy_from_logprobs(torch.log_softmax(logits.float(), dim=-1))


def entropy_from_logprobs(logprobs: torch.Tensor) -> torch.Tensor:
    """``-sum p log p`` over the last dimension, from normalised log-probabilities; a token of
    probability 0 (log-prob ``-inf``: a masked or filtered logit) adds ``0 log 0 = 0``."""
    return -(logprobs.exp() * logprobs.masked_fill(torch.isneginf(logprobs), 0.0)).sum(dim=-1)


@dataclass(frozen=True)
class SmoothingTerm:
    """One update's EPO smoothing term: the entropy history ``H_bar`` (``average``), the band's
    ratios and the penalty's weight ``beta_k`` (module docstring)."""

    average: float
    low_ratio: float
    high_ratio: float
    weight: float


def entropy_smoothing_penalty(entropy: torch.Tensor, average: float, low_ratio: float,
                              high_ratio: float) -> torch.Tensor:
    """EPO's per-token smoothing penalty ``P_t`` (module docstring): how far each entropy lies
    outside ``[low_ratio * average, high_ratio * average]`` (0 inside)."""
    if not 0 <= low_ratio < high_ratio:
        raise ValueError(f"need 0 <= low_ratio < high_ratio, got {low_ratio} and {high_ratio}")
    return torch.relu(low_ratio * average - entropy) + torch.relu(entropy - high_ratio * average)


def aggregation_weights(
    token_counts: Sequence[int], mode: Aggregation, *, total_tokens: int | None = None,
    total_sequences: int | None = None,
) -> list[float]:
    """The weight of each masked token of each sequence (one float per sequence) such that
    ``sum_s w_s * sum_t l_t`` is the aggregate of the module docstring.

    ``total_tokens`` / ``total_sequences`` default to the totals of ``token_counts``; pass the
    totals of a whole mini-batch (all processes) when ``token_counts`` is part of it. A sequence
    without masked tokens gets weight 0, and does not count among the sequences.
    """
    counted = [n for n in token_counts if n > 0]
    tokens = sum(counted) if total_tokens is None else total_tokens
    sequences = len(counted) if total_sequences is None else total_sequences
    if mode not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {mode!r}: use one of {', '.join(AGGREGATIONS)}")
    weights = []
    for n in token_counts:
        if n <= 0:
            weights.append(0.0)
        elif mode == "token-mean":
            weights.append(1.0 / tokens)
        elif mode == "seq-mean-token-mean":
            weights.append(1.0 / (sequences * n))
        else:
            weights.append(1.0 / sequences)
    return weights


def aggregate(values: torch.Tensor, mask: torch.Tensor, mode: Aggregation) -> torch.Tensor:
    """Aggregate ``values`` of shape ``[sequences, tokens]`` over ``mask`` (same shape)."""
    mask = mask.to(values.dtype)
    counts = mask.sum(dim=-1)
    weights = torch.tensor(aggregation_weights([int(n) for n in counts.tolist()], mode),
                           dtype=values.dtype, device=values.device)
    return (values * mask * weights[:, None]).sum()
