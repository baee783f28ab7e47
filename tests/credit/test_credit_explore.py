"""Hostile inputs for the credit estimators, and every estimator against an independent numpy
computation written from ALGORITHMS.md on random groups."""

from __future__ import annotations

import math

import numpy as np
import pytest

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
from tests.credit.builders import build_trajectory

GROUP_ESTIMATORS = [GRPO(), DrGRPO(), RLOO(), GiGPO(), StratifiedGRPO(), ReinforceBatchNorm(),
                    MultiChannelGRPO(["task"])]


def _ids(estimator) -> str:
    return type(estimator).__name__


# ------------------------------------------------------------------ non-finite rewards

@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, None, "1.0"])
@pytest.mark.parametrize("estimator", GROUP_ESTIMATORS, ids=_ids)
def test_a_reward_that_is_not_a_finite_number_is_refused_naming_the_trajectory_and_turn(estimator, bad):
    group = [build_trajectory([0.0, 1.0]), build_trajectory([0.0, 0.0]), build_trajectory([1.0])]
    group[1].turns[1].reward = bad  # never a silent NaN advantage for the whole group
    with pytest.raises(ValueError, match=r"trajectory 1, turn 1: reward .* not a finite number"):
        estimator(group)


@pytest.mark.parametrize("estimator", GROUP_ESTIMATORS, ids=_ids)
def test_finite_rewards_whose_sum_overflows_are_refused(estimator):
    # Each reward finite, the return inf: the group's advantages were NaN without a word.
    group = [build_trajectory([1e308, 1e308]), build_trajectory([0.0, 0.0])]
    with pytest.raises(ValueError, match=r"trajectory 0: its turns' rewards, each finite, sum to inf"):
        estimator(group)


@pytest.mark.parametrize("estimator", [GiGPO(), MultiChannelGRPO(["task"]),
                                       IGPO(outcome="component", outcome_key="task", info_gain_key="task")],
                         ids=_ids)
def test_a_reward_component_that_is_not_a_finite_number_is_refused_naming_it(estimator):
    group = [build_trajectory([0.0, 1.0]), build_trajectory([0.0, 0.0])]
    group[0].turns[0].reward_components["task"] = math.nan
    with pytest.raises(ValueError, match=r"trajectory 0, turn 0: reward component 'task' .* not a finite number"):
        estimator(group)


@pytest.mark.parametrize("estimator", [TurnAwareGAE(), BiLevelGAE()], ids=_ids)
def test_gae_refuses_non_finite_values_and_bootstrap_values(estimator):
    trajectory = build_trajectory([0.0, 1.0])
    values = np.zeros(len(trajectory.token_ids))
    values[trajectory.turns[1].action_span[0]] = math.nan
    with pytest.raises(ValueError, match=r"trajectory 0: .*values.*not finite"):
        estimator([trajectory], [values])
    with pytest.raises(ValueError, match=r"trajectory 0: bootstrap value"):
        estimator([trajectory], [np.zeros(len(trajectory.token_ids))], [math.inf])
    trajectory.turns[0].reward = math.nan
    with pytest.raises(ValueError, match=r"trajectory 0, turn 0: reward"):
        estimator([trajectory], [np.zeros(len(trajectory.token_ids))])


@pytest.mark.parametrize("estimator", [TurnAwareGAE(), BiLevelGAE()], ids=_ids)
def test_gae_names_the_shape_of_values_that_are_not_one_dimensional(estimator):
    trajectory = build_trajectory([0.0, 1.0])
    with pytest.raises(ValueError, match=r"values for 11 tokens .* shape \(11, 1\)"):
        estimator([trajectory], [np.zeros((len(trajectory.token_ids), 1))])


# ------------------------------------------------------------------ constructor arguments

def test_multichannel_refuses_a_single_string_for_channels():
    # list("outcome") would z-score the channels 'o', 'u', 't'...: no turn has them, all zeros.
    with pytest.raises(ValueError, match="channels"):
        MultiChannelGRPO("outcome")


@pytest.mark.parametrize("make", [lambda: GRPO(eps=-1.0), lambda: GRPO(eps=math.nan), lambda: GiGPO(eps=-0.5),
                                  lambda: IGPO(eps=-1.0), lambda: ReinforceBatchNorm(eps=math.inf),
                                  lambda: StratifiedGRPO(eps=-1.0), lambda: MultiChannelGRPO(["task"], eps=-1.0)])
def test_eps_must_be_a_finite_non_negative_number(make):
    # a negative eps flips the sign of every advantage whose group std is below it
    with pytest.raises(ValueError, match="eps"):
        make()


