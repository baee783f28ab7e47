"""Policies given hostile requests and answers: one request that cannot be sent, or whose answer
is malformed, is that request's error generation and leaves the rest of the batch alone; text
that is not valid unicode (a lone surrogate) reaches a local model as U+FFFD."""

from __future__ import annotations

from fastapi import FastAPI

from agentgym.policies.base import Request, SamplingParams
from agentgym.policies.openai_compat import OpenAIPolicy
from agentgym.serve import running_server


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def echo_app(message_of=None) -> FastAPI:
    """Answers each chat request with the last message's text, or with ``message_of(text)`` as
    the choice's ``message`` (to answer malformed choices)."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(body: dict):
        text = body["messages"][-1]["content"]
        message = {"role": "assistant", "content": f"echo {text}"} if message_of is None else message_of(text)
        return {"model": "m", "choices": [{"index": 0, "finish_reason": "stop", "message": message}]}

    return app


def test_a_request_that_cannot_be_sent_keeps_the_rest_of_the_batch():
    with running_server(echo_app()) as base_url:
        policy = OpenAIPolicy(base_url, "m", retry_delay=0.01)
        good, broken = policy.generate([Request(user("fine")), Request(user("a lone \ud800 surrogate"))],
                                       SamplingParams(max_tokens=8))
        policy.close()
    assert good.text == "echo fine" and good.error is None
    assert broken.finish_reason == "error"
    assert broken.error.startswith("m: UnicodeEncodeError") and "surrogates not allowed" in broken.error


def test_a_malformed_answer_to_one_request_keeps_the_rest_of_the_batch():
    app = echo_app(lambda text: {"role": "assistant", "content": "ok"} if text == "fine" else "not an object")
    with running_server(app) as base_url:
        policy = OpenAIPolicy(base_url, "m", retry_delay=0.01)
        good, malformed = policy.generate([Request(user("fine")), Request(user("other"))])
        policy.close()
    assert good.text == "ok" and good.error is None
    assert malformed.finish_reason == "error" and malformed.error.startswith("m: AttributeError")


def test_hf_policy_reads_a_lone_surrogate_as_a_replacement_character(tiny_policy, smollm2_tokenizer):
    broken, replaced = user("a lone \ud800 surrogate"), user("a lone \ufffd surrogate")
    [generation] = tiny_policy.generate([Request(broken)], SamplingParams(max_tokens=2, temperature=0))
    assert generation.finish_reason != "error", generation.error
    text = smollm2_tokenizer.apply_chat_template(replaced, tokenize=False, add_generation_prompt=True)
    assert generation.prompt_token_ids == smollm2_tokenizer.encode(text, add_special_tokens=False)


def test_connections_are_closed_when_each_event_loop_ends():
    """``generate()`` and ``rollout()`` run a fresh event loop per call; the client made on each
    loop is closed as it ends (each call used to leave its keep-alive connections open until the
    garbage collector found them: 160 file descriptors after ten rollouts)."""
    import gc
    from urllib.parse import urlsplit

    import psutil

    from agentgym.rollout import RolloutConfig, Task, rollout

    process = psutil.Process()
    connections = getattr(process, "net_connections", None) or process.connections

    def client_connections(port: int) -> int:
        """This process's open connections to the server (the server's own ends, which it closes
        in its own time, are not counted)."""
        return sum(1 for c in connections(kind="tcp") if c.raddr and c.raddr.port == port)

    with running_server(echo_app()) as base_url:
        port = urlsplit(base_url).port
        policy = OpenAIPolicy(base_url, "m")
        gc.collect()
        gc.disable()  # what is closed must be closed by the policy, not found by the collector
        try:
            for _ in range(5):
                policy.generate([Request(user(str(i))) for i in range(4)])
                rollout(policy, [Task("games/GuessTheNumber-v0", seed) for seed in range(4)], RolloutConfig(max_turns=2),
                        progress=False)
            assert client_connections(port) == 0
        finally:
            gc.enable()
        assert policy.generate([Request(user("still works"))])[0].text == "echo still works"
        policy.close()


def test_event_loops_in_two_threads_share_one_policy():
    """Each loop has its own client: a loop that starts using the policy neither closes nor
    replaces the client another loop's requests are using."""
    import asyncio
    import threading

    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def slow(body: dict):
        await asyncio.sleep(0.3)
        text = body["messages"][-1]["content"]
        return {"model": "m", "choices": [{"index": 0, "finish_reason": "stop",
                                           "message": {"role": "assistant", "content": f"echo {text}"}}]}

    with running_server(app) as base_url:
        policy = OpenAIPolicy(base_url, "m", max_retries=0)
        results: dict[str, list] = {}

        def play(name: str, start_after: threading.Event | None, started: threading.Event) -> None:
            async def run():
                if start_after is not None:
                    await asyncio.to_thread(start_after.wait, 5)
                first = asyncio.create_task(policy.agenerate([Request(user(f"{name}1"))], SamplingParams()))
                await asyncio.sleep(0.05)
                started.set()
                second = await policy.agenerate([Request(user(f"{name}2"))], SamplingParams())
                return [*(await first), *second]

            results[name] = asyncio.run(run())

        a_started, b_started = threading.Event(), threading.Event()
        threads = [threading.Thread(target=play, args=("a", None, a_started)),
                   threading.Thread(target=play, args=("b", a_started, b_started))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        policy.close()
    assert [(g.text, g.error) for g in results["a"]] == [("echo a1", None), ("echo a2", None)]
    assert [(g.text, g.error) for g in results["b"]] == [("echo b1", None), ("echo b2", None)]


def test_numpy_counts_and_seeds_reach_a_server_as_json_numbers():
    """SamplingParams and Request accepted NumPy integers, which then could not be sent as JSON:
    every request was an error generation ('Object of type int64 is not JSON serializable')."""
    import numpy as np

    sampling = SamplingParams(max_tokens=np.int64(8), seed=np.int64(3))
    request = Request(user("hi"), seed=np.int64(5))
    assert type(sampling.max_tokens) is int and type(sampling.seed) is int and type(request.seed) is int
    with running_server(echo_app()) as base_url:
        policy = OpenAIPolicy(base_url, "m")
        generations = policy.generate([request, Request(user("there"))], sampling)
        policy.close()
    assert [(g.text, g.error) for g in generations] == [("echo hi", None), ("echo there", None)]


def test_a_checkpoint_folder_without_a_tokenizer_is_named_in_the_error(tmp_path, tiny_model_factory):
    """transformers' ValueErrors (no tokenizer files, an architecture it does not know) reached
    the command line without the spec or the folder: only OSErrors were put in one line."""
    import json

    import pytest

    from agentgym.policies.specs import make_policy

    tiny_model_factory(64).save_pretrained(tmp_path / "weights-only")  # a model, no tokenizer files
    (tmp_path / "unknown").mkdir()
    (tmp_path / "unknown" / "config.json").write_text(json.dumps({"model_type": "no-such-architecture"}))
    for folder in ("weights-only", "unknown"):
        spec = f"hf:{tmp_path / folder}"
        with pytest.raises(ValueError, match=rf"^policy '{spec}': cannot load the model '{tmp_path / folder}': "):
            make_policy(spec)
