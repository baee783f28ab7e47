"""Exploratory findings on the policy server: a policy whose ``agenerate`` returns the wrong
thing (``None``, a single Generation, too few generations) or raises SystemExit is a 500 for
that request, and the requests after it are served; the worker used to hang them for ever."""

from __future__ import annotations

import httpx
import pytest

from agentgym.policies.base import Generation, Policy
from agentgym.serve import running_server


class Careless(Policy):
    """Answers ``"fine"``, except for the last message ``"none"`` (returns None), ``"single"``
    (one Generation, not a list), ``"short"`` (no generation at all), ``"exit"`` (SystemExit)."""

    name = "careless"
    tokenizer = None

    async def agenerate(self, requests, sampling):
        content = requests[0].messages[-1]["content"]
        if content == "none":
            return None
        if content == "single":
            return Generation(text="one", finish_reason="stop")
        if content == "short":
            return []
        if content == "exit":
            raise SystemExit(3)
        return [Generation(text="fine", finish_reason="stop") for _ in requests]


@pytest.fixture(scope="module")
def client():
    with running_server(Careless()) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client


def _chat(client, content):
    return client.post("/chat/completions", json={"messages": [{"role": "user", "content": content}]})


@pytest.mark.parametrize("content, reason", [
    ("none", "careless returned NoneType for 1 request"),
    ("single", "careless returned Generation for 1 request"),
    ("short", "careless returned 0 generations for 1 request"),
    ("exit", "SystemExit(3)"),
])
def test_a_policy_returning_the_wrong_thing_is_a_500_and_the_server_serves_on(client, content, reason):
    answer = _chat(client, content)  # hung (a ReadTimeout) before
    assert answer.status_code == 500 and reason in answer.json()["error"]["message"], answer.text
    after = _chat(client, "hello")  # the worker lives on: the next request is served
    assert after.status_code == 200 and after.json()["choices"][0]["message"]["content"] == "fine"
