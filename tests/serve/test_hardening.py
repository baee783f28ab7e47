"""The policy server against careless and hostile clients, over real sockets on 127.0.0.1:
the API key, body and prompt limits, tokenising off the event loop, cancelling abandoned
requests, vanishing temperatures and top_p, and text that is not valid Unicode."""

from __future__ import annotations

import asyncio
import math
import socket
import threading

import httpx
import pytest

from agentgym.policies.base import Generation, Policy, Request, SamplingParams
from agentgym.policies.openai_compat import OpenAIPolicy
from agentgym.serve import running_server, serve
from agentgym.serve.guards import is_loopback
from tests.serve.test_server import USER, LetterModel, LetterTokenizer, error_of

KEY = "s3cret-key"


# ----------------------------------------------------------------- API key
@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.8.9.1", True), ("localhost", True), ("::1", True), ("[::1]", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.10", False), ("example.org", False), ("", False)])
def test_which_hosts_are_loopback(host, loopback):
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5"])
def test_serving_beyond_loopback_needs_a_key(host, monkeypatch):
    def exposed(*args, **kwargs):
        raise AssertionError(f"the server started on {host} without a key")

    # Should the refusal fail, fail at once rather than serve (and hang) on a public interface.
    monkeypatch.setattr("agentgym.serve.runner.uvicorn.run", exposed)
    monkeypatch.setattr("agentgym.serve.runner.uvicorn.Server", exposed)
    with pytest.raises(ValueError, match="without an API key.*api_key"):
        serve(LetterModel(), host=host, port=0)
    with pytest.raises(ValueError, match="without an API key"):
        with running_server(LetterModel(), host=host):
            pass


def test_an_empty_key_is_refused():
    with pytest.raises(ValueError, match="empty"):
        serve(LetterModel(), api_key="")


@pytest.fixture(scope="module")
def keyed_server():
    with running_server(LetterModel(LetterTokenizer()), api_key=KEY) as base_url:
        yield base_url


@pytest.mark.parametrize("headers, message", [
    ({}, "needs an API key: send it as 'Authorization: Bearer <key>'"),
    ({"authorization": "Bearer wrong"}, "the API key is not valid"),
    ({"authorization": f"Bearer {KEY}x"}, "the API key is not valid"),
    ({"authorization": f"Basic {KEY}"}, "needs an API key"),
    ({"authorization": "Bearer"}, "the API key is not valid"),
])
@pytest.mark.parametrize("method, path", [("GET", "/models"), ("POST", "/chat/completions"),
                                          ("POST", "/completions"), ("GET", "/nowhere")])
def test_without_the_key_every_endpoint_is_401(keyed_server, headers, message, method, path):
    response = httpx.request(method, keyed_server + path, headers=headers, json={"messages": USER, "prompt": [1]})
    assert response.status_code == 401 and message in error_of(response)
    assert response.json()["error"]["type"] == "authentication_error"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert KEY not in response.text


def test_with_the_key_requests_are_served(keyed_server):
    headers = {"authorization": f"Bearer {KEY}"}
    assert httpx.get(keyed_server + "/models", headers=headers).json()["data"][0]["id"] == "letters"
    assert httpx.post(keyed_server + "/chat/completions", headers={"Authorization": f"bearer {KEY}"},
                      json={"messages": USER}).status_code == 200


def test_openai_policy_passes_the_key(keyed_server):
    sampling = SamplingParams(max_tokens=5, seed=1)
    with OpenAIPolicy(keyed_server, "letters", api_key=KEY) as policy:
        [generation] = policy.generate([Request(USER)], sampling)
    assert generation.finish_reason == "stop" and generation.text
    with OpenAIPolicy(keyed_server, "letters", max_retries=0) as policy:
        [refused] = policy.generate([Request(USER)], sampling)
    assert refused.finish_reason == "error" and "401" in refused.error and "API key" in refused.error


# ------------------------------------------------------------- body limits
@pytest.fixture(scope="module")
def small_body_server():
    with running_server(LetterModel(LetterTokenizer()), max_body_bytes=2048) as base_url:
        yield base_url


def test_a_body_over_the_limit_is_413(small_body_server):
    body = {"messages": [{"role": "user", "content": "x" * 3000}]}
    response = httpx.post(small_body_server + "/chat/completions", json=body)
    assert response.status_code == 413 and "at most 2048 bytes" in error_of(response)
    under = httpx.post(small_body_server + "/chat/completions", json={"messages": [{"role": "user", "content": "x" * 1900}]})
    assert under.status_code == 200


