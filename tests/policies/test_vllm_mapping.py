"""The vLLM adapter's translation (pure functions) and its glue, with a stand-in ``vllm`` module
(vLLM needs a GPU and cannot be installed here)."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from agentgym.policies.base import Request, SamplingParams
from agentgym.policies.vllm_engine import (
    VLLMPolicy,
    generation_from_output,
    prompt_token_ids,
    request_seed,
    vllm_engine_kwargs,
    vllm_sampling_kwargs,
    weight_pairs,
)


def test_sampling_params_map_onto_vllms():
    sampling = SamplingParams(max_tokens=12, temperature=0.7, top_p=0.9, stop=("</answer>", "\n\n"), seed=5)
    assert vllm_sampling_kwargs(sampling, seed=8) == {
        "n": 1, "max_tokens": 12, "temperature": 0.7, "top_p": 0.9, "stop": ["</answer>", "\n\n"],
        "include_stop_str_in_output": True, "seed": 8, "logprobs": 0}
    greedy = vllm_sampling_kwargs(SamplingParams(temperature=0, logprobs=False), seed=None)
    assert greedy["temperature"] == 0 and greedy["logprobs"] is None and greedy["seed"] is None and greedy["stop"] == []


def test_request_seed_beats_the_batch_seed():
    sampling = SamplingParams(seed=10)
    assert request_seed(Request([], seed=3), sampling, index=4) == 3
    assert request_seed(Request([]), sampling, index=4) == 14
    assert request_seed(Request([]), SamplingParams(), index=4) is None


class TemplateTokenizer:
    """Records how the chat template is used; tokens are character codes."""

    def __init__(self):
        self.calls = []

    def apply_chat_template(self, messages, **kwargs):
        self.calls.append(kwargs)
        return "".join(f"<{m['role']}>{m['content']}" for m in messages) + "<assistant>"

    def encode(self, text, add_special_tokens=True):
        assert add_special_tokens is False  # the template wrote the special tokens already
        return [ord(c) for c in text]


def test_prompt_is_the_given_ids_else_the_chat_template():
    tokenizer = TemplateTokenizer()
    assert prompt_token_ids(Request([{"role": "user", "content": "x"}], prompt_token_ids=[5, 6]), tokenizer) == [5, 6]
    assert tokenizer.calls == []
    tools = [{"type": "function", "function": {"name": "f"}}]
    ids = prompt_token_ids(Request([{"role": "user", "content": "x"}], tools=tools), tokenizer)
    assert "".join(map(chr, ids)) == "<user>x<assistant>"
    assert tokenizer.calls == [{"tokenize": False, "add_generation_prompt": True, "tools": tools}]


def vllm_output(token_ids, text, finish_reason="stop", prompt=(1, 2), with_logprobs=True):
    """A ``RequestOutput`` shaped like vLLM's: per position, token id -> Logprob (the sampled
    token and, here, a more likely alternative)."""
    logprobs = None
    if with_logprobs:
        logprobs = [{token: SimpleNamespace(logprob=-0.25 * (i + 1)), 999: SimpleNamespace(logprob=-0.01)}
                    for i, token in enumerate(token_ids)]
    completion = SimpleNamespace(text=text, token_ids=tuple(token_ids), logprobs=logprobs,
                                 finish_reason=finish_reason, stop_reason=None)
    return SimpleNamespace(prompt_token_ids=list(prompt), outputs=[completion])


def test_outputs_become_token_exact_generations():
    generation = generation_from_output(vllm_output([10, 11, 12], "hi</a>"))
    assert generation.text == "hi</a>" and generation.token_ids == [10, 11, 12]  # the stop string stays
    assert generation.logprobs == [-0.25, -0.5, -0.75]  # the sampled tokens', not the alternatives'
    assert generation.prompt_token_ids == [1, 2] and generation.token_exact
    assert generation.finish_reason == "stop"
    cut = generation_from_output(vllm_output([7], "x", finish_reason="length", with_logprobs=False))
    assert cut.finish_reason == "length" and cut.logprobs is None and cut.token_ids == [7]
    aborted = generation_from_output(vllm_output([7], "x", finish_reason="abort"))
    assert aborted.finish_reason == "error" and "abort" in aborted.error


def test_processed_logprobs_are_asked_for_where_vllm_has_them():
    assert vllm_engine_kwargs("0.10.1", {"dtype": "bfloat16"}) == {"dtype": "bfloat16"}
    assert vllm_engine_kwargs("0.10.2", {})["logprobs_mode"] == "processed_logprobs"
    assert vllm_engine_kwargs("0.11.0+cu128", {})["logprobs_mode"] == "processed_logprobs"
    assert vllm_engine_kwargs("0.12.0", {"logprobs_mode": "raw_logprobs"})["logprobs_mode"] == "raw_logprobs"


def test_weights_come_as_a_state_dict_or_pairs():
    assert weight_pairs({"a": 1, "b": 2}) == [("a", 1), ("b", 2)]
    assert weight_pairs((name, 0) for name in "xy") == [("x", 0), ("y", 0)]
    with pytest.raises(TypeError, match="state dict or"):
        weight_pairs([("a", 1, 2)])


# ------------------------------------------------------------ glue, fake vllm
class FakeV0LLM:
    """Continues each prompt with its ids reversed and records what it was given; like vLLM's
    V0 engine, it has no ``apply_model`` and the model hangs off the engine."""

    def __init__(self, model, **kwargs):
        self.model, self.kwargs, self.calls, self.loaded, self.resets = model, kwargs, [], [], 0
        self.model_object = SimpleNamespace(load_weights=self.loaded.extend)
        runner = SimpleNamespace(model_runner=SimpleNamespace(model=self.model_object))
        self.llm_engine = SimpleNamespace(model_executor=SimpleNamespace(driver_worker=runner))

    def get_tokenizer(self):
        return TemplateTokenizer()

    def generate(self, prompts, params, use_tqdm=True):
        self.calls.append((prompts, params, use_tqdm))
        return [vllm_output(prompt["prompt_token_ids"][::-1], "done", prompt=prompt["prompt_token_ids"])
                for prompt in prompts]

    def reset_prefix_cache(self):
        self.resets += 1


class FakeLLM(FakeV0LLM):
    """The V1 engine: the model is reached with ``apply_model`` only."""

    def __init__(self, model, **kwargs):
        super().__init__(model, **kwargs)
        del self.llm_engine

    def apply_model(self, func):
        return [func(self.model_object)]


def fake_vllm(monkeypatch, llm_class=FakeLLM, version="0.11.0"):
    module = SimpleNamespace(__version__=version, LLM=llm_class, SamplingParams=lambda **kwargs: kwargs)
    monkeypatch.setitem(sys.modules, "vllm", module)
    return module


def test_generate_sends_token_prompts_with_a_seed_each(monkeypatch):
    fake_vllm(monkeypatch)
    policy = VLLMPolicy("/models/qwen-small/", gpu_memory_utilization=0.5)
    assert policy.name == "qwen-small"
    assert policy.llm.kwargs == {"gpu_memory_utilization": 0.5, "logprobs_mode": "processed_logprobs"}
    requests = [Request([], prompt_token_ids=[1, 2, 3]), Request([{"role": "user", "content": "x"}], seed=99),
                Request([], prompt_token_ids=["not a token"])]
    generations = policy.generate(requests, SamplingParams(max_tokens=4, seed=7))
    [(prompts, params, use_tqdm)] = policy.llm.calls
    assert prompts[0] == {"prompt_token_ids": [1, 2, 3]} and len(prompts) == 2 and use_tqdm is False
    assert [p["seed"] for p in params] == [7, 99] and all(p["max_tokens"] == 4 for p in params)
    assert generations[0].token_ids == [3, 2, 1] and generations[0].prompt_token_ids == [1, 2, 3]
    assert generations[1].prompt_token_ids == [ord(c) for c in "<user>x<assistant>"]
    assert generations[2].finish_reason == "error" and "ValueError" in generations[2].error


def test_load_weights_goes_through_apply_model_then_resets_the_prefix_cache(monkeypatch):
    fake_vllm(monkeypatch)
    policy = VLLMPolicy("m")
    policy.load_weights({"lm_head.weight": "W"})
    assert policy.llm.loaded == [("lm_head.weight", "W")] and policy.llm.resets == 1


def test_load_weights_on_the_v0_engine(monkeypatch):
    fake_vllm(monkeypatch, FakeV0LLM, version="0.6.3")
    policy = VLLMPolicy("m")
    assert "logprobs_mode" not in policy.llm.kwargs
    policy.load_weights([("embed.weight", "E")])
    assert policy.llm.loaded == [("embed.weight", "E")] and policy.llm.resets == 1


def test_without_vllm_the_error_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)
    with pytest.raises(ImportError, match="GPUs only: pip install vllm"):
        VLLMPolicy("m")
