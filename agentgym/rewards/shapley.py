"""Shapley information gain (after ProMed): credit each revealed fact with its exact share of
the rise in the belief in the reference answer, and each turn with the facts it revealed.

**Shapley values.** For players ``N`` (``n = |N|``) and a value function ``v`` on coalitions
``S ⊆ N``, player ``i`` gets

    φ_i = Σ_{S ⊆ N∖{i}}  |S|! (n − |S| − 1)! / n!  ·  (v(S ∪ {i}) − v(S))

the mean, over all ``n!`` orderings of the players, of the rise in ``v`` when ``i`` joins the
players before it (:func:`shapley_brute_force` computes it that way, for tests and the docs).
The values are *efficient*, ``Σ_i φ_i = v(N) − v(∅)``; a player that never changes ``v`` gets 0,
and two players that always change it alike get the same value. :func:`shapley_values`
evaluates ``v`` once per subset (``2^n`` calls, bitmask-indexed) and sums in ``O(n · 2^n)``.
Integer weights are summed and divided by ``n!`` last, so a ``v`` that returns
:class:`fractions.Fraction` gives exact fractions.

**The cap.** Exact values are computed for at most :data:`MAX_EXACT_PLAYERS` (16) players:
65 536 coalitions, a second or two with a cheap ``v``; each extra player doubles that.
:func:`shapley_values` refuses more (``ValueError``). :func:`shapley_monte_carlo` estimates the
values from ``m`` seeded random orderings (``m · n`` calls to ``v`` at most): unbiased, with a
standard error shrinking as ``1/√m``, and, since the marginals of one ordering telescope to
``v(N) − v(∅)``, efficient exactly, whatever ``m``. :class:`ShapleyInformationGain` uses it
above its ``max_exact`` and says so in ``trajectory.metadata["shapley_method"]``: an agent
that asks seventeen questions should not crash a training run.

**The reward.** The players of a trajectory are the facts it revealed, read from
``turn.info["revealed"]``, a dict ``{fact_key: value}`` of what that turn revealed for the
first time (missing or empty: nothing; a key already revealed by an earlier turn is credited
to the earlier turn only). With ``a`` the reference answer
(``trajectory.metadata["reference_answer"]``) and ``belief`` the constructor's callable,

    v(S) = belief({k: revealed[k] for k in S}, a, trajectory)      (e.g. P(a | S) by Bayes)
    r_t  = scale · Σ_{k revealed on turn t} φ_k                     (0 on turns revealing nothing)

so the turn rewards of an episode sum to ``scale · (v(all revealed) − v(∅))``, and a fact
that lowers the belief in the answer earns a negative reward. Unlike the step-wise gain
``v(S_≤t) − v(S_<t)``, a fact's credit does not depend on when it was asked: a question whose
answer only matters together with a later one shares in the later rise.

Hand-checked (two conditions, even prior, likelihood ratios 3, 1 and 2 for facts ``f1``,
``f2``, ``f3``): ``v(∅) = 1/2``, ``v({f1}) = 3/4``, ``v({f3}) = 2/3``, ``v({f1, f3}) = 6/7``
(``f2`` changes nothing), so ``φ = (37/168, 0, 23/168)``, summing to ``6/7 − 1/2 = 5/14``
(the arithmetic is in ``tests/rewards_shapley``).
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Mapping
from typing import Any, Callable, Hashable, Literal, Sequence, TypeVar

from agentgym.rewards.base import RewardProvider, TurnValues
from agentgym.trajectory import Trajectory

#: The most players :func:`shapley_values` computes exactly (2^16 = 65 536 coalitions).
MAX_EXACT_PLAYERS = 16
#: Where the environment records a turn's newly revealed facts.
REVEALED_KEY = "revealed"
REFERENCE_KEY = "reference_answer"

P = TypeVar("P", bound=Hashable)
Value = Callable[[frozenset], Any]
Belief = Callable[[Mapping[str, Any], str, Trajectory], float]


def _distinct(players: Sequence[P]) -> list[P]:
    players = list(players)
    if len(set(players)) != len(players):
        raise ValueError(f"players must be distinct, got {players!r}")
    return players


def shapley_values(players: Sequence[P], value: Value, *, max_players: int = MAX_EXACT_PLAYERS) -> dict[P, Any]:
    """Exact Shapley values ``{player: φ}`` (formula in the module docstring).

    ``value(coalition)`` receives a ``frozenset`` of players and is called exactly once per
    subset of ``players`` (``2^n`` times). More than ``max_players`` players raise
    ``ValueError`` (use :func:`shapley_monte_carlo`). No players: ``{}``.
    """
    players = _distinct(players)
    n = len(players)
    if n > max_players:
        raise ValueError(f"{n} players are more than the {max_players} whose Shapley values are computed exactly "
                         f"(2^{n} coalitions); estimate them with shapley_monte_carlo")
    if n == 0:
        return {}
    values = [value(frozenset(players[j] for j in range(n) if mask >> j & 1)) for mask in range(1 << n)]
    # |S|! (n - |S| - 1)!, an integer: divided by n! once at the end.
    weights = [math.factorial(size) * math.factorial(n - size - 1) for size in range(n)]
    out: dict[P, Any] = {}
    for i, player in enumerate(players):
        bit = 1 << i
        total: Any = 0
        for mask in range(1 << n):
            if not mask & bit:
                total += weights[mask.bit_count()] * (values[mask | bit] - values[mask])
        out[player] = total / math.factorial(n)
    return out


def shapley_brute_force(players: Sequence[P], value: Value) -> dict[P, Any]:
    """The mean marginal contribution of each player over all ``n!`` orderings: the definition,
    for tests and the docs (``value`` is called ``n! · n`` times; keep ``n`` small)."""
    import itertools

    players = _distinct(players)
    if not players:
        return {}
    totals: dict[P, Any] = {player: 0 for player in players}
    count = 0
    for ordering in itertools.permutations(players):
        before: frozenset = frozenset()
        for player in ordering:
            after = before | {player}
            totals[player] += value(after) - value(before)
            before = after
        count += 1
    return {player: total / count for player, total in totals.items()}


def shapley_monte_carlo(players: Sequence[P], value: Value, *, permutations: int = 1000,
                        seed: int = 0) -> dict[P, float]:
    """An estimate of the Shapley values: the mean marginal contribution over ``permutations``
    orderings drawn by a ``random.Random(seed)`` (the same seed, the same estimate). Each
    coalition's value is computed once (memoised). The estimate is unbiased and efficient
    (``Σ φ = v(N) − v(∅)`` up to rounding); its error shrinks as ``1/√permutations``."""
    players = _distinct(players)
    if not isinstance(permutations, int) or isinstance(permutations, bool) or permutations < 1:
        raise ValueError(f"permutations must be a positive integer, got {permutations!r}")
    _check_seed(seed)
    if not players:
        return {}
    # The memo is keyed by the coalition's bitmask and the frozenset is built only on a miss:
    # random orderings rarely meet a coalition twice, and holding each one as a frozenset took
    # gigabytes for a few hundred players.
    bit = {player: 1 << i for i, player in enumerate(players)}
    memo: dict[int, Any] = {}

    def v(mask: int, members: list[P]) -> Any:
        if mask not in memo:
            memo[mask] = value(frozenset(members))
        return memo[mask]

    rng = random.Random(seed)
    totals = {player: 0.0 for player in players}
    ordering = list(players)
    for _ in range(permutations):
        rng.shuffle(ordering)
        mask, members = 0, []
        before = v(mask, members)
        for player in ordering:
            mask |= bit[player]
            members.append(player)
            after = v(mask, members)
            totals[player] += float(after - before)
            before = after
    return {player: total / permutations for player, total in totals.items()}


def _check_seed(seed: Any) -> None:
    """``ValueError`` unless ``seed`` is an integer: ``random.Random(None)`` seeds from the OS
    (another estimate on every call) and an unhashable seed fails only when first used."""
    if not isinstance(seed, numbers.Integral):
        raise ValueError(f"seed must be an integer (the orderings are seeded), got {seed!r:.80}")


def revealed_facts(trajectory: Trajectory, label: str = "trajectory") -> tuple[dict[str, Any], list[list[str]]]:
    """The facts a trajectory revealed, ``{key: value}`` in the order they came, and the keys
    each turn revealed first (a key seen on an earlier turn is left to that turn). Raises
    ``ValueError`` naming ``label`` and the turn when ``info["revealed"]`` is not a dict with
    string keys."""
    facts: dict[str, Any] = {}
    per_turn: list[list[str]] = []
    for turn in trajectory.turns:
        revealed = turn.info.get(REVEALED_KEY)
        keys: list[str] = []
        if revealed:
            if not isinstance(revealed, Mapping) or not all(isinstance(key, str) for key in revealed):
                raise ValueError(f"{label}, turn {turn.index}: info[{REVEALED_KEY!r}] must be a dict "
                                 f"{{fact_key: value}} with string keys, got {revealed!r}")
            for key, fact_value in revealed.items():
                if key not in facts:
                    facts[key] = fact_value
                    keys.append(key)
        per_turn.append(keys)
    return facts, per_turn


class ShapleyInformationGain(RewardProvider):
    """Per-turn reward: the Shapley value, for the belief in the reference answer, of the facts
    the turn revealed (formulas in the module docstring).

    Args:
        belief: ``belief(revealed, answer, trajectory) -> float``, the belief in ``answer``
            given the facts ``revealed`` (``{key: value}``, a subset of the episode's facts in
            the order they came), usually the posterior ``P(answer | revealed)`` of a naive-Bayes
            table (the clinical environment provides one). It must be a deterministic, finite
            number; it is called once per coalition (``2^n`` times for ``n`` revealed facts).
        scale: multiplies every turn's value.
        max_exact: the most facts valued exactly (at most :data:`MAX_EXACT_PLAYERS`); an
            episode with more gets the Monte-Carlo estimate (``permutations`` orderings,
            ``seed``), recorded in ``metadata["shapley_method"]``.
        on_missing: a trajectory without a reference answer gets no component (``None`` on
            every turn) and the reason in ``metadata["shapley_skipped"]`` (``"skip"``, the
            default, for batches mixing tasks), or raises ``ValueError`` (``"raise"``).
        name: the component's name.

    Recorded per scored trajectory: ``metadata["shapley_values"]`` (``{key: φ}``, unscaled),
    ``metadata["shapley_belief"]`` (``{"before": v(∅), "after": v(all)}``) and
    ``metadata["shapley_method"]`` (``"exact"`` or ``"monte_carlo"``). A belief that raises or
    returns something other than a finite number raises ``ValueError`` naming the trajectory.
    """

    def __init__(self, belief: Belief, *, scale: float = 1.0, max_exact: int = MAX_EXACT_PLAYERS,
                 permutations: int = 2000, seed: int = 0, on_missing: Literal["skip", "raise"] = "skip",
                 name: str = "shapley_info_gain") -> None:
        if not callable(belief):
            raise ValueError(f"belief must be a callable (revealed, answer, trajectory) -> float, got {belief!r}")
        if not (isinstance(scale, numbers.Real) and not isinstance(scale, bool) and math.isfinite(scale)):
            raise ValueError(f"scale must be a finite number, got {scale!r}")
        if not isinstance(max_exact, int) or isinstance(max_exact, bool) or not 0 <= max_exact <= MAX_EXACT_PLAYERS:
            raise ValueError(f"max_exact must be an integer in [0, {MAX_EXACT_PLAYERS}], got {max_exact!r}")
        if not isinstance(permutations, int) or isinstance(permutations, bool) or permutations < 1:
            raise ValueError(f"permutations must be a positive integer, got {permutations!r}")
        if on_missing not in ("skip", "raise"):
            raise ValueError(f"on_missing must be 'skip' or 'raise', got {on_missing!r}")
        _check_seed(seed)
        self.belief = belief
        self.scale = float(scale)
        self.max_exact = max_exact
        self.permutations = permutations
        self.seed = seed
        self.on_missing = on_missing
        self.name = name

    def score(self, trajectories: Sequence[Trajectory]) -> TurnValues:
        return [self._score(trajectory, index) for index, trajectory in enumerate(trajectories)]

    def _score(self, trajectory: Trajectory, index: int) -> list[float | None]:
        label = trajectory.describe(index)
        answer = trajectory.metadata.get(REFERENCE_KEY)
        if not isinstance(answer, str) or not answer.strip():
            reason = f"{label} has no reference answer in metadata[{REFERENCE_KEY!r}]"
            if self.on_missing == "raise":
                raise ValueError(f"{self.name}: {reason}")
            trajectory.metadata["shapley_skipped"] = reason
            return [None] * len(trajectory.turns)
        facts, per_turn = revealed_facts(trajectory, label)
        # v(∅) and v(all facts) are kept for metadata["shapley_belief"], so that no coalition is
        # valued twice; the others are not kept (the Monte-Carlo orderings meet too many).
        ends: dict[frozenset, float] = {}

        def value(coalition: frozenset) -> float:
            if coalition in ends:
                return ends[coalition]
            result = belief_of(coalition)
            if not coalition or len(coalition) == len(facts):
                ends[coalition] = result
            return result

        def belief_of(coalition: frozenset) -> float:
            subset = {key: fact for key, fact in facts.items() if key in coalition}
            try:
                result = self.belief(subset, answer, trajectory)
            except Exception as exc:
                raise ValueError(f"{self.name}: the belief function raised on {label} "
                                 f"(facts {sorted(subset)}): {type(exc).__name__}: {exc}") from exc
            if not isinstance(result, numbers.Real) or isinstance(result, bool) or not math.isfinite(result):
                raise ValueError(f"{self.name}: the belief function returned {result!r} on {label} "
                                 f"(facts {sorted(subset)}); it must return a finite number")
            return float(result)

        players = list(facts)
        if len(players) <= self.max_exact:
            phi = shapley_values(players, value)
            method = "exact"
        else:
            phi = shapley_monte_carlo(players, value, permutations=self.permutations, seed=self.seed)
            method = "monte_carlo"
        trajectory.metadata["shapley_values"] = {key: float(phi[key]) for key in players}
        trajectory.metadata["shapley_belief"] = {"before": value(frozenset()), "after": value(frozenset(players))}
        trajectory.metadata["shapley_method"] = method
        return [self.scale * sum(float(phi[key]) for key in keys) for keys in per_turn]


__all__ = [
    "MAX_EXACT_PLAYERS",
    "ShapleyInformationGain",
    "revealed_facts",
    "shapley_brute_force",
    "shapley_monte_carlo",
    "shapley_values",
]
