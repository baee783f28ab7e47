"""Exploratory round 7: the non-model policies, policy specs and the hub check, met the way a
demanding user meets them (hostile configuration, odd arguments)."""

from __future__ import annotations

import pytest

from agentgym.policies.base import Request
from agentgym.policies.hub import hub_reachable, loadable_source
from agentgym.policies.scripted import ScriptedAgent, ScriptedPolicy


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
