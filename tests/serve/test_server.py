"""The OpenAI-compatible policy server, over real sockets on 127.0.0.1: response schema, token
ids and log-probs, tool calls, batching, and clear 4xx errors for bad requests (never a 500)."""

from __future__ import annotations

import asyncio
import json
import random

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentgym.policies.base import Generation, Policy, Request, SamplingParams
from agentgym.serve import running_server

USER = [{"role": "user", "content": "hi"}]


class LetterTokenizer:
    """Tokens 0-25 are the letters a-z; 26 is a space; 27 ends the text."""

    eos_token_id = 27

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        return [26 if c == " " else ord(c) - 97 for c in text.lower() if c == " " or "a" <= c <= "z"]

    def decode(self, ids, **_) -> str:
        return "".join(" " if i == 26 else chr(97 + i) for i in ids if i < 27)

    def __len__(self) -> int:
        return 28


class LetterModel(Policy):
    """Chat: ``"<seeded letters> t<temperature as a letter>"``, or a Hermes tool call when tools are
    offered. Token prompts: ``max_tokens`` seeded letters. ``"fail"`` as the last message gives an
    error generation, ``"crash"`` raises. Every batch the server sends is recorded."""

    name = "letters"

    def __init__(self, tokenizer=None, delay: float = 0.0) -> None:
        self.tokenizer = tokenizer
        self.delay = delay
        self.batches: list[list[Request]] = []

    async def agenerate(self, requests, sampling):
        self.batches.append(list(requests))
        await asyncio.sleep(self.delay)
        return [self._one(r, sampling) for r in requests]

    def _one(self, request, sampling) -> Generation:
        rng = random.Random(request.seed)
        content = request.messages[-1]["content"] if request.messages else None
        if content == "crash":
            raise RuntimeError("the model fell over")
        if content == "fail":
            return Generation(text="", finish_reason="error", error="ValueError: the prompt is too long")
        if request.prompt_token_ids is not None:
            ids = [rng.randrange(26) for _ in range(sampling.max_tokens)]
            return Generation(text=LetterTokenizer().decode(ids), token_ids=ids, logprobs=[-0.5] * len(ids),
                              prompt_token_ids=request.prompt_token_ids, finish_reason="length")
        if request.tools:
            text = 'ok <tool_call>{"name": "%s", "arguments": {"q": "x"}}</tool_call>' % request.tools[0]["function"]["name"]
        else:
            # The temperature as a letter: 0.5 -> "f", 1.0 -> "k".
            text = "".join(rng.choice("abc") for _ in range(5)) + f" t{chr(97 + round(sampling.temperature * 10))}"
        ids = LetterTokenizer().encode(text)
        return Generation(text=text, token_ids=ids, logprobs=[-float(i) / 10 for i in range(len(ids))],
                          prompt_token_ids=[1, 2, 3], finish_reason="stop")


@pytest.fixture(scope="module")
def server():
    model = LetterModel(LetterTokenizer())
    with running_server(model, max_tokens_limit=100) as base_url, httpx.Client(base_url=base_url) as client:
        yield client, model


def chat(client, **body):
    return client.post("/chat/completions", json={"messages": USER, **body})


def test_models_lists_the_served_model(server):
    client, _ = server
    body = client.get("/models").json()
    assert body["object"] == "list" and [m["id"] for m in body["data"]] == ["letters"]


def test_chat_completion_follows_openais_schema(server):
    client, _ = server
    response = chat(client, seed=4, temperature=0.5, max_tokens=20)
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-") and body["model"] == "letters"
    [choice] = body["choices"]
    assert choice["message"]["role"] == "assistant" and choice["message"]["content"].endswith(" tf")
    assert choice["finish_reason"] == "stop"
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": len(choice["message"]["content"]),
                             "total_tokens": 3 + len(choice["message"]["content"])}
    # vLLM's extensions and log-probs only when asked for.
    assert "logprobs" not in choice and "token_ids" not in choice and "prompt_token_ids" not in body
    assert chat(client, seed=4, temperature=0.5).json()["choices"][0]["message"] == choice["message"]


def test_chat_logprobs_and_token_ids_in_vllms_fields(server):
    client, _ = server
    body = chat(client, seed=1, logprobs=True, return_token_ids=True).json()
    [choice] = body["choices"]
    text = choice["message"]["content"]
    assert choice["token_ids"] == LetterTokenizer().encode(text) and body["prompt_token_ids"] == [1, 2, 3]
    entries = choice["logprobs"]["content"]
    assert [e["token"] for e in entries] == list(text)  # decoded one token at a time
    assert [e["logprob"] for e in entries] == [-i / 10 for i in range(len(text))]
    assert entries[0]["bytes"] == list(text[0].encode())
    as_ids = chat(client, seed=1, logprobs=True, return_tokens_as_token_ids=True).json()["choices"][0]
    assert [e["token"] for e in as_ids["logprobs"]["content"]] == [f"token_id:{i}" for i in choice["token_ids"]]


