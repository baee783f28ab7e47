"""Exploratory tests, third round: OpenAIPolicy against servers that answer oddly."""

from __future__ import annotations

import re

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from agentgym.policies.base import Request, SamplingParams
from agentgym.policies.openai_compat import OpenAIPolicy
from agentgym.serve import running_server


def test_a_redirect_is_named_with_its_status_and_location_not_as_invalid_json():
    """A server that redirects (http to https, a moved path) was reported as having 'answered
    with invalid JSON: ''', which says nothing of where the policy should point."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def moved():
        return RedirectResponse("https://models.example/v1/chat/completions", status_code=308)

    with running_server(app) as base_url:
        policy = OpenAIPolicy(base_url, "m", max_retries=0)
        (generation,) = policy.generate([Request([{"role": "user", "content": "hi"}])], SamplingParams(max_tokens=4))
        policy.close()
    assert generation.finish_reason == "error"
    assert "HTTP 308" in generation.error and "https://models.example/v1/chat/completions" in generation.error
    assert "invalid JSON" not in generation.error


def test_token_ids_that_are_not_integers_are_a_malformed_answer():
    """Token ids of a malformed answer (strings, nulls) made a token-exact generation of them;
    the trainer, or the transcript's tokenizer, failed on them later, far from the cause."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(body: dict):
        return {"model": "m", "prompt_token_ids": [1, 2],
                "choices": [{"index": 0, "finish_reason": "stop", "token_ids": ["7", None],
                             "message": {"role": "assistant", "content": "x"}}]}

    with running_server(app) as base_url:
        policy = OpenAIPolicy(base_url, "m", max_retries=0, return_token_ids=True)
        (generation,) = policy.generate([Request([{"role": "user", "content": "hi"}])], SamplingParams(max_tokens=4))
        policy.close()
    assert generation.finish_reason == "error" and generation.token_ids is None
    assert "token ids that are not integers" in generation.error


def test_teacher_forcing_a_reply_with_a_lone_surrogate_keeps_the_rest_of_the_batch():
    """A reply holding a lone surrogate (a hosted model's broken JSON escape) made the
    tokenizer raise out of agenerate, so every request of the call failed with 'TypeError:
    TextEncodeInput must be ...'. It is tokenised as U+FFFD, as observations and chat prompts
    are, and a reply that still cannot be tokenised fails alone."""
    from agentgym.policies.base import Generation, Policy
    from agentgym.policies.teacher_forced import TeacherForcedPolicy
    from tests.rewards.tiny_lm import tiny_tokenizer

    class Replies(Policy):
        name = "replies"

        async def agenerate(self, requests, sampling):
            return [Generation(request.messages[-1]["content"]) for request in requests]

    class Picky:  # a tokenizer that fails on one text
        eos_token_id = 0

        def encode(self, text, add_special_tokens=False):
            if "refused" in text:
                raise ValueError("cannot tokenise this")
            return [1] * len(text)

    tokenizer = tiny_tokenizer()
    fine, broken = TeacherForcedPolicy(Replies(), tokenizer).generate(
        [Request([{"role": "user", "content": "fine"}]), Request([{"role": "user", "content": "a \ud800 b"}])])
    assert fine.token_ids == [*tokenizer.encode("fine", add_special_tokens=False), tokenizer.eos_token_id]
    assert broken.error is None and broken.text == "a \ud800 b"
    assert broken.token_ids[:-1] == tokenizer.encode("a \ufffd b", add_special_tokens=False)
    kept, refused = TeacherForcedPolicy(Replies(), Picky()).generate(
        [Request([{"role": "user", "content": "kept"}]), Request([{"role": "user", "content": "refused"}])])
    assert kept.token_ids == [1, 1, 1, 1, 0]
    assert refused.finish_reason == "error" and "cannot tokenise this" in refused.error


@pytest.mark.parametrize("option, value, message", [
    ("max_retries", 1.5, "max_retries must be an integer >= 0, got 1.5"),
    ("max_retries", True, "max_retries must be an integer >= 0, got True"),
    ("max_concurrency", "8", "max_concurrency must be an integer >= 1, got '8'"),
    ("max_concurrency", 2.5, "max_concurrency must be an integer >= 1, got 2.5"),
    ("timeout", 0, "timeout must be a finite positive number of seconds, got 0"),
    ("timeout", float("nan"), "timeout must be a finite positive number of seconds, got nan"),
    ("retry_delay", -1, "retry_delay must be a finite number of seconds >= 0, got -1"),
    ("max_retry_delay", "30", "max_retry_delay must be a finite number of seconds >= 0, got '30'"),
])
def test_openai_policy_refuses_counts_and_delays_that_are_none_when_made(option, value, message):
    """max_retries=1.5 was accepted and never equalled the attempt count: a failing server was
    retried forever (30 s apart), not max_retries times; the others failed at the first request
    ("'<' not supported", a semaphore of 2.5 slots, an immediate timeout)."""
    with pytest.raises(ValueError, match=re.escape(f"OpenAIPolicy: {message}")):
        OpenAIPolicy("http://127.0.0.1:9/v1", "m", **{option: value})
    policy = OpenAIPolicy("http://127.0.0.1:9/v1", "m", max_retries=np.int64(2), max_concurrency=np.int64(3))
    assert (policy.max_retries, policy.max_concurrency) == (2, 3) and type(policy.max_retries) is int
