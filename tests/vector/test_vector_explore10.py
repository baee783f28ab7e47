"""Exploratory tests, round 10: what the vector infos say of each slot, exactly; seeds the caller
got wrong are refused as the caller's error."""

from __future__ import annotations

import _thread
import asyncio
import signal
import threading
from contextlib import closing
from typing import Any

import numpy as np
import pytest
from gymnasium.error import ResetNeeded
from vector_test_envs import PATIENCE_S, EchoEnv, Factory

from agentgym import Feedback


class ScoringEnv(EchoEnv):
    """Each step reports ``info["score"] = score`` (any value) and goes on."""

    def __init__(self, score: Any = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.score = score

    def play(self, action: str) -> Feedback:
        return Feedback("scored", {"outcome": 0.0}, info={"score": self.score})


def test_info_values_of_different_kinds_are_kept_as_each_slot_gave_them(vector_cls):
    # An int first made an int array: a later slot's 0.75 read as 0, its True as 1, its None as
    # 0, its "high" raised ValueError out of step() for every slot.
    scores = [3, 0.75, True, "high", None]
    envs = vector_cls([lambda score=score: ScoringEnv(score) for score in scores])
    try:
        envs.reset(seed=0)
        _, _, _, _, infos = envs.step(["go"] * len(scores))
    finally:
        envs.close()
    assert infos["score"].tolist() == scores
    assert [type(value) for value in infos["score"][2:]] == [bool, str, type(None)]
    assert infos["_score"].all()


def test_numbers_of_one_kind_and_another_widen_to_hold_both(vector_cls):
    envs = vector_cls([lambda: ScoringEnv(2), lambda: ScoringEnv(0.5), lambda: ScoringEnv(7)])
    try:
        envs.reset(seed=0)
        _, _, _, _, infos = envs.step(["go"] * 3)
    finally:
        envs.close()
    assert infos["score"].tolist() == [2.0, 0.5, 7.0]
    assert infos["score"].dtype == np.float64


def test_array_infos_of_different_shapes_are_each_kept():
    from agentgym.vector import ThreadVectorEnv

    values = [np.arange(3), np.arange(2), np.arange(3)]
    envs = ThreadVectorEnv([lambda value=value: ScoringEnv(value) for value in values])
    try:
        envs.reset(seed=0)
        _, _, _, _, infos = envs.step(["go"] * 3)
    finally:
        envs.close()
    assert [list(value) for value in infos["score"]] == [[0, 1, 2], [0, 1], [0, 1, 2]]


def test_a_value_none_after_a_bool_stays_none_and_slots_without_the_key_hold_none():
    from agentgym.vector import ThreadVectorEnv

    envs = ThreadVectorEnv([lambda: ScoringEnv(False), EchoEnv, lambda: ScoringEnv(None)])
    try:
        envs.reset(seed=0)
        _, _, _, _, infos = envs.step(["go"] * 3)
    finally:
        envs.close()
    assert infos["score"].tolist() == [False, None, None]
    assert infos["_score"].tolist() == [True, False, True]


@pytest.mark.parametrize("seed", [[1.5, 2], ["3", 4], [b"1", None], True, [True, 2], {1: "a", 2: "b"}, {5, 6}])
def test_a_seed_list_holding_no_int_is_refused_not_turned_into_failed_environments(vector_cls, seed):
    # [1.5, 2] reached slot 0's reset, whose ConfigError became an error result that threw the
    # environment away (rebuilt at the next reset); True seeded as 1, a dict by its keys, a set
    # in whatever order it iterates.
    factories = [Factory(EchoEnv) for _ in range(2)]
    with closing(vector_cls(factories)) as envs:
        with pytest.raises(ValueError, match=r"seed must be an int, a list of one int or None per "
                                             r"sub-environment \(2\), or None, got "):
            envs.reset(seed=seed)
        observations, infos = envs.reset(seed=np.array([4, 5]))
    assert "error" not in infos
    assert [len(factory.built) for factory in factories] == [1, 1]


def test_make_vec_names_the_argument_that_cannot_go_to_a_child_process():
    # The refusal blamed "factory 0" and told make_vec's user, who wrote no factory, to use
    # functools.partial(agentgym.make, ...) instead of a lambda: what make_vec does already.
    import threading

    from agentgym.vector import make_vec

    with pytest.raises(TypeError, match=r"isolation='process' sends make_vec's arguments to each child process, "
                                        r"and wrappers=\[<function .* cannot be pickled \(.*lambda.*\)") as raised:
        make_vec("games/GuessTheNumber-v0", 2, isolation="process", wrappers=[lambda env: env])
    assert "factory" not in str(raised.value)
    with pytest.raises(TypeError, match=r"and lock=<unlocked _thread.lock.*> cannot be pickled"):
        make_vec("games/GuessTheNumber-v0", 2, isolation="process", difficulty="easy", lock=threading.Lock())


@pytest.mark.parametrize("actions", [{"x": "stop", "y": "go"}, {0: "stop", 1: "go"}, {"stop", "go"}])
def test_a_dict_or_a_set_of_actions_is_refused_not_played_by_its_keys(vector_cls, actions):
    # {0: "stop", 1: "go"} played the keys 0 and 1 as the actions; a set gave each slot whichever
    # element its iteration order put there.
    with closing(vector_cls([Factory(EchoEnv) for _ in range(2)])) as envs:
        envs.reset(seed=0)
        with pytest.raises(ValueError, match=r"step\(\) takes one action per sub-environment \(2\) in order, got "):
            envs.step(actions)
        observations, *_ = envs.step(["go", "on"])
    assert list(observations) == ["echo go (turn 1)", "echo on (turn 1)"]


@pytest.mark.parametrize("actions", [None, 5, np.array("go")])
def test_actions_that_are_no_batch_are_refused_naming_the_argument(vector_cls, actions):
    # They raised Gymnasium's CustomSpaceError ('Could not iterate through Tuple(UnicodeText(0,
    # 100000), ...) as no custom iterate function is registered ...').
    with closing(vector_cls([Factory(EchoEnv) for _ in range(2)])) as envs:
        envs.reset(seed=0)
        with pytest.raises(ValueError, match=r"step\(\) takes one action per sub-environment \(2\), got "):
            envs.step(actions)


@pytest.mark.parametrize("options", [5, "reset_mask", [1], ("difficulty", "easy")])
def test_options_that_are_no_dict_are_refused_not_turned_into_failed_environments(vector_cls, options):
    # [1] reached every slot's reset, whose ConfigError became an error result that threw each
    # environment away; 5 raised "argument of type 'int' is not iterable".
    factories = [Factory(EchoEnv) for _ in range(2)]
    with closing(vector_cls(factories)) as envs:
        with pytest.raises(TypeError, match=r"options must be a dict or None, got "):
            envs.reset(seed=0, options=options)
        _, infos = envs.reset(seed=0, options={})
    assert "error" not in infos
    assert [len(factory.built) for factory in factories] == [1, 1]


class InterruptingEnv(EchoEnv):
    """``"interrupt"`` simulates Ctrl-C in the main thread (which waits in ``step()``);
    ``"hold"`` waits for ``release`` (at most PATIENCE_S)."""

    def __init__(self, release: threading.Event, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.release = release

    def play(self, action: str) -> Feedback:
        if action == "interrupt":
            _thread.interrupt_main()
        if action == "hold":
            self.release.wait(PATIENCE_S)
        return super().play(action)


@pytest.fixture
def ctrl_c_raises():
    """SIGINT handled as Python's KeyboardInterrupt for the test: a process started in the
    background of a non-interactive shell (CI's) ignores SIGINT, and interrupt_main() then does
    nothing."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_ctrl_c_during_step_leaves_the_vector_env_usable(vector_cls, release, ctrl_c_raises):
    # The interrupted batch kept its lock for good: every later step() raised "astep() was called
    # while another reset/step was running".
    envs = vector_cls([Factory(InterruptingEnv, release=release) for _ in range(2)], step_timeout=30)
    try:
        envs.reset(seed=0)
        with pytest.raises(KeyboardInterrupt):
            envs.step(["interrupt", "hold"])
        release.set()
        observations, _, _, truncations, _ = envs.step(["go", "on"])
        assert len(observations) == 2 and not truncations.any()
    finally:
        envs.close()


class EnteringEnv(InterruptingEnv):
    """:class:`InterruptingEnv` that says (``entered``) when a ``"hold"`` has begun."""

    def __init__(self, entered: threading.Event, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entered = entered

    def play(self, action: str) -> Feedback:
        if action == "hold":
            self.entered.set()
        return super().play(action)


@pytest.mark.parametrize("mode", ["NextStep", "SameStep", "Disabled"])
def test_a_cancelled_astep_ends_the_episodes_it_was_running(vector_cls, release, mode):
    # Cancelled from outside (asyncio.wait_for, a task group), the batch's steps still ran in their
    # threads and their results were lost: the next step played turn 2 of episodes whose turn 1
    # the caller never saw ('echo on (turn 2)'), or stepped an episode that had ended.
    entered = threading.Event()
    envs = vector_cls([Factory(EnteringEnv, release=release, entered=entered) for _ in range(2)],
                      step_timeout=30, autoreset_mode=mode)

    async def main():
        await envs.areset(seed=0)
        batch = asyncio.ensure_future(envs.astep(["stop", "hold"]))
        for _ in range(500):
            if entered.is_set():
                break
            await asyncio.sleep(0.01)
        batch.cancel()
        with pytest.raises(asyncio.CancelledError):
            await batch
        release.set()
        if mode == "Disabled":
            with pytest.raises(ResetNeeded, match=r"sub-environments \[0, 1\] ended their episodes"):
                await envs.astep(["go", "on"])
            return await envs.areset(options={"reset_mask": np.array([True, True])}), None
        return await envs.astep(["go", "on"]), await envs.astep(["go", "on"])

    try:
        after_cancel, next_step = asyncio.run(main())
    finally:
        envs.close()
    observations = after_cancel[0]
    assert [observation.startswith("episode start") for observation in observations] == [True, True]
    if next_step is not None:
        _, rewards, terminations, truncations, _ = after_cancel
        assert rewards.tolist() == [0.0, 0.0] and not terminations.any() and not truncations.any()
        assert list(next_step[0]) == ["echo go (turn 1)", "echo on (turn 1)"]


class BadCloseEnv(EchoEnv):
    def close(self) -> None:
        super().close()
        raise OSError("disk gone")


def test_a_close_that_reraises_an_environments_error_still_closes_the_vector_env(vector_cls):
    # closed stayed False: step() and reset() then ran on the closed handles ('Environment error:
    # step on a closed environment handle' in every slot) on a fresh private loop nobody closed.
    factories = [Factory(EchoEnv), Factory(BadCloseEnv)]
    envs = vector_cls(factories)
    envs.reset(seed=0)
    with pytest.raises(OSError, match="disk gone"):
        envs.close()
    assert envs.closed
    assert [factory.built[0].was_closed for factory in factories] == [True, True]
    with pytest.raises(RuntimeError, match="is closed"):
        envs.step(["a", "b"])
    with pytest.raises(RuntimeError, match="is closed"):
        envs.reset(seed=0)
    envs.close()  # quiet: already closed


def _broken_factory():
    raise ValueError("bad config")


def test_a_construction_error_is_not_replaced_by_the_close_error_of_an_environment_built_beside_it(vector_cls):
    # The constructor closes what it built before raising; a close that raised (OSError: disk
    # gone) replaced the factory's own error, which the caller needs.
    with pytest.raises(ValueError, match="bad config") as raised:
        vector_cls([Factory(BadCloseEnv), _broken_factory])
    assert any("OSError: disk gone" in note for note in getattr(raised.value, "__notes__", []))


def _no_environment():
    return None


def test_factories_that_return_no_environment_make_the_constructor_raise_naming_them(vector_cls):
    # Every slot's None raised a bare StopIteration out of the constructor; one slot's None was
    # built without a word, and each of its resets failed ("'NoneType' object has no attribute").
    for factories in ([_no_environment, _no_environment], [Factory(EchoEnv), _no_environment]):
        with pytest.raises(TypeError, match=r"the environment factory <function _no_environment at .*> returned "
                                            r"None, not an environment"):
            vector_cls(factories)


@pytest.mark.parametrize("isolation", ["thread", "process"])
def test_environments_given_instead_of_factories_are_refused_saying_what_to_pass(vector_cls, isolation):
    # [EchoEnv(), EchoEnv()] raised "'EchoEnv' object is not callable" (under process isolation
    # from a child process started for it), without a word of what env_fns must hold.
    with pytest.raises(TypeError, match=r"env_fns\[0\] is <.*EchoEnv.*>, not a factory: pass zero-argument "
                                        r"callables that build the environments"):
        vector_cls([EchoEnv(), EchoEnv()], isolation=isolation)
