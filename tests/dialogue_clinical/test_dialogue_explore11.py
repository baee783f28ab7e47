"""Defects found by exploratory testing (round 11) of the dialogue environments."""

from __future__ import annotations

import pytest

import agentgym


def _ready_to_answer(env_id: str):
    """An episode where the oracle has asked what it needs; returns it and the oracle's answer."""
    env = agentgym.make(env_id, difficulty="easy")
    env.reset(seed=0)
    while not (action := env.unwrapped.oracle_action()).startswith("answer:"):
        env.step(action)
    return env, action[len("answer:"):].strip()


@pytest.mark.parametrize("said, asserts", [("it isn't true", False), ("it isn’t false", True),
                                           ("it can't be true", False), ("it cannot be true", False),
                                           ("it cannot be false", True), ("never true", False),
                                           ("it doesn't hold: false", False)])
def test_logic_q_reads_a_contracted_negation_as_its_opposite(said, asserts):
    """``answer: it isn't true`` (``can't be``, ``cannot be``, ``never``) asserts false and is
    judged so -- it was read as ``true``, rewarding the opposite of what the agent said."""
    env, answer = _ready_to_answer("dialogue/LogicQ-v0")
    _, reward, terminated, _, info = env.step(f"answer: {said}")
    assert terminated and info["error"] is None
    assert info["success"] == (asserts == (answer == "true"))
    env.close()
