"""OpenAIPolicy against real HTTP servers on 127.0.0.1: agentgym's policy server (over a scripted
model, then a tiny random HFPolicy) and small FastAPI apps that fail on purpose."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import time

import pytest
from fastapi import FastAPI, Request as HTTPRequest
from fastapi.responses import JSONResponse

from agentgym.policies.base import Generation, Policy, PolicyError, Request, SamplingParams
from agentgym.policies.openai_compat import OpenAIPolicy
from agentgym.serve import create_app, running_server

TOOLS = [{"type": "function", "function": {"name": "lookup", "description": "look a number up",
                                           "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}}}}]


class ByteTokenizer:
    """UTF-8 bytes as tokens, plus an end-of-text token."""

    eos_token_id = 256

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        return list(text.encode("utf-8"))

    def decode(self, ids, **_) -> str:
        return bytes(i for i in ids if i < 256).decode("utf-8", errors="replace")

    def __len__(self) -> int:
        return 257


class ScriptedModel(Policy):
    """A deterministic stand-in for a model, whose output depends on everything the HTTP path
    must carry: the prompt (messages or token ids), the tools, the seed and the temperature.

    Chat prompts get ``echo <last message> t=<temperature> #<seeded number>``, a
    ``<tool_call>`` block when tools are offered, or a sentence quoting a tool result; token-id
    prompts get ``max_tokens`` seeded random letters. Log-probs are a function of token and seed.
    """

    name = "scripted-model"

    def __init__(self, delay: float = 0.0) -> None:
        self.tokenizer = ByteTokenizer()
        self.delay = delay
        self.seen: list[Request] = []
        self.samplings: list[SamplingParams] = []

    async def agenerate(self, requests, sampling):
        self.seen.extend(requests)
        self.samplings.append(sampling)
        await asyncio.sleep(self.delay)
        return [self._one(request, sampling, i) for i, request in enumerate(requests)]

    def _one(self, request: Request, sampling: SamplingParams, index: int) -> Generation:
        seed = request.seed if request.seed is not None else (sampling.seed or 0) + index
        rng = random.Random(seed)
        tok = self.tokenizer
        if request.prompt_token_ids is not None:
            prompt = list(request.prompt_token_ids)
            ids = [rng.randrange(97, 123) for _ in range(sampling.max_tokens)]
            text, finish = tok.decode(ids), "length"
        else:
            prompt = tok.encode(json.dumps(request.messages))
            last = request.messages[-1]
            if last["role"] == "tool":
                text = f"The tool said {last['content']}."
            elif request.tools:
                name = request.tools[0]["function"]["name"]
                text = f'<tool_call>{{"name": "{name}", "arguments": {{"x": {rng.randrange(100)}}}}}</tool_call>'
            else:
                text = f"echo {last['content']} t={sampling.temperature:g} #{rng.randrange(1000)}"
            ids, finish = tok.encode(text) + [tok.eos_token_id], "stop"
        logprobs = [-((token * 31 + seed) % 97) / 10 - 0.01 for token in ids]
        return Generation(text=text, token_ids=ids, logprobs=logprobs, prompt_token_ids=prompt, finish_reason=finish)


@pytest.fixture(scope="module")
def served():
    model = ScriptedModel()
    with running_server(model) as base_url:
        yield base_url, model


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


# ------------------------------------------------------------------ text mode
def test_text_mode_returns_the_models_text_and_logprobs_but_is_not_token_exact(served):
    base_url, model = served
    policy = OpenAIPolicy(base_url, model.name)
    requests = [Request(user("hello")), Request(user("world"))]
    sampling = SamplingParams(max_tokens=64, temperature=0.7, seed=3)
    generations = policy.generate(requests, sampling)
    expected = model.generate(requests, sampling)  # seeds 3 and 4, as the HTTP requests had
    assert [g.text for g in generations] == [e.text for e in expected]
    assert generations[0].text.startswith("echo hello t=0.7 #")
    assert [g.logprobs for g in generations] == [e.logprobs for e in expected]
    for generation in generations:
        assert generation.finish_reason == "stop" and generation.error is None
        assert generation.token_ids is None and not generation.token_exact


def test_request_seed_overrides_the_batch_seed(served):
    base_url, model = served
    policy = OpenAIPolicy(base_url, model.name)
    [generation] = policy.generate([Request(user("hi"), seed=42)], SamplingParams(seed=7))
    assert generation.text == model.generate([Request(user("hi"), seed=42)])[0].text
    assert generation.text != model.generate([Request(user("hi"))], SamplingParams(seed=7))[0].text


def test_text_mode_with_token_ids_is_token_exact(served):
    base_url, model = served
    policy = OpenAIPolicy(base_url, model.name, return_token_ids=True)
    request, sampling = Request(user("exact")), SamplingParams(seed=5)
    [generation] = policy.generate([request], sampling)
    [expected] = model.generate([request], sampling)
    assert generation.token_exact
    assert generation.token_ids == expected.token_ids and generation.logprobs == expected.logprobs
    assert generation.prompt_token_ids == expected.prompt_token_ids


@pytest.mark.parametrize("token_mode", [False, True])
def test_sampling_parameters_reach_the_model_intact(served, token_mode):
    base_url, model = served
    policy = OpenAIPolicy(base_url, model.name, tokenizer=ByteTokenizer() if token_mode else None)
    sampling = SamplingParams(max_tokens=9, temperature=0.3, top_p=0.8, stop=("\n\n", "END"), logprobs=False)
    policy.generate([Request(user("x"), prompt_token_ids=[1, 2])], sampling)
    assert model.samplings[-1] == sampling  # seeds travel per request, so the batch seed is None
    assert model.seen[-1].prompt_token_ids == ([1, 2] if token_mode else None)


def test_tool_call_round_trip(served):
    base_url, model = served
    policy = OpenAIPolicy(base_url, model.name)
    messages = user("what is x?")
    [first] = policy.generate([Request(messages, tools=TOOLS)], SamplingParams(seed=1))
    assert first.text == "" and first.finish_reason == "stop"
    [call] = first.tool_calls
    assert call["type"] == "function" and call["function"]["name"] == "lookup"
    assert set(json.loads(call["function"]["arguments"])) == {"x"}
    messages = messages + [{"role": "assistant", "content": None, "tool_calls": first.tool_calls},
                           {"role": "tool", "tool_call_id": call["id"], "content": "42"}]
    [second] = policy.generate([Request(messages, tools=TOOLS)], SamplingParams(seed=1))
    assert second.text == "The tool said 42." and second.tool_calls is None
    # The model received the assistant's call as sent, arguments included.
    assert model.seen[-1].messages[1]["tool_calls"][0]["function"] == call["function"]


# ----------------------------------------------------------------- token mode
def test_token_mode_continues_exactly_the_given_prompt_ids(served):
    base_url, model = served
    policy = OpenAIPolicy(base_url, model.name, tokenizer=ByteTokenizer())
    request = Request(user("ignored in token mode"), prompt_token_ids=[72, 105, 256, 10], seed=11)
    sampling = SamplingParams(max_tokens=6)
    [generation] = policy.generate([request], sampling)
    served_request = model.seen[-1]
    assert served_request.prompt_token_ids == [72, 105, 256, 10] and served_request.messages == []
    [expected] = model.generate([request], sampling)
    assert generation.token_exact and generation.prompt_token_ids == [72, 105, 256, 10]
    assert generation.token_ids == expected.token_ids and generation.logprobs == expected.logprobs
    assert generation.text == expected.text and generation.finish_reason == "length"


def test_token_mode_without_logprobs_still_gets_the_token_ids(served):
    base_url, model = served
    policy = OpenAIPolicy(base_url, model.name, tokenizer=ByteTokenizer())
    request = Request([], prompt_token_ids=[1, 2, 3], seed=2)
    [generation] = policy.generate([request], SamplingParams(max_tokens=4, logprobs=False))
    assert generation.token_ids == model.generate([request], SamplingParams(max_tokens=4))[0].token_ids
    assert generation.logprobs is None and generation.token_exact


def test_requests_without_prompt_ids_use_chat_even_with_a_tokenizer(served):
    base_url, model = served
    policy = OpenAIPolicy(base_url, model.name, tokenizer=ByteTokenizer())
    [generation] = policy.generate([Request(user("chat"))], SamplingParams(seed=0))
    assert generation.text.startswith("echo chat")


# --------------------------------------------------------------------- errors
def test_a_refused_request_is_a_policy_error_with_the_servers_message(served):
    base_url, _ = served
    policy = OpenAIPolicy(base_url, "no-such-model")
    [generation] = policy.generate([Request(user("hi"))])
    assert generation.finish_reason == "error"
    assert "HTTP 404" in generation.error and "'no-such-model' is not served here" in generation.error
    with pytest.raises(PolicyError, match="not served here"):
        asyncio.run(policy.agenerate_one(Request(user("hi")), SamplingParams()))


def test_one_failed_request_keeps_the_rest_of_the_batch(served):
    base_url, model = served
    policy = OpenAIPolicy(base_url, model.name)
    bad = Request([{"role": "robot", "content": "beep"}])
    good, failed = policy.generate([Request(user("fine")), bad], SamplingParams(seed=0))
    assert good.text.startswith("echo fine") and good.error is None
    assert failed.finish_reason == "error" and "HTTP 422" in failed.error and "role" in failed.error


def test_concurrency_limit_is_honoured_server_side():
    model = ScriptedModel(delay=0.1)
    app = create_app(model)
    in_flight, peak = [0], [0]

    @app.middleware("http")
    async def count_in_flight(request, call_next):
        in_flight[0] += 1
        peak[0] = max(peak[0], in_flight[0])
        try:
            return await call_next(request)
        finally:
            in_flight[0] -= 1

    with running_server(app) as base_url:
        policy = OpenAIPolicy(base_url, model.name, max_concurrency=2)
        generations = policy.generate([Request(user(str(i))) for i in range(6)], SamplingParams(seed=0))
    assert [g.text.split()[1] for g in generations] == [str(i) for i in range(6)]
    assert peak[0] == 2


def flaky_app(statuses: list[int], headers: dict[str, str] | None = None, delay: float = 0.0):
    """An app answering ``statuses`` in turn (with an OpenAI error body), then a completion;
    ``attempts`` records when each request arrived."""
    app, attempts = FastAPI(), []

    @app.post("/v1/chat/completions")
    async def chat(request: HTTPRequest):
        attempts.append(time.monotonic())
        await asyncio.sleep(delay)
        if len(attempts) <= len(statuses):
            status = statuses[len(attempts) - 1]
            return JSONResponse({"error": {"message": f"failure number {len(attempts)}"}}, status, headers=headers)
        return {"model": "m", "choices": [{"index": 0, "finish_reason": "length",
                                           "message": {"role": "assistant", "content": "recovered"}}]}

    return app, attempts


def test_retries_429_and_5xx_then_succeeds():
    app, attempts = flaky_app([429, 503, 500])
    with running_server(app) as base_url:
        policy = OpenAIPolicy(base_url, "m", max_retries=3, retry_delay=0.01)
        [generation] = policy.generate([Request(user("hi"))])
    assert generation.text == "recovered" and generation.finish_reason == "length"
    assert len(attempts) == 4


def test_retry_after_is_respected():
    app, attempts = flaky_app([429], headers={"Retry-After": "0.4"})
    with running_server(app) as base_url:
        [generation] = OpenAIPolicy(base_url, "m", retry_delay=0.001).generate([Request(user("hi"))])
    assert generation.text == "recovered"
    assert attempts[1] - attempts[0] >= 0.35  # the backoff alone would have waited ~1 ms


def test_gives_up_after_max_retries_with_the_last_message():
    app, attempts = flaky_app([503] * 10)
    with running_server(app) as base_url:
        [generation] = OpenAIPolicy(base_url, "m", max_retries=2, retry_delay=0.01).generate([Request(user("hi"))])
    assert len(attempts) == 3
    assert generation.finish_reason == "error"
    assert "gave up after 3 attempts" in generation.error and "failure number 3" in generation.error


def test_other_4xx_is_not_retried():
    app, attempts = flaky_app([400])
    with running_server(app) as base_url:
        [generation] = OpenAIPolicy(base_url, "m", retry_delay=0.01).generate([Request(user("hi"))])
    assert len(attempts) == 1
    assert "HTTP 400" in generation.error and "failure number 1" in generation.error


def test_timeouts_are_retried_then_reported():
    app, attempts = flaky_app([], delay=0.5)
    with running_server(app) as base_url:
        policy = OpenAIPolicy(base_url, "m", timeout=0.1, max_retries=1, retry_delay=0.01)
        [generation] = policy.generate([Request(user("hi"))])
    assert len(attempts) == 2
    assert generation.finish_reason == "error" and "timed out" in generation.error


def test_connection_errors_are_retried_then_reported():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    policy = OpenAIPolicy(f"http://127.0.0.1:{port}", "m", max_retries=1, retry_delay=0.01)
    [generation] = policy.generate([Request(user("hi"))])
    assert generation.finish_reason == "error"
    assert "gave up after 2 attempts" in generation.error and "connection failed" in generation.error


def test_base_url_is_the_api_root():
    assert OpenAIPolicy("http://127.0.0.1:8000", "m").base_url == "http://127.0.0.1:8000/v1"
    assert OpenAIPolicy("http://127.0.0.1:8000/v1/", "m").base_url == "http://127.0.0.1:8000/v1"
    assert OpenAIPolicy("https://example.com/api/v1", "m").base_url == "https://example.com/api/v1"
    with pytest.raises(ValueError, match="http"):
        OpenAIPolicy("127.0.0.1:8000", "m")
    with pytest.raises(ValueError, match="max_concurrency"):
        OpenAIPolicy("http://127.0.0.1:8000", "m", max_concurrency=0)


# ------------------------------------------------------- a real (tiny) model
@pytest.fixture
def served_tiny(tiny_policy):
    with running_server(tiny_policy) as base_url:
        yield base_url, tiny_policy


def test_token_mode_through_the_server_equals_the_local_hf_policy(served_tiny, smollm2_tokenizer):
    base_url, local = served_tiny
    remote = OpenAIPolicy(base_url, local.name, tokenizer=smollm2_tokenizer)
    text = smollm2_tokenizer.apply_chat_template(user("Guess a number."), tokenize=False, add_generation_prompt=True)
    prompt = smollm2_tokenizer.encode(text, add_special_tokens=False)
    requests = [Request([], prompt_token_ids=prompt, seed=seed) for seed in (0, 1)]
    sampling = SamplingParams(max_tokens=12, temperature=1.0)
    # One at a time, the server's batches are the local ones: everything is bit for bit equal.
    for request in requests:
        [over_http] = remote.generate([request], sampling)
        [in_process] = local.generate([request], sampling)
        assert over_http.token_exact and over_http.prompt_token_ids == prompt
        assert over_http.token_ids == in_process.token_ids and over_http.logprobs == in_process.logprobs
        assert over_http.text == in_process.text and over_http.finish_reason == in_process.finish_reason
    # Concurrently, the server may batch them: the same tokens, log-probs equal up to float rounding.
    over_http = remote.generate(requests, sampling)
    in_process = local.generate(requests, sampling)
    assert [g.token_ids for g in over_http] == [g.token_ids for g in in_process]
    for remote_generation, local_generation in zip(over_http, in_process):
        assert remote_generation.logprobs == pytest.approx(local_generation.logprobs, abs=1e-5)
    assert over_http[0].token_ids != over_http[1].token_ids  # the seeds were kept apart


def test_chat_with_token_ids_through_the_server_equals_the_local_hf_policy(served_tiny):
    base_url, local = served_tiny
    remote = OpenAIPolicy(base_url, local.name, return_token_ids=True)
    request, sampling = Request(user("Hello there"), seed=3), SamplingParams(max_tokens=10, temperature=0.8)
    [over_http] = remote.generate([request], sampling)
    [in_process] = local.generate([request], sampling)
    assert over_http.token_exact
    assert over_http.prompt_token_ids == in_process.prompt_token_ids
    assert over_http.token_ids == in_process.token_ids and over_http.logprobs == in_process.logprobs
