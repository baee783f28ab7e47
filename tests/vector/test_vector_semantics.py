"""Both vector environments keep Gymnasium 1.x's vector semantics (run for each of them)."""

from __future__ import annotations

import random
from contextlib import closing

import numpy as np
import pytest
from gymnasium.error import ResetNeeded
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from gymnasium.vector.utils import batch_space
from vector_test_envs import EchoEnv, Factory

import agentgym

GUESS = "games/GuessTheNumber-v0"


def guess_env():
    return agentgym.make(GUESS, difficulty="easy")


def echo_vector(vector_cls, n=2, **kwargs):
    return vector_cls([Factory(EchoEnv) for _ in range(n)], **kwargs)


def assert_same_infos(ours: dict, theirs: dict) -> None:
    """Vector infos equal key by key (masks included), except wall-clock ``seconds``."""
    assert set(ours) == set(theirs)
    for key, expected in theirs.items():
        if key in ("seconds", "_seconds"):
            continue
        if isinstance(expected, dict):
            assert_same_infos(ours[key], expected)
        else:
            assert ours[key].dtype == expected.dtype, key
            assert ours[key].tolist() == expected.tolist(), key


def test_spaces_are_batched_like_gymnasium(vector_cls):
    with closing(vector_cls([guess_env] * 3)) as envs:
        single = guess_env()
        assert envs.num_envs == 3
        assert envs.single_observation_space == single.observation_space
        assert envs.single_action_space == single.action_space
        assert envs.observation_space == batch_space(single.observation_space, 3)
        assert envs.action_space == batch_space(single.action_space, 3)
        assert envs.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
        observations, _ = envs.reset(seed=0)
        assert isinstance(observations, tuple) and all(isinstance(o, str) for o in observations)
        assert envs.observation_space.contains(observations)
        _, rewards, terminations, truncations, _ = envs.step(("1", "2", "3"))
        assert rewards.dtype == np.float64 and rewards.shape == (3,)
        assert terminations.dtype == np.bool_ and truncations.dtype == np.bool_


@pytest.mark.parametrize("mode", list(AutoresetMode), ids=lambda m: m.value)
def test_results_equal_stepping_the_same_envs_one_after_another(vector_cls, mode):
    """Same seeds and actions: the same observations, rewards, flags and infos as Gymnasium's
    SyncVectorEnv, which steps the environments one after another, in every autoreset mode."""
    actions_rng = random.Random(0)
    with (
        closing(vector_cls([guess_env] * 3, autoreset_mode=mode)) as ours,
        closing(SyncVectorEnv([guess_env] * 3, autoreset_mode=mode)) as reference,
    ):
        observations, infos = ours.reset(seed=7)
        expected_observations, expected_infos = reference.reset(seed=7)
        assert observations == expected_observations
        assert_same_infos(infos, expected_infos)
        episode_ends = 0
        for _ in range(30):
            actions = tuple(
                actions_rng.choice(["zzz", str(actions_rng.randint(1, 20))]) for _ in range(3)
            )
            result, expected = ours.step(actions), reference.step(actions)
            assert result[0] == expected[0]
            for got, want in zip(result[1:4], expected[1:4], strict=True):
                np.testing.assert_array_equal(got, want)
                assert got.dtype == want.dtype
            assert_same_infos(result[4], expected[4])
            ended = expected[2] | expected[3]
            episode_ends += int(ended.sum())
            if mode is AutoresetMode.DISABLED and ended.any():
                observations, infos = ours.reset(options={"reset_mask": ended.copy()})
                expected_observations, expected_infos = reference.reset(
                    options={"reset_mask": ended.copy()}
                )
                assert observations == expected_observations
                assert_same_infos(infos, expected_infos)
        assert episode_ends >= 3  # autoreset really happened along the way


def test_int_seed_gives_slot_i_seed_plus_i_and_lists_are_taken_as_is(vector_cls):
    with closing(vector_cls([guess_env] * 3)) as envs:
        _, infos = envs.reset(seed=10)
        assert list(infos["task_id"]) == [
            guess_env().reset(seed=10 + i)[1]["task_id"] for i in range(3)
        ]
        _, infos = envs.reset(seed=[5, None, 3])
        assert infos["task_id"][0] == guess_env().reset(seed=5)[1]["task_id"]
        assert infos["task_id"][2] == guess_env().reset(seed=3)[1]["task_id"]
        with pytest.raises(ValueError, match="one seed per"):
            envs.reset(seed=[1, 2])


