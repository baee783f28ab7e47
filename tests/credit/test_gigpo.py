"""GiGPO: ALGORITHMS.md §2 by hand, anchors, similarity mode, penalties."""

import numpy as np
import pytest

from agentgym.credit import GiGPO

from .builders import assert_rows_close, build_trajectory, observation_positions, turn_positions

TOL = 1e-3


def hand_case():
    return [
        build_trajectory([0, 1], observations=["s0", "s1"]),
        build_trajectory([0, 0, 1], observations=["s0", "s0", "s1"]),
        build_trajectory([0, 0, 0], observations=["s0", "s0", "s0"]),
    ]


def test_turn_returns():
    estimator = GiGPO(gamma=0.9)
    expected = [[0.9, 1.0], [0.81, 0.9, 1.0], [0.0, 0.0, 0.0]]
    for trajectory, returns in zip(hand_case(), expected):
        assert estimator.turn_returns(trajectory) == pytest.approx(returns, abs=TOL)


def test_hand_case_without_std():
    advantages = GiGPO(gamma=0.9, normalize_by_std=False)(hand_case())
    assert_rows_close(advantages.components["episode"], [[1 / 3] * 2, [1 / 3] * 3, [-2 / 3] * 3])
    # s1 holds [1.0, 1.0]: no step advantage there.
    assert advantages.components["step"][0][1] == pytest.approx(0.0, abs=TOL)
    assert advantages.per_turn[0] == pytest.approx([0.798, 0.333], abs=TOL)
    assert advantages.per_turn[1] == pytest.approx([0.708, 0.798, 0.333], abs=TOL)
    assert advantages.per_turn[2] == pytest.approx([-1.102, -1.102, -1.102], abs=TOL)


def test_hand_case_step_advantages_with_std():
    step = GiGPO(gamma=0.9)(hand_case()).components["step"]
    assert step[0][0] == pytest.approx(0.9735, abs=TOL)
    assert step[1][0] == pytest.approx(0.7851, abs=TOL)
    assert step[1][1] == pytest.approx(0.9735, abs=TOL)
    assert step[2] == pytest.approx([-0.9107] * 3, abs=TOL)


def test_step_weight_scales_the_step_part():
    base = GiGPO(gamma=0.9, normalize_by_std=False)(hand_case())
    halved = GiGPO(gamma=0.9, normalize_by_std=False, step_weight=0.5)(hand_case())
    for e, s, a in zip(base.components["episode"], base.components["step"], halved.per_turn):
        assert a == pytest.approx([ei + 0.5 * si for ei, si in zip(e, s)])


def test_tokens_carry_the_turn_advantage():
    trajectories = hand_case()
    advantages = GiGPO(gamma=0.9, normalize_by_std=False)(trajectories)
    tokens = advantages.tokens(1)
    for t, value in enumerate([0.708, 0.798, 0.333]):
        assert tokens[turn_positions(trajectories[1], t)] == pytest.approx([value] * 2, abs=TOL)
    assert not np.any(tokens[observation_positions(trajectories[1])])


def test_singleton_step_group_gets_no_step_advantage():
    trajectories = [build_trajectory([0, 1], observations=["start", "only here"]),
                    build_trajectory([0, 0], observations=["start", "elsewhere"])]
    step = GiGPO(gamma=1.0)(trajectories).components["step"]
    assert step[0][1] == 0.0 and step[1][1] == 0.0
    assert step[0][0] > 0 > step[1][0]


def test_anchor_function_replaces_the_observation():
    # The observations differ only by a turn counter the anchor strips away.
    trajectories = [build_trajectory([0, 1], observations=["turn 1: s0", "turn 2: s1"]),
                    build_trajectory([0, 0], observations=["turn 1: s0", "turn 2: s0"])]
    by_text = GiGPO(gamma=1.0, normalize_by_std=False)(trajectories).components["step"]
    by_state = GiGPO(gamma=1.0, normalize_by_std=False,
                     anchor=lambda turn: turn.observation.split(": ")[1])(trajectories).components["step"]
    # By text: "turn 1: s0" is shared by both first turns only -> returns [1, 0].
    assert_rows_close(by_text, [[0.5, 0.0], [-0.5, 0.0]])
    # By state: s0 holds τ1t0 (1), τ2t0 (0), τ2t1 (0): mean 1/3.
    assert_rows_close(by_state, [[2 / 3, 0.0], [-1 / 3, -1 / 3]])