@pytest.mark.parametrize("ddof", [-1, 2, 5, 0.5])
def test_multichannel_ddof_is_0_or_1(ddof):
    # ddof >= the pool size made the std 0 and every z-score (x - mean) / eps, e.g. 5e5
    with pytest.raises(ValueError, match="ddof"):
        MultiChannelGRPO(["task"], ddof=ddof)


@pytest.mark.parametrize("make", [lambda: GiGPO(gamma=math.nan), lambda: GiGPO(gamma=1.5), lambda: IGPO(gamma=-0.1),
                                  lambda: ReinforceBatchNorm(gamma=2.0),
                                  lambda: MultiChannelGRPO(["a"], gamma=math.inf),
                                  lambda: TurnAwareGAE(gamma=1.1), lambda: TurnAwareGAE(lam=math.nan),
                                  lambda: BiLevelGAE(turn_gamma=-1.0), lambda: BiLevelGAE(token_lam=2.0)])
def test_discounts_and_lambdas_lie_in_the_unit_interval(make):
    with pytest.raises(ValueError, match="gamma|lam"):
        make()


# ------------------------------------------------------------------ independent computations

def _random_group(rng, size, *, max_turns=4, group_id="g"):
    return [build_trajectory(list(rng.integers(-2, 3, rng.integers(1, max_turns + 1)).astype(float)),
                             group_id=group_id, action_tokens=int(rng.integers(1, 4)),
                             observations=[f"s{rng.integers(0, 3)}" for _ in range(max_turns)])
            for _ in range(size)]


@pytest.mark.parametrize("seed", range(20))
def test_group_baselines_match_numpy_on_random_groups(seed):
    rng = np.random.default_rng(seed)
    batch = _random_group(rng, int(rng.integers(2, 7)), group_id="a") + _random_group(rng, 3, group_id="b")
    for members in ([i for i, t in enumerate(batch) if t.group_id == "a"],
                    [i for i, t in enumerate(batch) if t.group_id == "b"]):
        returns = np.array([sum(turn.reward for turn in batch[i].turns) for i in members])
        g = len(members)
        expected = {
            "grpo": (returns - returns.mean()) / (returns.std(ddof=1) + 1e-6),
            "mean_norm": returns - returns.mean(),
            "rloo": np.array([returns[k] - np.delete(returns, k).mean() for k in range(g)]),
        }
        for estimator, key in ((GRPO(), "grpo"), (DrGRPO(), "mean_norm"), (RLOO(), "rloo")):
            result = estimator(batch)
            for k, i in enumerate(members):
                assert result.per_turn[i] == pytest.approx([expected[key][k]] * len(batch[i].turns), abs=1e-9)


@pytest.mark.parametrize("seed", range(20))
def test_gigpo_matches_numpy_on_random_groups(seed):
    rng = np.random.default_rng(seed)
    gamma = float(rng.uniform(0, 1))
    batch = _random_group(rng, int(rng.integers(2, 6)))
    returns = []
    for trajectory in batch:
        r = [turn.reward for turn in trajectory.turns]
        returns.append([sum(gamma ** (k - t) * r[k] for k in range(t, len(r))) for t in range(len(r))])
    totals = np.array([sum(turn.reward for turn in t.turns) for t in batch])
    episode = (totals - totals.mean()) / (totals.std(ddof=1) + 1e-6)
    by_state: dict[str, list[tuple[int, int]]] = {}
    for i, trajectory in enumerate(batch):
        for t, turn in enumerate(trajectory.turns):
            by_state.setdefault(turn.observation, []).append((i, t))
    step = [[0.0] * len(t.turns) for t in batch]
    for places in by_state.values():
        values = np.array([returns[i][t] for i, t in places])
        if len(values) > 1:
            for (i, t), value in zip(places, (values - values.mean()) / (values.std(ddof=1) + 1e-6)):
                step[i][t] = value
    result = GiGPO(gamma=gamma)(batch)
    for i, trajectory in enumerate(batch):
        assert result.per_turn[i] == pytest.approx([episode[i] + s for s in step[i]], abs=1e-9)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("normalization", ["separate", "joint"])
