"""Exploratory findings (round 15) on the policy server, over real sockets."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from agentgym.policies.base import Generation, Policy
from agentgym.serve import running_server
from agentgym.serve.app import create_app


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


def test_a_ready_app_is_served_with_an_api_key_only_when_it_checks_that_very_key():
    # running_server's contract: beyond loopback a ready app's api_key "must be that app's own
    # key". Only the key's presence was checked, so running_server(create_app(policy),
    # host="0.0.0.0", api_key="k") served the model to the network with no key at all, the
    # caller believing "k" guarded it; a key other than the app's was taken too.
    with pytest.raises(ValueError, match="does not check the api_key given"):
        with running_server(create_app(CancelledInside()), host="0.0.0.0", api_key="k"):
            pass
    with pytest.raises(ValueError, match="does not check the api_key given"):
        with running_server(create_app(CancelledInside(), api_key="other"), api_key="k"):
            pass
    with running_server(create_app(CancelledInside(), api_key="k"), api_key="k") as url:
        assert httpx.get(url + "/models", headers={"Authorization": "Bearer k"}, timeout=5).status_code == 200


@pytest.mark.parametrize("option, value", [("default_max_tokens", 0), ("max_tokens_limit", 0), ("max_batch_size", 2.5),
                                           ("max_prompt_chars", -1), ("max_body_bytes", 0), ("max_tokens_limit", True)])
def test_create_app_refuses_a_limit_out_of_range_naming_it(option, value):
    # They were taken: default_max_tokens=0 or max_tokens_limit=0 answered every request 400
    # 'max_tokens must be a positive integer, got 0' (blaming a max_tokens the client never
    # sent), max_prompt_chars=-1 refused every prompt, max_batch_size=2.5 let batches grow without
    # bound (a batch is full at len == 2.5), and max_body_bytes=0 failed only when served ('the
    # policy server did not start', the reason in uvicorn's log).
    with pytest.raises(ValueError, match=option):
        create_app(CancelledInside(), **{option: value})