def test_similarity_mode_merges_near_identical_states():
    board = "#" * 40
    trajectories = [build_trajectory([1.0], observations=[board + "A"]),
                    build_trajectory([0.0], observations=[board + "B"]),
                    build_trajectory([0.0], observations=["something else entirely"])]
    exact = GiGPO(gamma=1.0, normalize_by_std=False)(trajectories).components["step"]
    assert exact == [[0.0], [0.0], [0.0]]
    similar = GiGPO(gamma=1.0, normalize_by_std=False, similarity_threshold=0.95)(trajectories).components["step"]
    assert_rows_close(similar, [[0.5], [-0.5], [0.0]])


def test_similarity_merging_is_transitive_and_order_free():
    # a~b and b~c but not a~c: single linkage still puts all three together, in any order.
    a, b, c = "x" * 18 + "aa", "x" * 19 + "a", "x" * 20
    trajectories = [build_trajectory([r], observations=[s]) for r, s in [(3.0, a), (0.0, b), (0.0, c)]]
    estimator = GiGPO(gamma=1.0, normalize_by_std=False, similarity_threshold=0.95)
    forward = estimator(trajectories).components["step"]
    backward = estimator(trajectories[::-1]).components["step"][::-1]
    assert_rows_close(forward, [[2.0], [-1.0], [-1.0]])
    assert_rows_close(backward, forward, tol=1e-12)


def test_similarity_mode_needs_text_anchors():
    trajectories = [build_trajectory([1.0]), build_trajectory([0.0])]
    with pytest.raises(TypeError, match="strings"):
        GiGPO(similarity_threshold=0.9, anchor=lambda turn: turn.index)(trajectories)


def test_invalid_action_penalty_hits_that_turn_only_after_discounting():
    # Turn 1 was invalid (the env gave -0.5 under "invalid"); the win comes at turn 2.
    trajectory = build_trajectory([0.0, -0.5, 1.0], components=[{}, {"invalid": -0.5}, {"outcome": 1.0}],
                                  errors=[None, "bad move", None])
    # Task rewards [0, 0, 1] discount to [0.25, 0.5, 1]; the penalty then lands on turn 1 alone.
    assert GiGPO(gamma=0.5).turn_returns(trajectory) == pytest.approx([0.25, 0.0, 1.0])
    # Treated as an ordinary reward it would also be discounted into turn 0.
    assert GiGPO(gamma=0.5, penalty_keys=()).turn_returns(trajectory) == pytest.approx([0.0, 0.0, 1.0])


def test_penalty_stays_out_of_the_episode_return():
    # Same task outcome, one rollout with an invalid move: equal episode advantage.
    clean = build_trajectory([0.0, 1.0], observations=["s0", "s1"])
    sloppy = build_trajectory([-0.5, 1.0], components=[{"invalid": -0.5}, {"outcome": 1.0}],
                              observations=["s0", "s1"])
    advantages = GiGPO(gamma=1.0, normalize_by_std=False)([clean, sloppy])
    assert advantages.components["episode"] == [[0.0, 0.0], [0.0, 0.0]]
    # The step group s0 compares the returns 1.0 and 0.5: the invalid move is credited less.
    assert advantages.components["step"][0][0] == pytest.approx(0.25)
    assert advantages.components["step"][1][0] == pytest.approx(-0.25)


def test_group_of_one_gets_zero():
    advantages = GiGPO()([build_trajectory([0, 1, 0], observations=["s", "s", "s"])])
    assert advantages.per_turn == [[0.0, 0.0, 0.0]]