def test_igpo_matches_numpy_on_random_groups(seed, normalization):
    rng = np.random.default_rng(seed)
    batch = []
    for _ in range(int(rng.integers(2, 5))):
        turns = int(rng.integers(1, 5))
        gains = list(rng.normal(size=turns - 1))
        outcome = float(rng.integers(0, 2))
        components = [{"info_gain": g} for g in gains] + [{"outcome": outcome}]
        batch.append(build_trajectory(gains + [outcome], components=components))
    gains = np.array([c["info_gain"] for t in batch for c in (turn.reward_components for turn in t.turns[:-1])])
    outcomes = np.array([t.turns[-1].reward_components["outcome"] for t in batch])

    def z(x):
        return (x - x.mean()) / (x.std() + 1e-6) if x.size > 1 else np.zeros_like(x)

    if normalization == "separate":
        zg, zo = z(gains), z(outcomes)
    else:
        pooled = z(np.concatenate([gains, outcomes]))
        zg, zo = pooled[:gains.size], pooled[gains.size:]
    result = IGPO(normalization=normalization)(batch)
    k = 0
    for i, trajectory in enumerate(batch):
        signal = list(zg[k:k + len(trajectory.turns) - 1]) + [zo[i]]
        k += len(trajectory.turns) - 1
        assert result.per_turn[i] == pytest.approx(list(np.cumsum(signal[::-1])[::-1]), abs=1e-9)


@pytest.mark.parametrize("seed", range(10))
def test_reinforce_over_tokens_matches_numpy(seed):
    rng = np.random.default_rng(seed)
    batch = _random_group(rng, 4)
    tokens = np.concatenate([[sum(r.reward for r in t.turns[k:])] * t.turns[k].num_generated_tokens
                             for t in batch for k in range(len(t.turns))])
    result = ReinforceBatchNorm()(batch)
    for trajectory, advantages in zip(batch, result.token_advantages):
        for k, turn in enumerate(trajectory.turns):
            expected = (sum(r.reward for r in trajectory.turns[k:]) - tokens.mean()) / (tokens.std(ddof=1) + 1e-6)
            start, end = turn.action_span
            assert advantages[start:end] == pytest.approx([expected] * (end - start), abs=1e-9)


def test_gae_bootstraps_a_truncated_episode_and_not_a_terminated_one():
    trajectory = build_trajectory([0.0, 1.0], action_tokens=1)
    values = np.zeros(len(trajectory.token_ids))
    terminal = TurnAwareGAE(gamma=1.0, lam=1.0)([trajectory], [values])
    truncated = TurnAwareGAE(gamma=1.0, lam=1.0)([trajectory], [values], [5.0])
    assert terminal.per_turn == [[1.0, 1.0]] and truncated.per_turn == [[6.0, 6.0]]


# ------------------------------------------------------------------ huge rewards

@pytest.mark.parametrize("scale", [1.0, 1e30, 1e200, 1e-200])
def test_advantages_are_scale_free_up_to_huge_and_tiny_rewards(scale):
    # squaring 1e200 overflowed: std inf, every GRPO advantage 0 in silence, ReBN's NaN
    group = [build_trajectory([scale]), build_trajectory([0.0]), build_trajectory([-scale])]
    eps = 0.0 if scale < 1 else 1e-6
    assert GRPO(eps=eps)(group).per_turn == [[pytest.approx(1.0)], [0.0], [pytest.approx(-1.0)]]
    assert ReinforceBatchNorm(normalize_over="turns", eps=eps)(group).per_turn == \
        [[pytest.approx(1.0)], [0.0], [pytest.approx(-1.0)]]
    assert MultiChannelGRPO(["task"], eps=eps)(group).per_turn == [[pytest.approx(1.0)], [0.0], [pytest.approx(-1.0)]]


def test_health_measures_the_spread_of_huge_returns():
    from agentgym.credit import training_health

    group = [build_trajectory([1e200]), build_trajectory([-1e200])]
    assert training_health(group).reward_std_in_group == pytest.approx(1e200)


def test_ordinary_statistics_are_unchanged_bit_for_bit_by_the_scaling():
    from agentgym.credit.base import weighted_mean_std

    rng = np.random.default_rng(0)
    for _ in range(50):
        values = rng.normal(size=int(rng.integers(2, 20))) * 10.0 ** rng.integers(-5, 6)
        mean, std = weighted_mean_std(values, np.ones_like(values), 1)
        assert mean == float(values.sum() / values.size)
        assert std == float(((values - mean) ** 2).sum() / (values.size - 1)) ** 0.5


# ------------------------------------------------------------------ group keys

def test_an_unhashable_group_id_is_refused_naming_the_trajectory():
    group = [build_trajectory([1.0], group_id="g"), build_trajectory([0.0], group_id=["g"])]
    with pytest.raises(ValueError, match=r"trajectory 1: group_id \['g'\] .*hashable"):
        GRPO()(group)


def test_unicode_group_ids_group_as_strings_do():
    group = [build_trajectory([1.0], group_id="задача 🙂"), build_trajectory([0.0], group_id="задача 🙂"),
             build_trajectory([5.0], group_id="задача 🙃")]
    assert GRPO()(group).per_turn == [[pytest.approx(0.7071, abs=1e-3)], [pytest.approx(-0.7071, abs=1e-3)], [0.0]]


