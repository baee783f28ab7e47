"""Exploratory round 7: the non-model policies, policy specs and the hub check, met the way a
demanding user meets them (hostile configuration, odd arguments)."""

from __future__ import annotations

import json

import pytest

from agentgym import Feedback, LLMEnv, Tool, register
from agentgym.policies.base import Generation, Policy, Request, SamplingParams
from agentgym.policies.hub import hub_reachable, loadable_source
from agentgym.policies.scripted import ScriptedAgent, ScriptedPolicy
from agentgym.policies.teacher_forced import TeacherForcedPolicy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.wrappers import ToolCalling
from tests.rewards.tiny_lm import tiny_tokenizer


def _no_proxy(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy",
                 "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("endpoint", ["https://hub.example:abc", "https://hub.example:99999", "http://[::1"],
                         ids=["port-not-a-number", "port-out-of-range", "broken-ipv6"])
def test_a_malformed_hf_endpoint_is_an_unreachable_hub_not_a_crash(endpoint, monkeypatch, tmp_path):
    """``hub_reachable`` answers a bool; a malformed ``HF_ENDPOINT`` (a mistyped mirror) is a hub
    that cannot be reached, and an uncached name then fails saying so, naming the endpoint."""
    _no_proxy(monkeypatch)
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    assert hub_reachable(timeout=0.5) is False
    with pytest.raises(OSError, match="not in the local Hugging Face cache") as raised:
        loadable_source("tiny-org/not-downloaded", is_folder=False)
    assert endpoint in str(raised.value)


@pytest.mark.parametrize("make", [lambda replies: ScriptedPolicy(replies), lambda replies: ScriptedAgent(replies)],
                         ids=["policy", "agent"])
def test_a_script_given_as_one_string_is_refused_not_played_letter_by_letter(make):
    """``ScriptedPolicy("guess 7")`` played ``g``, ``u``, ``e``... one letter a turn, silently."""
    with pytest.raises(TypeError, match="list of replies"):
        make("guess 7")
    with pytest.raises(TypeError, match="reply 1 must be a string, got int"):
        make(["guess 5", 7])


def test_scripted_replies_are_texts_and_a_list_or_generator_plays_in_order():
    with pytest.raises(TypeError, match="then"):
        ScriptedPolicy(["a"], then=None)
    policy = ScriptedPolicy(reply for reply in ["first", "second"])
    conversation = [{"role": "user", "content": "go"}]
    assert policy.generate([Request(conversation)])[0].text == "first"
    later = conversation + [{"role": "assistant", "content": "first"}, {"role": "user", "content": "again"}]
    assert policy.generate([Request(later)])[0].text == "second"
    agent = ScriptedAgent(["x", "y"], then="z")
    assert [agent(None, "obs") for _ in range(3)] == ["x", "y", "z"]


# ---------------------------------------------------------------- teacher forcing
class _Lookup(LLMEnv):
    instructions = "Use the lookup tool, then answer."
    tools = (Tool("lookup", "Look a word up.", lambda word="": f"{word}: a thing"),)

    def new_episode(self, options):
        return "What is a zebra?"

    def play(self, action):
        return Feedback("ok", {"outcome": 1.0})


register("testing/TeacherForcedLookup-v0", _Lookup, max_turns=3)

_CALL = {"id": "call-1", "type": "function", "function": {"name": "lookup", "arguments": json.dumps({"word": "zebra"})}}


class _NativeToolCaller(Policy):
    """What an OpenAI-compatible server answers a model calling a tool natively: the call in
    ``tool_calls``, the text empty; then a plain answer."""

    name = "hosted"

    async def agenerate(self, requests, sampling):
        return [Generation("", tool_calls=[_CALL]) if not any(m["role"] == "assistant" for m in r.messages)
                else Generation("A zebra is a thing.") for r in requests]


def test_teacher_forcing_a_native_tool_call_is_an_error_not_an_empty_reply():
    """The student's tokens were the empty text and the end of turn: the recorded token-exact
    trajectory had the student say nothing while the tool ran (the call was in no token), the
    behaviour a fine-tune on it clones. A reply with native tool calls now fails alone, saying
    how to teacher-force one; its batch-mates keep their tokens."""
    tokenizer = tiny_tokenizer()
    teacher = TeacherForcedPolicy(_NativeToolCaller(), tokenizer)
    first = [{"role": "user", "content": "What is a zebra?"}]
    later = first + [{"role": "assistant", "content": ""}, {"role": "tool", "content": "zebra: a thing"}]
    call, answer = teacher.generate([Request(first), Request(later)])
    assert call.finish_reason == "error" and call.token_ids is None
    assert "native tool calls" in call.error and "as text" in call.error
    assert answer.token_ids == [*tokenizer.encode("A zebra is a thing.", add_special_tokens=False),
                                tokenizer.eos_token_id]
    (trajectory,) = rollout(teacher, [Task("testing/TeacherForcedLookup-v0", 0)],
                            RolloutConfig(wrappers=(ToolCalling,), sampling=SamplingParams(max_tokens=64)),
                            progress=False).trajectories
    assert trajectory.error is not None and "native tool calls" in trajectory.error and not trajectory.turns
