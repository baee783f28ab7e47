"""The policy server (``agentgym serve-policy``) under hostile and concurrent clients.

A real server on 127.0.0.1 over a tiny random Llama (real tokenizer, real ``HFPolicy``):

- a bounded fuzz (a few hundred requests built from a fixed seed: wrong types, missing fields,
  huge and negative numbers, NaN and Infinity in JSON, garbage bytes, wrong content types,
  lone surrogates, huge strings under the body limit) is answered every time, within a client
  timeout, with a 200 or a 4xx JSON error carrying a message -- never a 500 -- and a normal
  request is served afterwards;
- 30 concurrent small requests are all answered;
- once the server stops, the process holds no more threads or file descriptors than before.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any, Iterator

import httpx
import pytest

from agentgym.serve import running_server

BODY_LIMIT = 256 * 1024
USER = [{"role": "user", "content": "guess the number"}]
HOSTILE_VALUES: list[Any] = [
    None, True, False, 0, -1, -(10**30), 10**30, 2**63, 2**64, 1e308, -1e308, 1e-320, 0.5, "", "x", "5", "NaN",
    [], [None], [1, 2], [-1], [10**20], {}, {"a": 1}, {"role": "user"}, "\ud800", ["\udfff"], "\x00" * 10,
    "é" * 50, [[[[[[[]]]]]]],
]
FIELDS = ["messages", "prompt", "model", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop",
          "seed", "n", "stream", "tools", "logprobs", "top_logprobs", "return_token_ids",
          "return_tokens_as_token_ids", "echo"]
PATHS = ["/chat/completions", "/completions"]


@pytest.fixture(scope="module")
def tiny_policy():
    from agentgym.policies.hf import HFPolicy
    from tests.rewards.tiny_lm import tiny_llama, tiny_tokenizer

    tokenizer = tiny_tokenizer()
    policy = HFPolicy(tiny_llama(len(tokenizer), layers=1), tokenizer, name="tiny")
    # The first server of a process leaves a pipe open for good (the event-loop library's, made
    # once per process, reused by every later server): start one before any test snapshots its
    # resources, so that a test run alone counts what a server leaks, not that one-off.
    with running_server(policy, max_tokens_limit=8) as base_url:
        httpx.post(base_url + "/chat/completions", json=valid_body("/chat/completions"), timeout=30)
    return policy


def valid_body(path: str) -> dict[str, Any]:
    return {"messages": USER, "max_tokens": 3} if path == "/chat/completions" else {"prompt": [5, 6, 7], "max_tokens": 3}


def hostile_requests(rng: random.Random) -> Iterator[tuple[str, str, bytes, dict[str, str]]]:
    """``(method, path, body, headers)`` for every kind of bad request, a fixed number of each."""
    as_json = {"content-type": "application/json"}
    # One field of a valid request replaced by a hostile value: every field, every path.
    for path in PATHS:
        for field in FIELDS:
            for value in rng.sample(HOSTILE_VALUES, 6):
                body = {**valid_body(path), field: value}
                yield "POST", path, json.dumps(body).encode("utf-8", "surrogatepass"), as_json
    # Fields missing, or a body that is not an object.
    for path in PATHS:
        for body in ({}, {"model": "tiny"}, {"max_tokens": 3}, [], [valid_body(path)], "messages", 42, None):
            yield "POST", path, json.dumps(body).encode(), as_json
    # Non-finite numbers, spelled as Python's json (and JavaScript) spell them.
    for path in PATHS:
        for field in ("temperature", "top_p", "max_tokens", "seed", "logprobs"):
            for literal in ("NaN", "Infinity", "-Infinity", "1e999", "-0.0", "123456789" * 600):
                body = json.dumps(valid_body(path))[:-1] + f', "{field}": {literal}}}'
                yield "POST", path, body.encode(), as_json
    # Garbage bytes, invalid UTF-8, truncated JSON, deep nesting.
    for _ in range(20):
        yield "POST", rng.choice(PATHS), rng.randbytes(rng.randrange(1, 4000)), as_json
    for path in PATHS:
        whole = json.dumps(valid_body(path)).encode()
        for cut in (1, len(whole) // 2, len(whole) - 1):
            yield "POST", path, whole[:cut], as_json
        yield "POST", path, b'{"messages": "\xff\xfe\xfd"}', as_json
        yield "POST", path, b"[" * 100_000, as_json
        yield "POST", path, b'{"a":' * 50_000, as_json
    # Wrong content types, and none.
    for path in PATHS:
        body = json.dumps(valid_body(path)).encode()
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                             "application/json; charset=latin-1", "image/png", None):
            yield "POST", path, body, ({"content-type": content_type} if content_type else {})
    # Lone surrogates (escaped, as JSON sends them) in content, keys, names, prompts.
    for path, body in (("/chat/completions", '{"messages": [{"role": "user", "content": "\\ud800"}]}'),
                       ("/chat/completions", '{"messages": [{"role": "user", "content": "x"}], "\\udc00": 1}'),
                       ("/chat/completions", '{"messages": [{"role": "user", "content": "x", "name": "\\udbff"}]}'),
                       ("/chat/completions", '{"messages": [{"role": "user", "content": "x"}], "model": "\\ud800"}'),
                       ("/completions", '{"prompt": "\\ud800\\ud800"}'), ("/completions", '{"prompt": "a\\udfffb"}')):
        yield "POST", path, body.encode(), as_json
    # Huge strings just under the body limit: the prompt-length guard, then tokenising, refuse them.
    big = "the secret number is 42. " * ((BODY_LIMIT - 200) // 25)
    yield "POST", "/completions", json.dumps({"prompt": big, "max_tokens": 3}).encode(), as_json
    yield "POST", "/completions", json.dumps({"prompt": big[: 100_000], "max_tokens": 3}).encode(), as_json
    yield "POST", "/chat/completions", json.dumps({"messages": [{"role": "user", "content": big}]}).encode(), as_json
    yield "POST", "/completions", json.dumps({"prompt": [5] * 20_000, "max_tokens": 3}).encode(), as_json
    # Bodies over the limit, and the wrong methods and paths.
    yield "POST", "/chat/completions", b" " * (BODY_LIMIT + 1), as_json
    for method, path in (("GET", "/chat/completions"), ("PUT", "/completions"), ("DELETE", "/models"),
                         ("POST", "/models"), ("GET", "/../../etc/passwd"), ("POST", "/chat/completions/"),
                         ("GET", "/\u00e9")):
        yield method, path, b"", {}


def assert_well_answered(response: httpx.Response, what: str) -> None:
    assert response.status_code == 200 or 400 <= response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"
    body = response.json()
    if response.status_code == 200:
        assert body.get("object") in ("chat.completion", "text_completion", "list"), what
        return
    error = body["error"]
    assert isinstance(error["message"], str) and error["message"], what
    assert error["code"] == response.status_code, what


def test_hostile_requests_get_4xx_json_errors_and_the_server_lives_on(tiny_policy, resources):
    requests = list(hostile_requests(random.Random(2024)))
    assert len(requests) >= 300
    statuses: dict[int, int] = {}
    with running_server(tiny_policy, max_tokens_limit=8, max_body_bytes=BODY_LIMIT) as base_url:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            for method, path, body, headers in requests:
                what = f"{method} {path} {body[:120]!r}"
                response = client.request(method, path, content=body, headers=headers)
                assert_well_answered(response, what)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            # Still serving normal requests, both endpoints.
            for path in PATHS:
                response = client.post(path, json={**valid_body(path), "temperature": 0})
                assert response.status_code == 200 and response.json()["usage"]["completion_tokens"] >= 1
    # The fuzz reached every layer: schema (422), policy-level checks (400), limits (413), routing,
    # and the model itself (200: hostile values that are valid after all, such as top_p=1e-320).
    assert {200, 400, 404, 405, 413, 422} <= set(statuses), statuses
    resources.assert_released()


def test_concurrent_small_requests_are_all_answered(tiny_policy, resources):
    async def burst(base_url: str) -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=30)
        async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
            calls = []
            for i in range(30):
                path = PATHS[i % 2]
                calls.append(client.post(path, json={**valid_body(path), "seed": i, "return_token_ids": True}))
            return await asyncio.gather(*calls)

    with running_server(tiny_policy, max_tokens_limit=8, max_batch_size=8) as base_url:
        responses = asyncio.run(burst(base_url))
    assert [r.status_code for r in responses] == [200] * 30
    for response in responses:
        [choice] = response.json()["choices"]
        assert 1 <= len(choice["token_ids"]) <= 3
    resources.assert_released()
