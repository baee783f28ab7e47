"""Naive Bayes over the clinical table: the posterior over the candidate conditions given what
was revealed, the belief in one diagnosis, and the information a question or test is expected
to bring.

**Posterior.** With candidates ``C``, prior ``π(c) = prevalence(c) / Σ_{c'∈C} prevalence(c')``
and revealed observables ``R = {k: v}`` (findings present/absent, tests positive/negative),
each conditionally independent given the condition,

    P(c | R) ∝ π(c) · Π_{(k, v) ∈ R} p_k(c)^v · (1 − p_k(c))^(1 − v)

where ``p_k(c)`` is P(k present or positive | c) from the table (a condition that does not list
``k`` has ``k``'s default). Computed in log space and normalised with log-sum-exp.

Hand-checked (``tests/dialogue_clinical``): two conditions A and B with prevalences 0.3 and
0.1 (prior 3/4, 1/4), a finding ``f`` with ``p_f(A) = 0.8``, ``p_f(B) = 0.2``, a test ``t`` with
``p_t(A) = 0.9``, ``p_t(B) = 0.5``. Then ``P(A | f) = 0.6 / (0.6 + 0.05) = 12/13`` and
``P(A | f, not t) = 0.06 / (0.06 + 0.025) = 12/17``.

**Expected information gain** of observing ``k`` (entropies in nats, ``H``):

    EIG(k) = H(P(· | R)) − Σ_v P(k = v | R) · H(P(· | R, k = v)),
    P(k = 1 | R) = Σ_c P(c | R) p_k(c)

The oracle asks about the observable with the largest gain (a test's gain less its cost times
a price per nat), given only what was revealed.

:func:`diagnosis_probability` is the value function the Shapley information-gain reward uses
(:class:`~agentgym.rewards.shapley.ShapleyInformationGain`); :func:`belief_for` wraps it as
that reward's ``belief`` (``clinical_belief`` reads each trajectory's level), adding each
episode's chief complaint (known from the start, recorded in every step's
``info["presenting"]``).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from .table import Table, load_table


class _Candidates:
    """The table's log-probabilities restricted to a candidate set (built once per set: the
    Shapley reward asks ``2^n`` times with the same candidates)."""

    def __init__(self, names: tuple[str, ...], table: Table) -> None:
        columns = [table.column(name) for name in names]
        self.names = names
        self.log_prior = np.log(table.prior[columns])
        p = table.probability[:, columns]
        self.log_likelihood = np.stack([np.log1p(-p), np.log(p)])  # [value, observable, candidate]

    @property
    def log_yes(self) -> np.ndarray:
        return self.log_likelihood[1]

    def log_posterior(self, revealed: Mapping[str, Any], table: Table) -> np.ndarray:
        rows = [table.row(key) for key in revealed]
        values = [1 if value else 0 for value in revealed.values()]
        log_p = self.log_prior + self.log_likelihood[values, rows].sum(axis=0)
        top = log_p.max()
        return log_p - (top + np.log(np.exp(log_p - top).sum()))


def _candidates(candidates: Iterable[str] | None, table: Table) -> _Candidates:
    if isinstance(candidates, str):
        raise ValueError(f"candidates must be a list of condition names, not one string: {candidates!r}")
    return _checked_candidates(table.names if candidates is None else tuple(candidates), table)


@functools.lru_cache(maxsize=256)
def _checked_candidates(names: tuple[str, ...], table: Table) -> _Candidates:
    if not names:
        raise ValueError("candidates must be a non-empty list of condition names")
    unknown = [name for name in names if name not in table.names]
    if unknown:
        raise ValueError(f"unknown condition(s) {unknown}; the table's conditions: {', '.join(table.names)}")
    return _Candidates(names, table)


def posterior(revealed: Mapping[str, Any], candidates: Iterable[str] | None = None, *,
              table: Table | None = None) -> dict[str, float]:
    """``P(c | revealed)`` for each candidate condition name (all of the table's when
    ``candidates`` is ``None``), in the candidates' order; see the module docstring.

    ``revealed`` maps finding and test keys to their value (truthy: present / positive). An
    unknown key is a ``KeyError`` naming it; an unknown condition a ``ValueError``.
    """
    table = table or load_table()
    view = _candidates(candidates, table)
    return dict(zip(view.names, np.exp(view.log_posterior(revealed, table)).tolist()))


def diagnosis_probability(revealed: Mapping[str, Any], answer: str, candidates: Iterable[str] | None = None, *,
                          table: Table | None = None) -> float:
    """The posterior of the condition ``answer`` names (its name or an alias, any case), or
    0.0 when it names no candidate."""
    table = table or load_table()
    name = table.condition_named(answer) if isinstance(answer, str) else None
    view = _candidates(candidates, table)
    if name not in view.names:
        return 0.0
    return float(np.exp(view.log_posterior(revealed, table)[view.names.index(name)]))


def _entropy(p: np.ndarray) -> np.ndarray:
    """Entropy in nats along the last axis (0 log 0 = 0)."""
    safe = np.where(p > 0, p, 1.0)
    return -(p * np.log(safe)).sum(axis=-1)


def expected_information_gain(revealed: Mapping[str, Any], candidates: Iterable[str] | None = None, *,
                              table: Table | None = None) -> dict[str, float]:
    """``EIG(k)`` in nats for every finding and test not yet in ``revealed`` (module docstring)."""
    table = table or load_table()
    view = _candidates(candidates, table)
    current = np.exp(view.log_posterior(revealed, table))
    rows = [i for i, key in enumerate(table.keys) if key not in revealed]
    p = np.exp(view.log_yes[rows])  # observables x candidates
    joint_yes, joint_no = p * current, (1.0 - p) * current
    yes, no = joint_yes.sum(axis=1), joint_no.sum(axis=1)
    after = (yes * _entropy(joint_yes / yes[:, None]) + no * _entropy(joint_no / no[:, None]))
    gains = _entropy(current) - after
    return {table.keys[i]: max(0.0, float(g)) for i, g in zip(rows, gains)}


def belief_for(difficulty: str | None = None, *, table: Table | None = None
               ) -> Callable[[Mapping[str, Any], str, Any], float]:
    """A ``belief(revealed, answer, trajectory)`` for
    :class:`~agentgym.rewards.shapley.ShapleyInformationGain` on the clinical interview:
    :func:`diagnosis_probability` over the level's candidates, given the revealed facts and the
    episode's chief complaint (read from the first turn's ``info["presenting"]``).

    ``difficulty`` and ``table`` fix the level and table; left out, each trajectory's own are
    read from ``trajectory.metadata["env_kwargs"]`` (which the rollout engine records: its
    ``difficulty``, default ``easy``, and ``table``, default the bundled one).
    """
    fixed = table or (load_table() if difficulty is not None else None)
    if difficulty is not None and difficulty not in fixed.levels:
        raise ValueError(f"unknown difficulty {difficulty!r}; the table has {', '.join(fixed.levels)}")

    def belief(revealed: Mapping[str, Any], answer: str, trajectory: Any) -> float:
        kwargs = (getattr(trajectory, "metadata", None) or {}).get("env_kwargs") or {}
        level = difficulty or kwargs.get("difficulty") or "easy"
        used = fixed or load_table(kwargs.get("table"))
        turns = getattr(trajectory, "turns", None) or []
        presenting = turns[0].info.get("presenting") if turns and isinstance(turns[0].info, dict) else None
        known = {**(presenting if isinstance(presenting, Mapping) else {}), **revealed}
        return diagnosis_probability(known, answer, used.candidates(level), table=used)

    return belief


#: :func:`belief_for` reading each trajectory's level and table: pass it as
#: ``ShapleyInformationGain(clinical_belief)``.
clinical_belief = belief_for()


def most_likely(revealed: Mapping[str, Any], candidates: Sequence[str], *,
                table: Table | None = None) -> tuple[str, float]:
    """The maximum-a-posteriori condition and its probability (the first one at a tie)."""
    beliefs = posterior(revealed, candidates, table=table)
    name = max(beliefs, key=beliefs.__getitem__)
    return name, beliefs[name]