@pytest.mark.parametrize("seed", range(10))
def test_counting_each_turn_matches_the_weighted_formulas_of_the_docstring(seed):
    rng = np.random.default_rng(seed)
    batch = [build_trajectory(list(rng.normal(size=int(rng.integers(1, 12))))) for _ in range(int(rng.integers(2, 6)))]
    returns = np.array([t.episode_return for t in batch])
    weights = np.array([len(t.turns) for t in batch], dtype=float)
    mean = (weights * returns).sum() / weights.sum()
    std = np.sqrt((weights * (returns - mean) ** 2).sum() / (weights.sum() - 1))
    grpo = GRPO(per_trajectory=False)(batch)
    rloo = RLOO(per_trajectory=False)(batch)
    for i, trajectory in enumerate(batch):
        others = np.arange(len(batch)) != i
        baseline = (weights[others] * returns[others]).sum() / weights[others].sum()
        assert grpo.per_turn[i] == pytest.approx([(returns[i] - mean) / (std + 1e-6)] * len(trajectory.turns))
        assert rloo.per_turn[i] == pytest.approx([returns[i] - baseline] * len(trajectory.turns))


# ------------------------------------------------------------------ GiGPO's similarity mode at scale

def _reference_components(anchors, threshold):
    """Single linkage under SequenceMatcher.ratio() >= threshold, every pair compared (slow)."""
    from difflib import SequenceMatcher

    ordered = sorted(anchors)
    parent = {a: a for a in ordered}

    def root(a):
        while parent[a] != a:
            a = parent[a]
        return a

    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            if SequenceMatcher(None, a, b, autojunk=False).ratio() >= threshold and root(a) != root(b):
                parent[root(b)] = root(a)
    return {a: root(a) for a in ordered}


def _partition(mapping):
    groups = {}
    for anchor, root in mapping.items():
        groups.setdefault(root, set()).add(anchor)
    return sorted(sorted(g) for g in groups.values())


@pytest.mark.parametrize("seed", range(15))
def test_similarity_components_equal_the_all_pairs_definition(seed):
    from agentgym.credit.gigpo import _similar_components

    rng = np.random.default_rng(seed)
    base = "".join(rng.choice(list("ab.#@\n"), size=int(rng.integers(5, 40))))
    anchors = set()
    for _ in range(int(rng.integers(2, 12))):
        chars = list(base)
        for _ in range(int(rng.integers(0, 4))):  # a few edits: some pairs merge, some do not
            chars[int(rng.integers(0, len(chars)))] = str(rng.choice(list("ab.#@xyz")))
        if rng.random() < 0.3:
            rng.shuffle(chars)
        anchors.add("".join(chars))
    for threshold in (0.6, 0.8, 0.95):
        assert _partition(_similar_components(list(anchors), threshold)) == \
            _partition(_reference_components(anchors, threshold))


def test_similarity_mode_skips_the_quadratic_ratio_for_states_that_share_characters_only(monkeypatch):
    # Boards with the same characters in other places pass the quick bounds; SequenceMatcher.ratio()
    # then took ~27 ms a pair at 500 characters: 8 rollouts x 15 turns of them took 197 s.
    from difflib import SequenceMatcher

    calls = []
    original = SequenceMatcher.ratio
    monkeypatch.setattr(SequenceMatcher, "ratio", lambda self: calls.append(1) or original(self))
    rng = np.random.default_rng(0)
    base = list("#" * 100 + "." * 300 + "@$$$$..." * 10 + "\n" * 20)
    boards = ["".join(rng.permutation(base)) for _ in range(30)]
    batch = [build_trajectory([0.0, float(i % 2)], observations=boards[2 * i:2 * i + 2]) for i in range(15)]
    GiGPO(similarity_threshold=0.95)(batch)
    assert len(calls) == 0


@pytest.mark.parametrize("seed", range(30))
def test_lcs_length_equals_the_dynamic_programme(seed):
    from agentgym.subsequence import lcs_length

    rng = np.random.default_rng(seed)
    a, b = ("".join(rng.choice(list("abcé🙂"), size=int(rng.integers(0, 30)))) for _ in range(2))
    table = np.zeros((len(a) + 1, len(b) + 1), dtype=int)
    for i in range(len(a)):
        for j in range(len(b)):
            table[i + 1, j + 1] = table[i, j] + 1 if a[i] == b[j] else max(table[i, j + 1], table[i + 1, j])
    assert lcs_length(a, b) == table[-1, -1] == lcs_length(b, a)