def test_same_step_keeps_final_observation_and_info(vector_cls):
    with closing(echo_vector(vector_cls, 3, autoreset_mode="SameStep")) as envs:
        envs.reset(seed=0)
        observations, rewards, terminations, _, infos = envs.step(["stop", "a", "stop"])
        assert terminations.tolist() == [True, False, True]
        assert rewards.tolist() == [1.0, 0.0, 1.0]
        # the observation is already the next episode's; the last one is in final_obs
        assert observations[0].startswith("episode start") and observations[2].startswith(
            "episode start"
        )
        assert observations[1] == "echo a (turn 1)"
        assert infos["_final_obs"].tolist() == [True, False, True]
        assert infos["final_obs"][0] == "stopped" and infos["final_obs"][2] == "stopped"
        assert infos["final_info"]["success"].tolist() == [True, False, True]
        assert infos["_task_id"].tolist() == [True, False, True]  # the new episodes' reset info
        assert infos["turn"][1] == 1 and infos["_turn"].tolist() == [False, True, False]


def test_next_step_resets_an_ended_slot_and_ignores_its_action(vector_cls):
    with closing(echo_vector(vector_cls, 2)) as envs:
        envs.reset(seed=0)
        observations, _, terminations, _, infos = envs.step(["stop", "a"])
        assert terminations.tolist() == [True, False]
        assert observations[0] == "stopped"  # nothing is lost: the final observation is returned
        assert "final_obs" not in infos
        # "stop" would end an episode with reward 1; being ignored, slot 0 just starts anew
        observations, rewards, terminations, truncations, infos = envs.step(["stop", "b"])
        assert observations[0].startswith("episode start")
        assert rewards.tolist() == [0.0, 0.0]
        assert terminations.tolist() == [False, False] and truncations.tolist() == [False, False]
        assert infos["_task_id"].tolist() == [True, False]
        assert observations[1] == "echo b (turn 2)"
        observations, *_ = envs.step(["c", "d"])
        assert observations[0] == "echo c (turn 1)"


def test_disabled_autoreset_needs_a_masked_reset(vector_cls):
    with closing(echo_vector(vector_cls, 2, autoreset_mode=AutoresetMode.DISABLED)) as envs:
        envs.reset(seed=0)
        envs.step(["stop", "a"])
        with pytest.raises(ResetNeeded, match=r"\[0\]"):
            envs.step(["b", "b"])
        observations, infos = envs.reset(options={"reset_mask": np.array([True, False])})
        assert observations[0].startswith("episode start")
        assert observations[1] == "echo a (turn 1)"  # untouched
        assert infos["_task_id"].tolist() == [True, False]
        observations, *_ = envs.step(["b", "b"])
        assert observations == ("echo b (turn 1)", "echo b (turn 2)")


def test_call_get_attr_and_set_attr(vector_cls):
    with closing(vector_cls([guess_env] * 2)) as envs:
        assert envs.get_attr("difficulty") == ("easy", "easy")
        envs.reset(seed=0)
        envs.set_attr("invalid_penalty", [0.5, 0.0])
        _, rewards, *_ = envs.step(["no number", "no number"])
        assert rewards.tolist() == [-0.5, 0.0]
        envs.set_attr("invalid_penalty", 0.25)
        assert envs.get_attr("invalid_penalty") == (0.25, 0.25)
        texts = envs.call("render_text")
        assert all(text.startswith("GuessTheNumber 1..20") for text in texts)


def test_every_call_to_an_env_runs_in_that_slot_s_own_thread(vector_cls):
    factories = [Factory(EchoEnv) for _ in range(3)]
    with closing(vector_cls(factories)) as envs:
        envs.reset(seed=0)
        for _ in range(3):
            envs.step(["a", "b", "c"])
        threads = [factory.built[0].threads for factory in factories]
        assert all(len(t) == 1 for t in threads)  # built, reset and stepped in one thread
        assert len(set.union(*threads)) == 3  # a different one per slot


def test_misuse_raises_clear_errors(vector_cls):
    with pytest.raises(ValueError, match="autoreset_mode"):
        echo_vector(vector_cls, autoreset_mode="sometimes")
    with pytest.raises(ValueError, match="step_timeout"):
        echo_vector(vector_cls, step_timeout=0)
    with pytest.raises(ValueError, match="at least one"):
        vector_cls([])
    with closing(echo_vector(vector_cls, 2)) as envs:
        with pytest.raises(ResetNeeded):
            envs.step(["a", "b"])
        envs.reset()
        with pytest.raises(ValueError, match="expected 2 actions"):
            envs.step(["a"])
    with pytest.raises(RuntimeError, match="closed"):
        envs.reset()


def test_mismatched_spaces_are_refused_and_built_envs_closed(vector_cls):
    factories = [Factory(EchoEnv), Factory(EchoEnv)]

    def other_space():
        env = EchoEnv()
        env.observation_space = agentgym.UnicodeText(10)
        return env

    with pytest.raises(RuntimeError, match="sub-environment 2"):
        vector_cls([*factories, other_space])
    assert all(f.built[0].was_closed for f in factories)
