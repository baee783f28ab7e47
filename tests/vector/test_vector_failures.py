"""Concurrency, timeouts, failing environments and clean shutdown (run for both vector envs)."""

from __future__ import annotations

from contextlib import closing

import numpy as np
import pytest
from agentgym.vector import HungEnvironmentWarning
from vector_test_envs import EchoEnv, Factory, Gauge, HangingEnv, RaisingEnv, SleepyEnv, slot_threads, wait_until
from tests.resource_probe import live_threads, started_since

TIMEOUT = 0.5  # generous for the healthy environments, which answer in microseconds


def abandons_a_thread():
    """The warning a call that outlasts its timeout gives as its thread is abandoned."""
    return pytest.warns(HungEnvironmentWarning, match="outlasted its timeout and was abandoned in its thread")


def test_steps_run_concurrently(vector_cls):
    gauge = Gauge(parties=4)
    with closing(vector_cls([Factory(SleepyEnv, gauge=gauge) for _ in range(4)])) as envs:
        envs.reset(seed=0)
        _, _, _, truncations, infos = envs.step(["a"] * 4)
        assert gauge.peak == 4  # all four environments were inside step at the same time
        assert not truncations.any() and "env_failed" not in infos


def test_a_hung_step_times_out_alone_and_the_slot_recovers_at_reset(vector_cls, release):
    factories = [Factory(HangingEnv, release=release) for _ in range(3)]
    with closing(vector_cls(factories, step_timeout=TIMEOUT)) as envs:
        envs.reset(seed=0)
        with abandons_a_thread():
            observations, rewards, terminations, truncations, infos = envs.step(["hang", "a", "b"])
        assert observations[0].startswith("Environment error: step timed out after 0.5 s")
        assert observations[1:] == ("echo a (turn 1)", "echo b (turn 1)")
        assert truncations.tolist() == [True, False, False]
        assert terminations.tolist() == [False, False, False]
        assert rewards.tolist() == [0.0, 0.0, 0.0]
        assert infos["error"][0] == "step timed out after 0.5 s"
        assert infos["env_failed"].tolist() == [True, False, False]
        assert infos["_env_failed"].tolist() == [True, False, False]
        with pytest.raises(RuntimeError, match="abandoned"):
            envs.get_attr("turn")

        # NEXT_STEP: the slot is reset on the next step, with a fresh environment
        observations, rewards, _, truncations, infos = envs.step(["x", "c", "d"])
        assert len(factories[0].built) == 2 and len(factories[1].built) == 1
        assert observations[0].startswith("episode start")
        assert not truncations.any() and "env_failed" not in infos
        observations, *_ = envs.step(["e", "f", "g"])
        assert observations == ("echo e (turn 1)", "echo f (turn 3)", "echo g (turn 3)")
        # the hung environment was abandoned to its thread; being an LLMEnv (whose close is safe
        # beside a running play) it was closed at once from another thread, releasing its resources
        assert factories[0].built[0].was_closed


def test_a_hung_reset_times_out_alone(vector_cls, release):
    factories = [
        Factory(HangingEnv, release=release, first={"hang_first_reset": True}),
        Factory(HangingEnv, release=release),
    ]
    with closing(vector_cls(factories, step_timeout=TIMEOUT)) as envs:
        with abandons_a_thread():
            observations, infos = envs.reset(seed=0)
        assert infos["error"][0] == "reset timed out after 0.5 s"
        assert infos["_error"].tolist() == [True, False]
        assert observations[0].startswith("Environment error") and observations[1].startswith(
            "episode start"
        )
        observations, _, _, truncations, infos = envs.step(["a", "b"])  # retried with a new env
        assert len(factories[0].built) == 2
        assert observations[0].startswith("episode start") and not truncations.any()


def test_an_exception_is_isolated_and_the_env_rebuilt(vector_cls):
    factories = [Factory(RaisingEnv) for _ in range(2)]
    with closing(vector_cls(factories)) as envs:
        envs.reset(seed=0)
        observations, rewards, _, truncations, infos = envs.step(["explode", "a"])
        assert infos["error"][0] == "step raised RuntimeError: boom"
        assert "in play" in infos["traceback"][0] and "boom" in infos["traceback"][0]
        assert infos["_traceback"].tolist() == [True, False]
        assert truncations.tolist() == [True, False] and rewards.tolist() == [0.0, 0.0]
        assert observations[1] == "echo a (turn 1)"
        envs.step(["x", "b"])
        assert len(factories[0].built) == 2
        assert factories[0].built[0].was_closed  # a failed (not hung) env is closed on rebuild
        observations, *_ = envs.step(["c", "d"])
        assert observations == ("echo c (turn 1)", "echo d (turn 3)")


