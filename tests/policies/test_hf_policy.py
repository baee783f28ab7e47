"""HFPolicy on a tiny random Llama with SmolLM2's real tokenizer (fixtures in conftest.py).

The reference for every generation is a teacher-forced forward pass over prompt + generated
tokens: the sampled tokens must be the ones the model's logits support (greedy: the argmax) and
their log-probabilities must be ``log_softmax(logits / temperature)`` of those tokens.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import warnings
from collections import Counter

import pytest
import torch
from transformers import AutoTokenizer

from agentgym.policies.base import Request, SamplingParams
from agentgym.policies.hf import HFPolicy, quiet_transformers
from agentgym.rollout.transcript import TokenTranscript

CONVERSATIONS = [
    [{"role": "user", "content": "hi"}],
    [{"role": "system", "content": "You play a guessing game."},
     {"role": "user", "content": "Guess a number between 1 and 100. Answer with the number only."}],
    [{"role": "user", "content": "Describe the board: a 3x3 grid with X in the centre and O in a corner."}],
]
GREEDY = SamplingParams(max_tokens=10, temperature=0)


def requests() -> list[Request]:
    return [Request(messages) for messages in CONVERSATIONS]


def template_ids(tokenizer, messages, tools=None) -> list[int]:
    kwargs = {"tools": tools} if tools else {}
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **kwargs)
    return tokenizer.encode(text, add_special_tokens=False)


def teacher_forced(model, prompt: list[int], generated: list[int], temperature: float):
    """Argmax tokens and ``log_softmax(logits / temperature)`` of ``generated``, from one forward
    pass over the whole sequence."""
    with torch.no_grad():
        logits = model(torch.tensor([prompt + generated])).logits[0, len(prompt) - 1: -1].float()
    scaled = logits / temperature if temperature > 0 else logits
    logprobs = torch.log_softmax(scaled, dim=-1).gather(-1, torch.tensor(generated)[:, None]).squeeze(-1)
    return logits.argmax(-1).tolist(), logprobs.tolist()


def assert_token_exact(model, generation, sampling: SamplingParams) -> None:
    argmax, logprobs = teacher_forced(model, generation.prompt_token_ids, generation.token_ids, sampling.temperature)
    assert generation.logprobs == pytest.approx(logprobs, abs=1e-4)
    if sampling.greedy:
        assert generation.token_ids == argmax


@pytest.mark.parametrize("sampling", [
    GREEDY,
    SamplingParams(max_tokens=10, temperature=0.7, top_p=0.9, seed=11),
    SamplingParams(max_tokens=10, temperature=1.3, seed=5),
], ids=["greedy", "t0.7-top_p0.9", "t1.3"])
@pytest.mark.parametrize("batched", [False, True], ids=["alone", "padded-batch"])
def test_tokens_and_logprobs_match_a_teacher_forced_pass(tiny_policy, tiny_model, smollm2_tokenizer, sampling, batched):
    if batched:
        generations = tiny_policy.generate(requests(), sampling)
    else:
        generations = [tiny_policy.generate([request], sampling)[0] for request in requests()]
    assert len({len(g.prompt_token_ids) for g in generations}) == 3  # the batch really was padded
    for generation, messages in zip(generations, CONVERSATIONS):
        assert generation.prompt_token_ids == template_ids(smollm2_tokenizer, messages)
        assert generation.finish_reason == "length" and len(generation.token_ids) == 10
        assert generation.text == smollm2_tokenizer.decode(generation.token_ids, skip_special_tokens=True,
                                                           clean_up_tokenization_spaces=False)
        assert_token_exact(tiny_model, generation, sampling)


def test_greedy_equals_model_generate_on_a_left_padded_batch(tiny_policy, tiny_model):
    generations = tiny_policy.generate(requests(), GREEDY)
    prompts = [g.prompt_token_ids for g in generations]
    width = max(map(len, prompts))
    input_ids = torch.tensor([[2] * (width - len(p)) + p for p in prompts])
    attention_mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    with torch.no_grad():
        output = tiny_model.generate(input_ids=input_ids, attention_mask=attention_mask, do_sample=False,
                                     max_new_tokens=GREEDY.max_tokens, pad_token_id=2)
    assert [g.token_ids for g in generations] == output[:, width:].tolist()


def test_seeded_samples_are_reproducible_and_independent_of_the_batch(tiny_model, smollm2_tokenizer):
    sampling = SamplingParams(max_tokens=8, temperature=1.0, seed=100)
    policy = HFPolicy(tiny_model, smollm2_tokenizer)
    batch = policy.generate(requests(), sampling)
    assert [g.token_ids for g in policy.generate(requests(), sampling)] == [g.token_ids for g in batch]
    # Request i samples with seed + i, whatever else is in its batch and however it is split.
    for i, request in enumerate(requests()):
        alone = policy.generate([request], SamplingParams(max_tokens=8, temperature=1.0, seed=100 + i))[0]
        assert alone.token_ids == batch[i].token_ids
        assert alone.logprobs == pytest.approx(batch[i].logprobs, abs=1e-5)
    # Request.seed overrides seed + i.
    chosen = policy.generate([requests()[0], Request(CONVERSATIONS[2], seed=102)], SamplingParams(max_tokens=8, seed=9))
    assert chosen[1].token_ids == batch[2].token_ids
    split = HFPolicy(tiny_model, smollm2_tokenizer, max_batch_size=2).generate(requests(), sampling)
    assert [g.token_ids for g in split] == [g.token_ids for g in batch]
    # The same conversation five times: five different samples.
    same = policy.generate([requests()[0]] * 5, sampling)
    assert same[0].token_ids == batch[0].token_ids
    assert len({tuple(g.token_ids) for g in same}) == 5


def test_samples_follow_the_tempered_distribution_and_stay_in_the_nucleus(tiny_model, smollm2_tokenizer):
    n = 400
    policy = HFPolicy(tiny_model, smollm2_tokenizer, max_batch_size=n)
    prompt = template_ids(smollm2_tokenizer, CONVERSATIONS[1])
    with torch.no_grad():
        logits = tiny_model(torch.tensor([prompt])).logits[0, -1]
    for top_p in (1.0, 0.6):
        sampling = SamplingParams(max_tokens=1, temperature=0.5, top_p=top_p, seed=7)
        generations = policy.generate([Request([], prompt_token_ids=prompt)] * n, sampling)
        counts = Counter(g.token_ids[0] for g in generations)
        probs = torch.softmax(logits / 0.5, dim=-1)
        ranked = probs.argsort(descending=True)
        nucleus = ranked[: int(((probs[ranked].cumsum(0) - probs[ranked]) < top_p).sum())]
        assert set(counts) <= set(nucleus.tolist())
        target = probs[nucleus] / probs[nucleus].sum()
        for token, p in zip(nucleus[:3].tolist(), target[:3].tolist()):
            assert abs(counts[token] / n - p) < 4 * (p * (1 - p) / n) ** 0.5 + 1e-3


def test_tiny_top_p_is_greedy(tiny_policy):
    greedy = tiny_policy.generate(requests(), GREEDY)
    nucleus_of_one = tiny_policy.generate(requests(),
                                          SamplingParams(max_tokens=10, temperature=0.9, top_p=1e-6, seed=3))
    assert [g.token_ids for g in nucleus_of_one] == [g.token_ids for g in greedy]


def test_stop_strings_end_the_generation_right_after_the_first_match(tiny_policy, smollm2_tokenizer):
    sampling = SamplingParams(max_tokens=16, temperature=0)
    full = tiny_policy.generate(requests()[:1], sampling)[0]

    def decode(ids):
        return smollm2_tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)

    middle = len(full.text) // 2
    stop = full.text[middle: middle + 3]
    later = decode(full.token_ids[-1:])  # also a stop string, but one that completes later
    assert full.text.index(later) > full.text.index(stop)
    # The expected cut: the first prefix of the tokens whose text holds the stop string.
    n = next(n for n in range(1, len(full.token_ids) + 1) if stop in decode(full.token_ids[:n]))
    assert n < len(full.token_ids)
    text = decode(full.token_ids[:n])
    stopped = tiny_policy.generate(requests()[:1], SamplingParams(max_tokens=16, temperature=0, stop=(later, stop)))[0]
    assert stopped.finish_reason == "stop"
    assert stopped.token_ids == full.token_ids[:n]  # every sampled token kept, the stop's own included
    assert stopped.text == text[: text.index(stop) + len(stop)]
    assert stopped.text.endswith(stop) and stop not in stopped.text[:-1]


def test_max_tokens_ends_with_length(tiny_policy):
    generation = tiny_policy.generate(requests()[:1], SamplingParams(max_tokens=3, temperature=0))[0]
    assert generation.finish_reason == "length" and len(generation.token_ids) == 3 and len(generation.logprobs) == 3


def test_logprobs_can_be_left_out(tiny_policy):
    generation = tiny_policy.generate(requests()[:1], SamplingParams(max_tokens=3, temperature=0, logprobs=False))[0]
    assert generation.logprobs is None and len(generation.token_ids) == 3


def test_context_end_caps_the_generation(tiny_policy, tiny_model):
    prompt = list(range(100, 100 + tiny_model.config.max_position_embeddings - 2))
    generation = tiny_policy.generate([Request([], prompt_token_ids=prompt)], GREEDY)[0]
    assert generation.finish_reason == "length" and len(generation.token_ids) == 2


def test_eos_tokens_of_tokenizer_and_generation_config_end_the_generation(tiny_model, smollm2_tokenizer):
    request = requests()[0]
    first = HFPolicy(tiny_model, smollm2_tokenizer).generate([request], GREEDY)[0].token_ids[0]
    # generation_config.eos_token_id may be a list: any of its ids ends the generation.
    tiny_model.generation_config.eos_token_id = [12345, first]
    stopped = HFPolicy(tiny_model, smollm2_tokenizer).generate([request], GREEDY)[0]
    assert (stopped.token_ids, stopped.finish_reason) == ([first], "stop")
    assert stopped.text == smollm2_tokenizer.decode([first])
    # Make the tokenizer's EOS (<|im_end|>, id 2, special) the clear argmax after the prompt: it
    # ends the generation, is kept in token_ids and left out of the text.
    tiny_model.generation_config.eos_token_id = None
    prompt = template_ids(smollm2_tokenizer, request.messages)
    with torch.no_grad():
        hidden = tiny_model.model(torch.tensor([prompt])).last_hidden_state[0, -1]
        tiny_model.lm_head.weight[smollm2_tokenizer.eos_token_id] = 60 * hidden / hidden.norm() ** 2
    ended = HFPolicy(tiny_model, smollm2_tokenizer).generate([request], GREEDY)[0]
    assert (ended.token_ids, ended.text, ended.finish_reason) == ([smollm2_tokenizer.eos_token_id], "", "stop")
    assert ended.logprobs[0] == pytest.approx(0.0, abs=1e-3)


def test_prompt_token_ids_are_continued_verbatim_across_turns(tiny_policy, tiny_model, smollm2_tokenizer):
    transcript = TokenTranscript(smollm2_tokenizer, CONVERSATIONS[1])
    sampling = SamplingParams(max_tokens=6, temperature=0.8, seed=1)
    for observation in ("Too high.", "Too low."):
        # messages are stale on purpose: a token-level policy must not re-template them.
        request = Request([{"role": "user", "content": "ignore me"}], prompt_token_ids=transcript.prompt_ids)
        generation = tiny_policy.generate([request], sampling)[0]
        assert generation.prompt_token_ids == transcript.prompt_ids
        assert_token_exact(tiny_model, generation, sampling)
        transcript.add_generation(generation.token_ids, generation.logprobs, generation.text)
        transcript.add_observation([{"role": "user", "content": observation}])
    # A non-canonical tokenisation (one token per character) is kept as given, too.
    characters = [smollm2_tokenizer.convert_tokens_to_ids(c) for c in "Hello"]
    prompt = template_ids(smollm2_tokenizer, CONVERSATIONS[0]) + characters
    generation = tiny_policy.generate([Request([], prompt_token_ids=prompt)], GREEDY)[0]
    assert generation.prompt_token_ids == prompt
    assert_token_exact(tiny_model, generation, GREEDY)


TOOLS_TEMPLATE = (
    "{% if tools %}<|im_start|>system\nTools: {{ tools | tojson }}<|im_end|>\n{% endif %}"
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
TOOLS = [{"type": "function", "function": {"name": "guess_number", "description": "Guess the secret number.",
                                           "parameters": {"type": "object", "properties": {"n": {"type": "integer"}}}}}]


def test_chat_template_renders_the_tools(tiny_model, smollm2_tokenizer_dir):
    tokenizer = AutoTokenizer.from_pretrained(smollm2_tokenizer_dir)
    tokenizer.chat_template = TOOLS_TEMPLATE
    policy = HFPolicy(tiny_model, tokenizer)
    with_tools, without = policy.generate([Request(CONVERSATIONS[0], tools=TOOLS), Request(CONVERSATIONS[0])], GREEDY)
    assert with_tools.prompt_token_ids == template_ids(tokenizer, CONVERSATIONS[0], TOOLS)
    assert "guess_number" in tokenizer.decode(with_tools.prompt_token_ids)
    assert without.prompt_token_ids == template_ids(tokenizer, CONVERSATIONS[0])
    assert "Tools:" not in tokenizer.decode(without.prompt_token_ids)


def test_a_bad_request_fails_alone(tiny_policy, tiny_model, smollm2_tokenizer):
    too_long = Request([], prompt_token_ids=[100] * tiny_model.config.max_position_embeddings)
    out_of_vocabulary = Request([], prompt_token_ids=[5, len(smollm2_tokenizer) + 7])
    empty = Request([], prompt_token_ids=[])
    good = requests()
    generations = tiny_policy.generate([good[0], too_long, good[1], out_of_vocabulary, empty, good[2]], GREEDY)
    errors = [generations[i] for i in (1, 3, 4)]
    assert all(g.finish_reason == "error" and g.token_ids is None for g in errors)
    assert "context" in errors[0].error and "vocabulary" in errors[1].error and "empty" in errors[2].error
    fine = [generations[i] for i in (0, 2, 5)]
    assert [g.token_ids for g in fine] == [g.token_ids for g in tiny_policy.generate(good, GREEDY)]


def test_from_pretrained_loads_a_saved_model(tiny_policy, tiny_model, smollm2_tokenizer, tmp_path):
    folder = tmp_path / "tiny-llama"
    tiny_model.save_pretrained(folder)
    smollm2_tokenizer.save_pretrained(folder)
    loaded = HFPolicy.from_pretrained(str(folder), dtype=torch.float32, max_batch_size=2)
    assert loaded.name == "tiny-llama" and loaded.max_batch_size == 2
    assert [g.token_ids for g in loaded.generate(requests(), GREEDY)] == \
        [g.token_ids for g in tiny_policy.generate(requests(), GREEDY)]


def test_concurrent_agenerate_calls_give_the_same_results(tiny_policy):
    sampling = SamplingParams(max_tokens=6, temperature=1.0, seed=42)

    async def both():
        return await asyncio.gather(tiny_policy.agenerate(requests(), sampling),
                                    tiny_policy.agenerate(requests()[::-1], sampling))

    forward, backward = asyncio.run(both())
    assert [g.token_ids for g in forward] == [g.token_ids for g in tiny_policy.generate(requests(), sampling)]
    assert [g.token_ids for g in backward] == [g.token_ids for g in tiny_policy.generate(requests()[::-1], sampling)]


def test_max_batch_size_must_be_positive(tiny_model, smollm2_tokenizer):
    with pytest.raises(ValueError, match="max_batch_size"):
        HFPolicy(tiny_model, smollm2_tokenizer, max_batch_size=0)


def test_importing_the_policies_package_does_not_import_torch():
    code = ("import sys, agentgym.policies as p; assert 'torch' not in sys.modules; "
            "assert p.HFPolicy.__name__ == 'HFPolicy' and 'torch' in sys.modules")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_generation_uses_no_deprecated_model_argument(tiny_policy):
    # transformers >= 5.25 renamed the forward's ``past_key_values`` to ``cache`` and warns
    # (FutureWarning) on the old name at every call; as an error it would fail the batch.
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        generations = tiny_policy.generate(requests(), GREEDY)
    assert [g.finish_reason for g in generations] == ["length"] * 3, [g.error for g in generations]


def test_a_lora_wrapped_model_generates_without_deprecated_arguments(tiny_model, smollm2_tokenizer):
    peft = pytest.importorskip("peft", reason="LoRA wrapping needs peft (agentgym[train])")
    with warnings.catch_warnings():  # peft's own call of a deprecated transformers property
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        model = peft.get_peft_model(tiny_model, peft.LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        generations = HFPolicy(model, smollm2_tokenizer).generate(requests(), GREEDY)
    assert [g.finish_reason for g in generations] == ["length"] * 3, [g.error for g in generations]
    # LoRA starts as the identity: the same tokens as the bare model.
    assert [g.token_ids for g in generations] == [g.token_ids for g in
                                                 HFPolicy(model.get_base_model(), smollm2_tokenizer).generate(
                                                     requests(), GREEDY)]


def test_loading_is_quiet_and_restores_transformers_settings(tiny_model, smollm2_tokenizer, tmp_path, capfd):
    from transformers.utils import logging as transformers_logging

    folder = tmp_path / "tiny-llama"
    tiny_model.save_pretrained(folder)
    smollm2_tokenizer.save_pretrained(folder)
    capfd.readouterr()
    before = (transformers_logging.get_verbosity(), transformers_logging.is_progress_bar_enabled())
    HFPolicy.from_pretrained(str(folder))
    err = capfd.readouterr().err
    assert "Loading weights" not in err and "%|" not in err  # no progress bar of any kind
    assert (transformers_logging.get_verbosity(), transformers_logging.is_progress_bar_enabled()) == before
    # Inside the block, a user's stricter verbosity is kept; a looser one is raised to errors only.
    transformers_logging.set_verbosity(transformers_logging.CRITICAL)
    try:
        with quiet_transformers():
            assert transformers_logging.get_verbosity() == transformers_logging.CRITICAL
            assert not transformers_logging.is_progress_bar_enabled()
    finally:
        transformers_logging.set_verbosity(before[0])
    with quiet_transformers():
        assert transformers_logging.get_verbosity() == transformers_logging.ERROR


def test_cancelling_a_generation_stops_its_decode_loop(tiny_model_factory, smollm2_tokenizer):
    """A cancelled ``agenerate`` (a server's client hung up) must not keep the model busy: the
    decode loop stops at its next token instead of running to ``max_tokens``."""
    model = tiny_model_factory(len(smollm2_tokenizer), max_position_embeddings=4096)
    policy = HFPolicy(model, smollm2_tokenizer)
    forwards = 0
    started = asyncio.Event()
    original = policy._next_token_logits

    def counting(*args, **kwargs):
        nonlocal forwards
        forwards += 1
        if forwards == 3:
            loop.call_soon_threadsafe(started.set)
        return original(*args, **kwargs)

    policy._next_token_logits = counting
    never_stops = SamplingParams(max_tokens=3000, temperature=1.0, seed=0)
    policy.eos_token_ids = frozenset()  # only the token budget (or cancellation) can end it

    async def scenario():
        task = asyncio.create_task(policy.agenerate(requests()[:1], never_stops))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)
        # The thread finishes the forward it is in, then sees the cancellation: the lock frees.
        async with asyncio.timeout(30):
            while policy._lock.locked():
                await asyncio.sleep(0.01)

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(scenario())
    finally:
        loop.close()
    assert 3 <= forwards < 100, f"the decode loop ran {forwards} forward passes after cancellation"


@pytest.mark.parametrize("token", [1.5, "12", None, True])
def test_prompt_token_ids_that_are_no_integers_fail_their_request_alone(tiny_policy, token):
    """int() made 1.5 and "12" into other prompts without a word."""
    bad, good = tiny_policy.generate([Request([], prompt_token_ids=[5, token]), Request([], prompt_token_ids=[5, 6])],
                                     GREEDY)
    assert bad.finish_reason == "error" and "prompt token ids must be integers" in bad.error
    assert good.error is None and good.token_ids
