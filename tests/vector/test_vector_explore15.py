"""Exploratory tests, round 15: vector infos whose slots give a dict for a key that others give
a plain value for; seeds no environment can take; what call() says of a slot without an
environment; close() beside an astep() running in another thread; error observations of a
sequence of messages; reset options that cannot reach child processes; np_random_seed."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from vector_test_envs import PATIENCE_S, EchoEnv, Factory, RaisingEnv, SleepingEnv

from agentgym import Feedback
from agentgym.vector import ThreadVectorEnv, hung_thread_count


class DetailEnv(EchoEnv):
    """Each step reports ``info["tool_call"] = detail`` (a dict for one slot, ``None`` or text
    for another, as a tool-calling environment reports a call or none)."""

    def __init__(self, detail: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.detail = detail

    def play(self, action: str) -> Feedback:
        return Feedback("done", {"outcome": 0.0}, info={"tool_call": self.detail})


def test_a_key_some_slots_give_as_a_dict_and_others_not_keeps_each_slots_value():
    # A plain value first made an object array, and a later slot's dict raised
    # "'numpy.ndarray' object has no attribute 'get'" out of step(), after every slot had
    # stepped; a dict first made a nested vector info, and a later slot's value was stored
    # in it under the key 1 ({'name': array([...]), '_name': ..., 1: None}).
    call = {"name": "search", "args": {"q": "x"}}
    details = [None, call, "no tool", call]
    envs = ThreadVectorEnv([lambda detail=detail: DetailEnv(detail) for detail in details])
    try:
        envs.reset(seed=0)
        _, _, _, _, infos = envs.step(["go"] * 4)
        envs.reset(seed=0)
        _, _, _, _, reversed_infos = envs.step(["go"] * 4)
    finally:
        envs.close()
    assert infos["tool_call"].tolist() == details
    assert infos["_tool_call"].tolist() == [True] * 4
    assert reversed_infos["tool_call"].tolist() == details


def test_a_dict_first_then_plain_values_keeps_each_slots_value():
    call = {"name": "search", "args": {"q": "x"}, "calls": 2}
    details = [call, None, {"name": "look"}, 5]
    envs = ThreadVectorEnv([lambda detail=detail: DetailEnv(detail) for detail in details])
    try:
        envs.reset(seed=0)
        _, _, _, _, infos = envs.step(["go"] * 4)
    finally:
        envs.close()
    assert infos["tool_call"].dtype == object
    assert infos["tool_call"].tolist() == details
    assert [type(v["calls"]) for v in infos["tool_call"][:1]] == [int]
    assert infos["_tool_call"].tolist() == [True] * 4


@pytest.mark.parametrize("seed", [-1, [3, -2]])
def test_a_negative_seed_is_refused_not_turned_into_a_failed_environment(seed):
    # reset(seed=-1) reached slot 0's reset, whose "seed must be at least 0" became an error
    # result that threw the environment away (rebuilt at the next reset), the other slots reset.
    factory = Factory(EchoEnv)
    envs = ThreadVectorEnv([factory, EchoEnv])
    try:
        with pytest.raises(ValueError, match="seed must be at least 0"):
            envs.reset(seed=seed)
        observations, infos = envs.reset(seed=0)
    finally:
        envs.close()
    assert "_error" not in infos or not infos["_error"].any()
    assert len(factory.built) == 1  # never thrown away
    assert all(observation.startswith("episode start") for observation in observations)


class _FailsToRebuild:
    """Builds a :class:`RaisingEnv` once; every later build raises ``OSError("disk gone")``."""

    def __init__(self) -> None:
        self.builds = 0

    def __call__(self) -> RaisingEnv:
        self.builds += 1
        if self.builds > 1:
            raise OSError("disk gone")
        return RaisingEnv()


def test_get_attr_on_a_slot_whose_rebuild_raised_says_what_happened_not_that_it_hung():
    # The refusal said "sub-environments [0] hung and were abandoned" whatever had dropped the
    # environment: here nothing hung (its step raised, then its rebuild raised).
    envs = ThreadVectorEnv([_FailsToRebuild(), EchoEnv])
    try:
        envs.reset(seed=0)
        envs.step(["explode", "go"])
        _, _, _, _, infos = envs.step(["go", "go"])
        assert infos["error"][0] == "reset raised OSError: disk gone"
        with pytest.raises(RuntimeError) as refused:
            envs.get_attr("instructions")
    finally:
        envs.close()
    message = str(refused.value)
    assert "hung and were abandoned" not in message
    assert "dropped after a failure" in message
    assert message.startswith("sub-environments [0] have no environment now")


class GatedEnv(EchoEnv):
    """Each step says it ``entered`` and then waits for ``release`` (at most ``PATIENCE_S``)."""

    def __init__(self, entered: threading.Event, release: threading.Event, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entered, self.release = entered, release

    def play(self, action: str) -> Feedback:
        self.entered.set()
        self.release.wait(PATIENCE_S)
        return super().play(action)


def test_close_from_another_thread_waits_for_an_astep_running_on_an_event_loop():
    # close() waited for a step() running in another thread, but not for an `await astep()`
    # running on an event loop in another thread (a rollout's loop, the program closing from
    # its main thread): it took both slots' busy threads for hung ones and abandoned them
    # (hung_thread_count() rose by 2, counted against every vector env's cap), closed nothing
    # itself, and the closed vector env then returned the step's results.
    entered = [threading.Event(), threading.Event()]
    release = threading.Event()
    built: list[GatedEnv] = []

    def factory(i: int) -> GatedEnv:
        built.append(GatedEnv(entered[i], release))
        return built[-1]

    envs = ThreadVectorEnv([lambda: factory(0), lambda: factory(1)], step_timeout=30.0)
    hung = hung_thread_count()
    stepped: list[Any] = []
    closing = threading.Thread(target=envs.close)
    stepping = threading.Thread(target=lambda: stepped.append(asyncio.run(envs.astep(["a", "b"]))))
    try:
        envs.reset(seed=0)
        stepping.start()
        assert all(event.wait(PATIENCE_S) for event in entered)
        closing.start()
        closing.join(0.5)
        still_closing = closing.is_alive()
        hung_while_closing = hung_thread_count()
    finally:
        release.set()
        for thread in (closing, stepping):
            if thread.is_alive():
                thread.join(PATIENCE_S)
        envs.close()
    assert still_closing, "close() returned while the step was still running"
    assert hung_while_closing == hung and hung_thread_count() == hung
    assert [slot.handle.abandoned for slot in envs._slots] == [0, 0]
    assert stepped[0][0] == ("echo a (turn 1)", "echo b (turn 1)")
    assert all(env.was_closed for env in built) and envs.closed


class SequenceEnv(gym.Env):
    """Observations are sequences of messages (``Sequence(Text)``, optionally inside a
    ``Dict``); action 1 raises."""

    def __init__(self, space: spaces.Space) -> None:
        self.observation_space = space
        self.action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        if action == 1:
            raise RuntimeError("boom")
        return self.observation_space.sample(), 0.0, False, False, {}


@pytest.mark.parametrize("space, messages_of", [
    (spaces.Sequence(spaces.Text(200)), lambda observation: observation),
    (spaces.Sequence(spaces.Text(200), stack=True), lambda observation: observation),
    (spaces.Dict({"messages": spaces.Sequence(spaces.Text(200))}), lambda observation: observation["messages"]),
])
def test_a_sequence_of_messages_gets_an_error_observation_that_carries_the_text(space, messages_of):
    # A failed slot of a Sequence(Text) space got the empty sequence: the error text reached
    # nobody reading the observations (a Text space, a Dict's or a Tuple's text fields, a
    # OneOf's text choice carry it).
    envs = ThreadVectorEnv([lambda: SequenceEnv(space)] * 2)
    try:
        envs.reset(seed=0)
        observations, _, _, truncations, infos = envs.step(np.array([1, 0]))
    finally:
        envs.close()
    assert truncations.tolist() == [True, False]
    assert tuple(messages_of(observations)[0]) == (
        "Environment error: step raised RuntimeError: boom. This episode is over.",)


def test_reset_options_that_cannot_go_to_the_child_processes_are_refused_before_any_reset():
    # Under process isolation every slot's reset failed on options holding a lambda ("reset
    # raised TypeError: ... cannot be pickled"), each failure threw its environment's process
    # away, and the next reset started them all again; as options that are no dict are, they are
    # now refused naming the argument, before any environment is reset.
    envs = ThreadVectorEnv([SleepingEnv], isolation="process", step_timeout=60.0)
    try:
        envs.reset(seed=0)
        pid = envs._slots[0].handle.process.pid
        with pytest.raises(TypeError, match=r"isolation='process' sends reset's options to each child process, "
                                            r"and options=\{'hook': <function"):
            envs.reset(options={"hook": lambda: None})
        observations, infos = envs.reset(seed=1, options={"level": 2})
        assert envs._slots[0].handle.process.pid == pid
    finally:
        envs.close()
    assert observations[0].startswith("episode start") and "error" not in infos


def test_np_random_seed_says_each_environments_seed_as_in_gymnasiums_vector_envs():
    # Gymnasium's SyncVectorEnv answers np_random_seed with its environments' seeds, (7, 8)
    # after reset(seed=7); ThreadVectorEnv answered VectorEnv's own random seed, a 39-digit
    # number that no environment was seeded with.
    envs = ThreadVectorEnv([lambda: gym.make("CartPole-v1")] * 2)
    try:
        envs.reset(seed=7)
        seeds = envs.np_random_seed
        generators = envs.np_random
    finally:
        envs.close()
    assert seeds == (7, 8)
    assert [generator.bit_generator.seed_seq.entropy for generator in generators] == [7, 8]
