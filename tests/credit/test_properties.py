"""Properties every estimator keeps, on random batches (hypothesis).

* observation and prompt tokens always get zero advantage (and zero value target);
* advantages do not depend on the order of the rollouts;
* Dr.GRPO advantages sum to zero per group (per rollout, or per turn with the per-turn switch);
* a group whose returns are all equal gets zero episode advantage.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

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
    group_indices,
)

from .builders import build_trajectory

# Dyadic values keep sums exact, so reordering changes results by rounding only.
VALUES = st.sampled_from([-1.0, -0.5, 0.0, 0.25, 0.5, 1.0])
STATES = st.sampled_from(["s0", "s1", "s2", "s1 "])

CRITIC_FREE = [
    GRPO(), DrGRPO(), RLOO(), GRPO(per_trajectory=False), DrGRPO(per_trajectory=False),
    RLOO(per_trajectory=False), GiGPO(), GiGPO(normalize_by_std=False, similarity_threshold=0.6),
    MultiChannelGRPO(["turn", "outcome"]), StratifiedGRPO(), IGPO(), IGPO(normalization="joint"),
    ReinforceBatchNorm(), ReinforceBatchNorm(normalize_over="turns", unbiased_std=False),
]
VALUE_BASED = [TurnAwareGAE(gamma=0.9, lam=0.8), BiLevelGAE(turn_gamma=0.9, token_gamma=0.95, token_lam=0.9)]


@st.composite
def rollouts(draw, min_action_tokens=0):
    """A rollout spec: per turn (reward, action tokens, observation tokens, state, info gain)."""
    turns = draw(st.integers(1, 4))
    return dict(
        rewards=draw(st.lists(VALUES, min_size=turns, max_size=turns)),
        action_tokens=draw(st.lists(st.integers(min_action_tokens, 3), min_size=turns, max_size=turns)),
        observation_tokens=draw(st.lists(st.integers(0, 3), min_size=turns, max_size=turns)),
        observations=draw(st.lists(STATES, min_size=turns, max_size=turns)),
        gains=draw(st.lists(VALUES, min_size=turns, max_size=turns)),
        success=draw(st.booleans()),
    )


def build(spec, group_id):
    rewards = spec["rewards"]
    components = [{"turn": r, "info_gain": g} for r, g in zip(rewards[:-1], spec["gains"])]
    components.append({"outcome": rewards[-1]})
    return build_trajectory(rewards, group_id=group_id, action_tokens=spec["action_tokens"],
                            observation_tokens=spec["observation_tokens"],
                            observations=spec["observations"], components=components,
                            success=spec["success"])


@st.composite
def batches(draw, min_action_tokens=0):
    """1-3 groups of 1-5 rollouts, interleaved in a random order."""
    trajectories = []
    for group in range(draw(st.integers(1, 3))):
        for spec in draw(st.lists(rollouts(min_action_tokens), min_size=1, max_size=5)):
            trajectories.append(build(spec, f"g{group}"))
    order = draw(st.permutations(range(len(trajectories))))
    return [trajectories[i] for i in order]


def values_for(trajectories, seed):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=len(t.token_ids)) for t in trajectories]


def assert_same_rows(a, b):
    assert len(a) == len(b)
    for row_a, row_b in zip(a, b):
        assert np.allclose(row_a, row_b, rtol=1e-9, atol=1e-9), (row_a, row_b)


@settings(max_examples=40, deadline=None)
@given(batches())
def test_observation_tokens_get_zero_advantage(trajectories):
    for estimator in CRITIC_FREE:
        advantages = estimator(trajectories)
        for i, trajectory in enumerate(trajectories):
            off_mask = np.array(trajectory.loss_mask()) == 0
            assert not np.any(advantages.tokens(i)[off_mask]), estimator


@settings(max_examples=40, deadline=None)
@given(batches(min_action_tokens=1), st.integers(0, 2**16))
def test_value_based_estimators_leave_observation_tokens_alone(trajectories, seed):
    values = values_for(trajectories, seed)
    for estimator in VALUE_BASED:
        advantages = estimator(trajectories, values)
        for i, trajectory in enumerate(trajectories):
            off_mask = np.array(trajectory.loss_mask()) == 0
            assert not np.any(advantages.tokens(i)[off_mask])
            assert not np.any(advantages.value_targets[i][off_mask])


@settings(max_examples=40, deadline=None)
@given(batches(), st.randoms(use_true_random=False))
def test_advantages_do_not_depend_on_rollout_order(trajectories, rng):
    order = list(range(len(trajectories)))
    rng.shuffle(order)
    shuffled = [trajectories[i] for i in order]
    for estimator in CRITIC_FREE:
        original = estimator(trajectories)
        permuted = estimator(shuffled)
        restored = [None] * len(order)
        for position, i in enumerate(order):
            restored[i] = permuted.per_turn[position]
        assert_same_rows(original.per_turn, restored)


@settings(max_examples=40, deadline=None)
@given(batches())
def test_dr_grpo_advantages_sum_to_zero_per_group(trajectories):
    per_rollout = DrGRPO()(trajectories)
    per_turn = DrGRPO(per_trajectory=False)(trajectories)
    for members in group_indices(trajectories):
        # Each rollout's advantage once (every turn of a rollout carries the same value).
        assert abs(sum(per_rollout.per_turn[i][0] for i in members)) < 1e-9
        # Every turn once.
        assert abs(sum(sum(per_turn.per_turn[i]) for i in members)) < 1e-9


@settings(max_examples=40, deadline=None)
@given(st.lists(rollouts(), min_size=1, max_size=5), VALUES)
def test_equal_returns_give_zero_episode_advantage(specs, common_return):
    # Rollouts of different shapes whose returns are all `common_return` (paid on the last turn).
    for spec in specs:
        spec["rewards"] = [0.0] * (len(spec["rewards"]) - 1) + [common_return]
    trajectories = [build(spec, "g") for spec in specs]
    for estimator in (GRPO(), DrGRPO(), RLOO(), GRPO(per_trajectory=False), RLOO(per_trajectory=False),
                      StratifiedGRPO()):
        assert all(abs(value) < 1e-9 for row in estimator(trajectories).per_turn for value in row)
    assert all(abs(v) < 1e-9 for row in GiGPO()(trajectories).components["episode"] for v in row)
    # IGPO's episode part: the normalised outcome on each final turn.
    normalised = IGPO()(trajectories).components["normalised_reward"]
    assert all(abs(row[-1]) < 1e-9 for row in normalised)