def test_same_step_keeps_the_failure_as_final_info_and_restarts_at_once(vector_cls):
    factories = [Factory(RaisingEnv) for _ in range(2)]
    with closing(vector_cls(factories, autoreset_mode="SameStep")) as envs:
        envs.reset(seed=0)
        observations, _, _, truncations, infos = envs.step(["explode", "a"])
        assert truncations.tolist() == [True, False]
        assert infos["final_obs"][0].startswith("Environment error: step raised RuntimeError: boom")
        assert infos["final_info"]["env_failed"].tolist() == [True, False]
        assert observations[0].startswith("episode start")  # already rebuilt and reset
        assert len(factories[0].built) == 2


@pytest.mark.parametrize("mode", ["NextStep", "SameStep"])
def test_a_failed_reset_is_reported_and_retried(vector_cls, mode):
    factories = [Factory(RaisingEnv, first={"broken_reset": True}), Factory(RaisingEnv)]
    with closing(vector_cls(factories, autoreset_mode=mode)) as envs:
        observations, infos = envs.reset(seed=0)
        assert observations[0].startswith(
            "Environment error: reset raised RuntimeError: cannot start"
        )
        assert infos["env_failed"].tolist() == [True, False]
        observations, _, _, truncations, infos = envs.step(["a", "b"])
        assert len(factories[0].built) == 2
        assert observations[0].startswith("episode start")
        if mode == "SameStep":  # the slot had no episode: reported as one ended by the failure
            assert truncations.tolist() == [True, False]
            assert infos["final_info"]["error"][0].startswith("step skipped")
        else:  # NEXT_STEP: the step only resets the slot
            assert truncations.tolist() == [False, False]


def test_a_failure_in_disabled_mode_waits_for_a_masked_reset(vector_cls):
    factories = [Factory(RaisingEnv) for _ in range(2)]
    with closing(vector_cls(factories, autoreset_mode="Disabled")) as envs:
        envs.reset(seed=0)
        _, _, _, truncations, _ = envs.step(["explode", "a"])
        assert truncations.tolist() == [True, False]
        observations, infos = envs.reset(options={"reset_mask": truncations})
        assert observations[0].startswith("episode start") and len(factories[0].built) == 2
        observations, *_ = envs.step(["b", "c"])
        assert observations == ("echo b (turn 1)", "echo c (turn 2)")


def test_close_closes_every_env_and_joins_every_thread(vector_cls):
    baseline = live_threads()
    factories = [Factory(EchoEnv) for _ in range(4)]
    envs = vector_cls(factories)
    assert len(started_since(baseline)) == 4  # one thread per slot
    envs.reset(seed=0)
    envs.step(["a"] * 4)
    envs.close()
    assert not started_since(baseline)
    assert all(f.built[0].was_closed for f in factories)


def test_close_leaves_only_the_hung_thread_which_ends_once_released(vector_cls, release):
    baseline = live_threads()
    envs = vector_cls(
        [Factory(HangingEnv, release=release) for _ in range(3)], step_timeout=TIMEOUT
    )
    envs.reset(seed=0)
    with abandons_a_thread():
        envs.step(["hang", "a", "b"])
    envs.step(["x", "c", "d"])  # the slot got a new thread and env
    envs.close()
    assert len(started_since(baseline)) == 1
    assert [t.daemon for t in slot_threads()] == [True]  # never blocks interpreter exit
    release.set()
    assert wait_until(lambda: not started_since(baseline))


def test_multimodal_error_observation_keeps_the_space(vector_cls):
    from agentgym import text_and_image_space

    class PictureEnv(RaisingEnv):
        observation_space = text_and_image_space(2, 3)

        def new_episode(self, options):
            return {"text": super().new_episode(options), "image": np.ones((2, 3, 3), np.uint8)}

        def play(self, action):
            feedback = super().play(action)
            feedback.observation = {
                "text": feedback.observation,
                "image": np.ones((2, 3, 3), np.uint8),
            }
            return feedback

    with closing(vector_cls([PictureEnv, PictureEnv])) as envs:
        envs.reset(seed=0)
        observations, *_ = envs.step(["explode", "a"])
        assert envs.observation_space.contains(observations)
        assert observations["text"][0].startswith("Environment error")
        assert observations["image"][0].sum() == 0
