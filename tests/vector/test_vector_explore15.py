"""Exploratory tests, round 15: vector infos whose slots give a dict for a key that others give
a plain value for; seeds no environment can take."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from vector_test_envs import EchoEnv, Factory, RaisingEnv

from agentgym import Feedback
from agentgym.vector import ThreadVectorEnv


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
