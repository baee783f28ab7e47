"""Exploratory findings (round 15) on the policy server, over real sockets."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from agentgym.policies.base import Generation, Policy
from agentgym.serve import running_server


class CancelledInside(Policy):
    """Answers ``"fine"``, except for the last message ``"cancel"``: its agenerate raises
    ``CancelledError`` though the server cancelled nothing (a task it awaited was cancelled by
    someone else, a shared client shut down under it)."""

    name = "cancelled-inside"
    tokenizer = None

    async def agenerate(self, requests, sampling):
        if requests[0].messages[-1]["content"] == "cancel":
            raise asyncio.CancelledError()
        return [Generation(text="fine", finish_reason="stop") for _ in requests]


@pytest.fixture(scope="module")
def client():
    with running_server(CancelledInside()) as url, httpx.Client(base_url=url, timeout=5) as client:
        yield client


def _chat(client, content):
    return client.post("/chat/completions", json={"messages": [{"role": "user", "content": content}]})


def test_a_policy_that_raises_cancelled_error_of_its_own_fails_the_request_instead_of_hanging_it(client):
    # The worker took the policy's CancelledError for the server's own cancellation of a batch
    # whose clients all left: the batch was dropped without an answer, and its requests waited
    # for ever (here: the client's read timeout).
    answer = _chat(client, "cancel")
    assert answer.status_code == 500, answer.text
    assert "CancelledError" in answer.json()["error"]["message"]
    after = _chat(client, "hello")  # the worker serves on
    assert after.status_code == 200 and after.json()["choices"][0]["message"]["content"] == "fine"