def test_hermes_tool_calls_become_openai_tool_calls(server):
    client, model = server
    tools = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}]
    first = chat(client, tools=tools).json()["choices"][0]
    second = chat(client, tools=tools).json()["choices"][0]
    assert first["finish_reason"] == "tool_calls" and first["message"]["content"] == "ok"
    [call] = first["message"]["tool_calls"]
    assert call["type"] == "function" and call["function"] == {"name": "search", "arguments": '{"q": "x"}'}
    assert call["id"] != second["message"]["tool_calls"][0]["id"]
    assert model.batches[-1][0].tools == tools
    # Without tools on offer, the same markup is plain text.
    no_tools = chat(client, messages=[{"role": "user", "content": "x"}]).json()["choices"][0]
    assert "tool_calls" not in no_tools["message"]


def test_messages_reach_the_policy_in_chat_template_form(server):
    client, model = server
    messages = [{"role": "developer", "content": [{"type": "text", "text": "be "}, {"type": "text", "text": "brief"}]},
                {"role": "user", "content": "q"},
                {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                                      "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "r"}]
    assert chat(client, messages=messages, seed=0).status_code == 200
    assert model.batches[-1][0].messages == [
        {"role": "system", "content": "be brief"}, {"role": "user", "content": "q"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function",
                                                             "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "content": "r", "tool_call_id": "c1"}]


def test_completions_with_token_ids_and_with_text(server):
    client, model = server
    body = client.post("/completions", json={"prompt": [7, 8, 9], "max_tokens": 5, "seed": 3, "logprobs": 1,
                                             "return_token_ids": True, "return_tokens_as_token_ids": True}).json()
    assert body["object"] == "text_completion"
    [choice] = body["choices"]
    assert model.batches[-1][0].prompt_token_ids == [7, 8, 9] and model.batches[-1][0].seed == 3
    assert choice["prompt_token_ids"] == [7, 8, 9] and len(choice["token_ids"]) == 5
    assert choice["text"] == LetterTokenizer().decode(choice["token_ids"]) and choice["finish_reason"] == "length"
    assert choice["logprobs"]["tokens"] == [f"token_id:{i}" for i in choice["token_ids"]]
    assert choice["logprobs"]["token_logprobs"] == [-0.5] * 5 and choice["logprobs"]["text_offset"] == [0, 1, 2, 3, 4]
    text = client.post("/completions", json={"prompt": "the cat", "max_tokens": 2, "return_token_ids": True}).json()
    assert text["choices"][0]["prompt_token_ids"] == LetterTokenizer().encode("the cat")
    assert "logprobs" not in text["choices"][0]


def test_concurrent_requests_are_batched_and_keep_their_own_seeds():
    model = LetterModel(LetterTokenizer(), delay=0.2)

    async def send_all(base_url):
        async with httpx.AsyncClient(base_url=base_url) as client:
            bodies = [{"messages": USER, "seed": seed} for seed in range(6)]
            bodies.append({"messages": USER, "seed": 0, "temperature": 0.3})  # other sampling: own batch
            responses = await asyncio.gather(*(client.post("/chat/completions", json=b) for b in bodies))
            return [r.json()["choices"][0]["message"]["content"] for r in responses]

    with running_server(model) as base_url:
        texts = asyncio.run(send_all(base_url))
    assert max(len(batch) for batch in model.batches) > 1
    solo = [model._one(Request(USER, seed=seed), SamplingParams()) for seed in range(6)]
    assert texts[:6] == [g.text for g in solo]
    assert texts[6].endswith(" td") and texts[6][:5] == texts[0][:5]


# -------------------------------------------------------------------- errors
def error_of(response) -> str:
    body = response.json()
    assert set(body["error"]) == {"message", "type", "param", "code"} and body["error"]["code"] == response.status_code
    return body["error"]["message"]


@pytest.mark.parametrize("body, mentioned", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "valid dictionary"),
    ('{"model": "letters"}', "messages: Field required"),
    ('{"messages": []}', "messages"),
    ('{"messages": "hi"}', "messages: Input should be a valid list"),
    ('{"messages": [{"role": "robot", "content": "x"}]}', "role"),
    ('{"messages": [{"role": "user"}]}', "needs content"),
    ('{"messages": [{"role": "tool", "content": "r"}]}', "tool_call_id"),
    ('{"messages": [{"role": "user", "content": 5}]}', "content"),
    ('{"messages": [{"role": "user", "content": "x"}], "max_tokens": -3}', "max_tokens"),
    ('{"messages": [{"role": "user", "content": "x"}], "max_tokens": "5"}', "max_tokens: Input should be a valid integer"),
    ('{"messages": [{"role": "user", "content": "x"}], "max_tokens": true}', "max_tokens"),
    ('{"messages": [{"role": "user", "content": "x"}], "temperature": "hot"}', "temperature"),
    ('{"messages": [{"role": "user", "content": "x"}], "temperature": -1}', "temperature"),
    ('{"messages": [{"role": "user", "content": "x"}], "top_p": 0}', "top_p"),
    ('{"messages": [{"role": "user", "content": "x"}], "seed": -1}', "seed"),
    ('{"messages": [{"role": "user", "content": "x"}], "stop": [""]}', "stop"),
    ('{"messages": [{"role": "user", "content": "x"}], "n": 2}', "only n=1"),
    ('{"messages": [{"role": "user", "content": "x"}], "stream": true}', "streaming is not supported"),
    ('{"messages": [{"role": "user", "content": "x"}], "top_logprobs": 3}', "top_logprobs"),
    ('{"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]}', "function"),
    # Not silently ignored: the answer would not be what the client asked for.
    ('{"messages": [{"role": "user", "content": "x"}], "tool_choice": "required"}', 'tool_choice "required" is not supported'),
    ('{"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_object"}}',
     'response_format {"type": "json_object"} is not supported'),
])
def test_malformed_chat_requests_are_422_with_a_message(server, body, mentioned):
    client, _ = server
    response = client.post("/chat/completions", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert mentioned in error_of(response)


@pytest.mark.parametrize("body, mentioned", [
    ({"prompt": []}, "prompt"), ({"prompt": [-1]}, "prompt"), ({"prompt": [1.5]}, "prompt"),
    ({"prompt": ""}, "prompt"), ({"prompt": [1], "logprobs": 99}, "logprobs"),
    ({"prompt": [1], "echo": True}, "echo is not supported"),
])
def test_malformed_completion_requests_are_422(server, body, mentioned):
    client, _ = server
    response = client.post("/completions", json=body)
    assert response.status_code == 422 and mentioned in error_of(response)


def test_requests_the_policy_cannot_serve_are_4xx(server):
    client, _ = server
    response = client.post("/completions", json={"prompt": [1, 28, 500]})
    assert response.status_code == 400 and "outside the vocabulary (size 28): [28, 500]" in error_of(response)
    response = chat(client, max_tokens=101)
    assert response.status_code == 400 and "at most 100" in error_of(response)
    response = chat(client, model="gpt-5")
    assert response.status_code == 404 and "'gpt-5' is not served here" in error_of(response)
    response = chat(client, messages=[{"role": "user", "content": "fail"}])
    assert response.status_code == 400 and "the prompt is too long" in error_of(response)
    response = client.get("/nowhere")
    assert response.status_code == 404 and error_of(response) == "Not Found"


def test_a_crashing_policy_is_a_500_with_the_reason_and_the_server_lives_on(server):
    client, _ = server
    response = chat(client, messages=[{"role": "user", "content": "crash"}])
    assert response.status_code == 500 and "RuntimeError: the model fell over" in error_of(response)
    assert chat(client).status_code == 200


def test_completions_need_a_policy_with_a_tokenizer():
    with running_server(LetterModel(tokenizer=None)) as base_url:
        response = httpx.post(f"{base_url}/completions", json={"prompt": [1, 2]})
    assert response.status_code == 400 and "use /v1/chat/completions" in error_of(response)


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                           max_leaves=8)
CHAT_FIELDS = ["messages", "model", "max_tokens", "temperature", "top_p", "stop", "seed", "n", "stream", "tools",
               "logprobs", "top_logprobs", "return_token_ids", "max_completion_tokens"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["/chat/completions", "/completions"]),
       st.dictionaries(st.sampled_from(CHAT_FIELDS + ["prompt", "echo"]), JSON_VALUES, max_size=5),
       st.booleans())
def test_arbitrary_json_never_makes_a_500(server, path, fields, with_messages):
    client, _ = server
    if with_messages:
        fields = {"messages": USER, "prompt": [1, 2], **fields}
    response = client.post(path, content=json.dumps(fields, allow_nan=True), headers={"content-type": "application/json"})
    assert response.status_code in (200, 400, 404, 422), response.text
    if response.status_code != 200:
        assert error_of(response)


@pytest.mark.parametrize("fields", [{"tool_choice": "auto"}, {"tool_choice": "none"},
                                    {"response_format": {"type": "text"}}])
def test_the_default_tool_choice_and_response_format_are_served(server, fields):
    client, _ = server
    assert chat(client, **fields).status_code == 200
