"""dialogue/ClinicalInterviewTools-v0 through agentgym.make: ask, order_test and diagnose as tool
calls, each a full turn of the interview."""

from __future__ import annotations

import json

import pytest

import agentgym
from agentgym.envs.dialogue.clinical.tools import ClinicalToolCalling
from agentgym.policies.base import Policy
from agentgym.testing import check_llm_env
from agentgym.tools.formats import HermesFormat
from agentgym.wrappers import ToolCalling, TurnLimit

HERMES = HermesFormat()


def _make(**kwargs):
    env = agentgym.make("dialogue/ClinicalInterviewTools-v0", difficulty="easy", **kwargs)
    env.reset(seed=0, options={"condition": "strep throat"})
    return env


def _call(tool, **arguments):
    return HERMES.render(tool, arguments)


def test_make_builds_one_tool_calling_inside_the_turn_limit():
    env = _make()
    assert isinstance(env, TurnLimit) and isinstance(env.env, ClinicalToolCalling)
    layers, layer = [], env
    while hasattr(layer, "env"):
        layers.append(layer)
        layer = layer.env
    assert sum(isinstance(w, ToolCalling) for w in layers) == 1
    _, info = env.reset(seed=0)
    assert [tool["function"]["name"] for tool in info["tools"]] == ["ask", "order_test", "diagnose"]
    assert "ask(question)" in info["instructions"]


def test_a_tool_turn_carries_the_interview_fields():
    env = _make()
    observation, reward, terminated, _, info = env.step(_call("ask", question="Any fever or cough?"))
    assert observation.startswith("<tool_response>\nYes, I've been feverish") and reward == 0.0 and not terminated
    assert info["revealed"] == {"fever": True, "cough": False} and info["presenting"] == {"sore_throat": True}
    assert info["responder"]["facts"] == ["fever", "cough"] and info["tool_results"][0]["ok"]
    observation, reward, _, _, info = env.step(_call("order_test", name="Rapid Strep"))
    assert "Rapid strep test: positive." in observation and reward == pytest.approx(-0.03)
    assert info["reward_components"] == {"test_cost": -0.03} and info["revealed"] == {"rapid_strep": True}
    assert env.unwrapped.turns_used == 2


def test_diagnose_ends_the_episode_with_the_outcome_and_tool_statistics():
    env = _make()
    observation, reward, terminated, truncated, info = env.step(_call("diagnose", condition="Strep Throat"))
    assert terminated and not truncated and reward == 1.0 and info["success"]
    assert "Correct: the diagnosis is strep throat." in observation and info["diagnosis"] == "strep throat"
    assert info["episode"]["tools"]["calls"] == {"diagnose": 1} and not env.unwrapped.episode_active


def test_failed_calls_plain_text_and_a_second_action_use_no_turn():
    env = _make()
    _, reward, _, _, info = env.step(_call("order_test", name="MRI"))
    assert not info["tool_results"][0]["ok"] and "no test of that name" in info["error"]
    assert info["revealed"] == {} and env.unwrapped.turns_used == 0
    observation, _, _, _, info = env.step("Do you have a fever?")
    assert info["error_kind"] == "format" and "ask(question)" in observation and env.unwrapped.turns_used == 0
    two = _call("ask", question="Any fever?") + _call("ask", question="Any cough?")
    _, _, _, _, info = env.step(two)
    first, second = info["tool_results"]
    assert first["ok"] and not second["ok"] and "one action per turn" in second["content"]
    assert info["revealed"] == {"fever": True} and env.unwrapped.turns_used == 1
    _, _, _, _, info = env.step("<tool_call>{not json</tool_call>")
    assert info["error_kind"] == "format" and info["revealed"] == {}


def test_a_failing_patient_fails_the_call_and_uses_no_turn():
    class Down(Policy):
        name = "down"

        async def agenerate(self, requests, sampling):
            raise ConnectionError("no route to the model")

    env = _make(responder=Down())
    _, reward, terminated, _, info = env.step(_call("ask", question="Any fever?"))
    assert not info["tool_results"][0]["ok"] and "no route to the model" in info["error"]
    assert info["responder"]["error"].startswith("ConnectionError") and info["revealed"] == {}
    assert env.unwrapped.turns_used == 0 and not terminated and reward == 0.0


def test_the_budget_ends_a_tool_episode():
    env = _make(turn_budget=2)
    env.step(_call("ask", question="Any fever?"))
    observation, reward, terminated, _, info = env.step(_call("ask", question="Any cough?"))
    assert terminated and not info["success"] and info["out_of_turns"] and reward == 0.0
    assert "The visit is over without a diagnosis" in observation


def test_the_oracle_wins_through_the_tools():
    env = agentgym.make("dialogue/ClinicalInterviewTools-v0", difficulty="easy")
    wins = 0
    for seed in range(20):
        env.reset(seed=seed)
        done = False
        while not done:
            action = env.unwrapped.oracle_action()
            assert json.loads(action.removeprefix("<tool_call>").removesuffix("</tool_call>"))["name"] in (
                "ask", "order_test", "diagnose")
            _, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
            assert info["error"] is None
        wins += info["success"]
    assert wins >= 17
    assert env.unwrapped.answer_stub.startswith('<tool_call>{"name": "diagnose"')


def test_the_tools_environment_passes_the_checks():
    env = agentgym.make("dialogue/ClinicalInterviewTools-v0", difficulty="medium")
    check_llm_env(env, hostile=100)
    env.close()


def test_unknown_arguments_are_named():
    with pytest.raises(ValueError, match="unknown argument"):
        agentgym.make("dialogue/ClinicalInterviewTools-v0", no_such_option=1)
    with pytest.raises(ValueError, match="action_format must be 'tools'"):
        agentgym.make("dialogue/ClinicalInterviewTools-v0", action_format="text")