def test_a_declared_length_over_the_limit_is_answered_before_the_body_is_sent(small_body_server):
    """The server answers 413 to the headers alone: it never waits for (or reads) the body."""
    port = int(small_body_server.rsplit(":", 1)[1].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                           b"content-length: 100000000\r\n\r\n{\"messages\": [")
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413") and b"100000000 bytes" in answer
    assert b"connection: close" in answer.lower()


def test_a_chunked_body_is_stopped_at_the_limit(small_body_server):
    sent = []

    def chunks():
        for _ in range(100):  # 100 KiB offered; the server stops after 2 KiB
            sent.append(1)
            yield b" " * 1024

    response = httpx.post(small_body_server + "/chat/completions", content=chunks(),
                          headers={"content-type": "application/json"})
    assert response.status_code == 413 and "at most 2048 bytes" in error_of(response)


def test_a_malformed_content_length_is_400(small_body_server):
    port = int(small_body_server.rsplit(":", 1)[1].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(b"POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-length: -5\r\n\r\n")
        answer = connection.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400")


class GatedTokenizer(LetterTokenizer):
    """Encoding a long text announces itself and then waits for the test to let it finish."""

    def __init__(self) -> None:
        self.started, self.release = threading.Event(), threading.Event()
        self.long_texts = 0

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        if len(text) > 1000:
            self.long_texts += 1
            self.started.set()
            self.release.wait(timeout=30)
        return super().encode(text)


def test_a_huge_prompt_being_tokenised_does_not_stall_other_requests():
    tokenizer = GatedTokenizer()
    with running_server(LetterModel(tokenizer)) as base_url:
        big: dict = {}
        sender = threading.Thread(target=lambda: big.update(response=httpx.post(
            base_url + "/completions", json={"prompt": "ab " * 300_000, "max_tokens": 1}, timeout=60)))
        sender.start()
        try:
            assert tokenizer.started.wait(timeout=30), "the big prompt never reached the tokenizer"
            # The big prompt is mid-tokenisation: the event loop must still answer others.
            models = httpx.get(base_url + "/models", timeout=20)
            small = httpx.post(base_url + "/completions", json={"prompt": [1, 2], "max_tokens": 2}, timeout=20)
            chat = httpx.post(base_url + "/chat/completions", json={"messages": USER}, timeout=20)
            assert "response" not in big, "the small requests were answered only after the big one"
            assert models.status_code == small.status_code == chat.status_code == 200
        finally:
            tokenizer.release.set()
            sender.join(timeout=60)
    assert big["response"].status_code == 200
    assert big["response"].json()["usage"]["prompt_tokens"] == 900_000  # one token per character


class ContextModel(LetterModel):
    context_length = 16  # so prompts over 32 * 16 = 512 characters are refused untokenised


def test_prompts_longer_than_the_context_could_hold_are_refused_before_tokenising():
    tokenizer = GatedTokenizer()
    with running_server(ContextModel(tokenizer)) as base_url:
        text = httpx.post(base_url + "/completions", json={"prompt": "a" * 513})
        chat = httpx.post(base_url + "/chat/completions", json={"messages": [{"role": "user", "content": "a" * 600}]})
        tokens = httpx.post(base_url + "/completions", json={"prompt": [1] * 16})
        fits = httpx.post(base_url + "/completions", json={"prompt": "a" * 10, "max_tokens": 2})
    assert text.status_code == 400 and "prompt has 513 characters" in error_of(text)
    assert "at most 512 for a 16-token context" in error_of(text)
    assert chat.status_code == 400 and "600 characters" in error_of(chat)
    assert tokens.status_code == 400 and "the prompt has 16 tokens" in error_of(tokens)
    assert fits.status_code == 200
    assert tokenizer.long_texts == 0


# ------------------------------------------------------ abandoned requests
class TickingModel(Policy):
    """Generates one letter per tick (an ``asyncio.sleep``), counting each request's tokens by
    its seed; a cancelled ``agenerate`` stops ticking."""

    name = "ticking"

    def __init__(self, tick: float = 0.005) -> None:
        self.tick = tick
        self.tokens: dict[int, int] = {}

    async def agenerate(self, requests, sampling):
        for _ in range(sampling.max_tokens):
            await asyncio.sleep(self.tick)
            for request in requests:
                self.tokens[request.seed] = self.tokens.get(request.seed, 0) + 1
        return [Generation(text="a" * sampling.max_tokens, finish_reason="length") for _ in requests]


def test_requests_whose_clients_hung_up_stop_generating():
    model = TickingModel()
    abandoned = 20
    asked = 2000  # 10 s of ticks per batch: three batches if nobody stopped them

    async def hang_up(client, seed):
        with pytest.raises(httpx.TimeoutException):
            await client.post("/chat/completions", timeout=0.3,
                              json={"messages": USER, "max_tokens": asked, "seed": seed})

    async def scenario(base_url):
        async with httpx.AsyncClient(base_url=base_url) as client:
            await asyncio.gather(*(hang_up(client, seed) for seed in range(abandoned)))
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            return await client.post("/chat/completions", json={"messages": USER, "max_tokens": 3, "seed": 999})

    with running_server(model, max_tokens_limit=asked, max_batch_size=8) as base_url:
        small = asyncio.run(scenario(base_url))
        generated = dict(model.tokens)
    assert small.status_code == 200 and generated[999] == 3
    spent = {seed: count for seed, count in generated.items() if seed != 999}
    # Batches stop as soon as their clients are gone (one that starts just before the server
    # notices its clients left stops too); unstopped, each would have run to 2000 tokens.
    assert spent and max(spent.values()) < asked // 4, spent
    assert sum(spent.values()) < asked, spent


def test_an_abandoned_request_does_not_stop_its_live_batch_mates():
    model = TickingModel(tick=0.002)

    async def scenario(base_url):
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            body = {"messages": USER, "max_tokens": 200}
            live = asyncio.ensure_future(client.post("/chat/completions", json={**body, "seed": 1}))
            with pytest.raises(httpx.TimeoutException):
                await client.post("/chat/completions", json={**body, "seed": 2}, timeout=0.1)
            return await live

    with running_server(model, max_tokens_limit=200) as base_url:
        live = asyncio.run(scenario(base_url))
    assert live.status_code == 200 and live.json()["choices"][0]["message"]["content"] == "a" * 200


# ------------------------------------------- vanishing temperature and top_p
@pytest.fixture(scope="module")
def tiny_hf_server():
    from agentgym.policies.hf import HFPolicy
    from tests.rewards.tiny_lm import tiny_llama, tiny_tokenizer

    tokenizer = tiny_tokenizer()
    policy = HFPolicy(tiny_llama(len(tokenizer), layers=1), tokenizer, name="tiny")
    with running_server(policy, max_tokens_limit=16) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
        yield client


@pytest.mark.parametrize("sampling", [{"temperature": 1e-40}, {"temperature": 5e-324}, {"top_p": 1e-300},
                                      {"temperature": 1e-40, "top_p": 1e-300}])
@pytest.mark.parametrize("path", ["/completions", "/chat/completions"])
def test_vanishing_temperature_or_top_p_is_greedy_with_finite_logprobs(tiny_hf_server, sampling, path):
    body = {"prompt": [5, 6, 7]} if path == "/completions" else {"messages": USER}
    body.update(max_tokens=8, seed=3, return_token_ids=True, logprobs=1 if path == "/completions" else True)
    greedy = tiny_hf_server.post(path, json={**body, "temperature": 0}).json()["choices"][0]
    response = tiny_hf_server.post(path, json={**body, **sampling})
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    assert choice["token_ids"] == greedy["token_ids"]
    if path == "/completions":
        logprobs = choice["logprobs"]["token_logprobs"]
    else:
        logprobs = [entry["logprob"] for entry in choice["logprobs"]["content"]]
    assert len(logprobs) == len(choice["token_ids"]) and all(math.isfinite(x) for x in logprobs)


# -------------------------------------------------------- invalid Unicode
@pytest.mark.parametrize("path, body, field", [
    ("/chat/completions", '{"messages": [{"role": "user", "content": "hi \\ud800"}]}', "messages[0].content"),
    ("/chat/completions", '{"messages": [{"role": "user", "content": "ok"}, {"role": "user", "content": '
                          '[{"type": "text", "text": "\\udfff x"}]}]}', "messages[1].content[0].text"),
    ("/chat/completions", '{"messages": [{"role": "user", "content": "ok"}], "tools": [{"type": "function", '
                          '"function": {"name": "f", "parameters": {"\\ud83d": 1}}}]}',
     "tools[0].function.parameters.\\ud83d (a key)"),
    ("/chat/completions", '{"messages": [{"role": "user", "content": "ok"}], "stop": "\\udc00"}', "stop"),
    ("/completions", '{"prompt": "abc\\ud800"}', "prompt"),
])
def test_text_with_an_unpaired_surrogate_is_400_naming_the_field(server_with_tokenizer, path, body, field):
    response = server_with_tokenizer.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    message = error_of(response)
    assert message.startswith(f"{field} contains an unpaired surrogate (\\u")
    assert response.json()["error"]["param"] == field


def test_a_surrogate_pair_is_valid_text(server_with_tokenizer):
    body = '{"messages": [{"role": "user", "content": "smile \\ud83d\\ude00"}]}'
    response = server_with_tokenizer.post("/chat/completions", content=body,
                                          headers={"content-type": "application/json"})
    assert response.status_code == 200


def test_a_surrogate_reaching_a_real_tokenizer_is_400_not_a_type_error(tiny_hf_server):
    body = '{"messages": [{"role": "user", "content": "\\ud800"}], "max_tokens": 2}'
    response = tiny_hf_server.post("/chat/completions", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400 and "messages[0].content contains an unpaired surrogate" in error_of(response)
    assert "TypeError" not in error_of(response)


@pytest.fixture(scope="module")
def server_with_tokenizer():
    with running_server(LetterModel(LetterTokenizer())) as base_url, httpx.Client(base_url=base_url) as client:
        yield client


@pytest.mark.parametrize("body, reason", [
    (b'{"a":' * 50_000, "nested too deeply"), (b"[" * 100_000, "nested too deeply"),
    (b'{"max_tokens": ' + b"9" * 5000 + b"}", "Exceeds the limit (4300 digits)"),
    (b'{"messages": "\xff\xfe"}', "not UTF-8 (byte 14)"),
])
def test_bodies_json_cannot_parse_say_why(server_with_tokenizer, body, reason):
    response = server_with_tokenizer.post("/chat/completions", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert error_of(response).startswith("the request body is not valid JSON: ") and reason in error_of(response)


def test_a_trailing_slash_is_404_not_a_redirect(server_with_tokenizer):
    response = server_with_tokenizer.post("/chat/completions/", json={"messages": USER})
    assert response.status_code == 404 and error_of(response) == "Not Found"


# ----------------------------------------------------------------- a bug behind a route
class _DecodeBug(LetterTokenizer):
    """Decoding one token at a time (the logprobs' token strings) raises: a bug in the tokenizer."""

    def decode(self, ids, **kwargs) -> str:
        if len(ids) == 1:
            raise IndexError("token out of the vocabulary")
        return super().decode(ids, **kwargs)


def test_a_crash_is_a_500_that_keeps_the_connection():
    """An exception no handler expects is answered 500 and the kept-alive connection lives on:
    the client's next request on it is answered (not ``Connection reset by peer``)."""
    with running_server(LetterModel(_DecodeBug())) as base_url, httpx.Client(base_url=base_url, timeout=10) as client:
        for _ in range(3):
            crashed = client.post("/chat/completions", json={"messages": USER, "logprobs": True})
            assert crashed.status_code == 500, crashed.text
            assert error_of(crashed) == "internal error: IndexError: token out of the vocabulary"
            assert client.post("/chat/completions", json={"messages": USER}).status_code == 200


# ----------------------------------------------------------------- a body not sent as JSON
@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded", "text/plain"])
def test_a_body_without_a_json_content_type_is_told_to_send_one(content_type):
    """``curl -d`` sends a form content type: the JSON body is not read as JSON (FastAPI's strict
    content type, which keeps a web page's form posts out), and the answer says so instead of
    calling the body 'not a valid dictionary'."""
    body = b'{"messages": [{"role": "user", "content": "hi"}]}'
    headers = {"content-type": content_type} if content_type else {}
    with running_server(LetterModel(LetterTokenizer())) as base_url, httpx.Client(base_url=base_url) as client:
        response = client.post("/chat/completions", content=body, headers=headers)
        assert response.status_code == 422
        message = error_of(response)
        assert "Content-Type: application/json" in message and "valid dictionary" not in message, message
        assert (content_type or "none") in message
        assert client.post("/chat/completions", content=body,
                           headers={"content-type": "application/json"}).status_code == 200
