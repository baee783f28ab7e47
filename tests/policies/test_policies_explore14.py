"""Exploratory round 14: the non-model policies (teacher forcing, scripts, the random agent,
specs) met the way a demanding user meets them."""

from __future__ import annotations

import pytest
import torch

from agentgym.policies.base import Request, SamplingParams
from agentgym.policies.hf import HFPolicy
from agentgym.policies.teacher_forced import TeacherForcedPolicy
from tests.byte_bpe import byte_level_bpe
from tests.policies.conftest import make_tiny_model
from tests.rewards.tiny_lm import CHATML_TEMPLATE, CORPUS, SPECIAL_TOKENS, tiny_tokenizer


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def chat_prompt(tokenizer, messages) -> list[int]:
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return list(tokenizer.encode(text, add_special_tokens=False))


def test_a_teacher_with_its_own_tokenizer_reads_the_conversation_not_the_students_tokens():
    """A local model as the teacher (``demonstrations(..., agent=HFPolicy(...))``): the engine's
    prompt ids are the student's tokens, which the teacher read as its own -- outside its
    vocabulary every request was an error, inside it the teacher answered a garbled prompt."""
    student = tiny_tokenizer()
    teacher_tokenizer = byte_level_bpe(CORPUS * 20, vocab_size=300, special_tokens=SPECIAL_TOKENS,
                                       eos_token="<|im_end|>", pad_token="<|im_end|>", chat_template=CHATML_TEMPLATE)
    assert len(teacher_tokenizer) < len(student)
    teacher = HFPolicy(make_tiny_model(len(teacher_tokenizer), max_position_embeddings=256), teacher_tokenizer,
                       prefix_cache=False)
    messages = [[{"role": "user", "content": "Guess a number between 1 and 20."}],
                [{"role": "user", "content": "The secret number is 42."}]]
    sampling = SamplingParams(max_tokens=6, temperature=0)
    alone = teacher.generate([Request(m) for m in messages], sampling)
    forced = TeacherForcedPolicy(teacher, student).generate(
        [Request(m, prompt_token_ids=chat_prompt(student, m)) for m in messages], sampling)
    assert [g.error for g in forced] == [None, None]
    assert [g.text for g in forced] == [g.text for g in alone]
    # The demonstration is recorded on the student's prompt, in the student's tokens.
    assert [g.prompt_token_ids for g in forced] == [chat_prompt(student, m) for m in messages]
    for generation in forced:
        end = [] if generation.finish_reason == "length" else [student.eos_token_id]
        assert generation.token_ids == student.encode(generation.text, add_special_tokens=False) + end


def test_a_vision_language_students_processor_is_a_tokenizer_teacher_forcing_takes():
    """``agentgym sft`` on a vision-language model gives ``demonstrations`` the processor
    (``load_model``'s tokenizer): ``TeacherForcedPolicy`` read ``processor.eos_token_id`` and
    failed with ``AttributeError`` before a single episode; the EOS is its tokenizer's."""
    from agentgym.policies.scripted import ScriptedPolicy
    from agentgym.train.sft import demonstrations
    from tests.vlm.vlm_models import bpe_tokenizer, processor

    tokenizer = bpe_tokenizer("qwen2_vl")
    student = processor("qwen2_vl", tokenizer)
    forced = TeacherForcedPolicy(ScriptedPolicy(["left <|im_end|> then"]), student)
    assert forced.end_token_ids == [tokenizer.eos_token_id]
    reply = forced.generate([Request([{"role": "user", "content": "Where is the square?"}])])[0]
    assert reply.error is None
    assert reply.token_ids == tokenizer.encode("left <|im_end|> then", add_special_tokens=False,
                                               split_special_tokens=True) + [tokenizer.eos_token_id]
    demos = demonstrations(student, "games/GuessTheNumber-v0", seeds=[0], env_kwargs={"difficulty": "easy"})
    assert len(demos) == 1 and demos[0].token_exact and demos[0].success


@pytest.mark.parametrize("inside", ["config.json", "model.safetensors"])
def test_a_checkpoints_file_given_as_the_model_names_the_folder_to_give(tmp_path, inside):
    """``--policy hf:runs/final/config.json`` was refused as 'not a Hugging Face checkpoint folder
    (it has no config.json ...)': the user gave the config.json it says is missing."""
    from agentgym.policies.specs import make_policy

    folder = tmp_path / "final"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "llama"}', encoding="utf-8")
    (folder / "model.safetensors").write_bytes(b"")
    with pytest.raises(ValueError, match="is a file, not a folder") as raised:
        make_policy(f"hf:{folder / inside}")
    assert f"hf:{folder}" in str(raised.value) and "has no config.json" not in str(raised.value)
    loose = tmp_path / "model.gguf"
    loose.write_bytes(b"GGUF")
    with pytest.raises(ValueError, match="is a file, not a folder: give the folder that holds the checkpoint"):
        make_policy(f"hf:{loose}")


def test_an_offline_model_name_that_is_a_missing_run_folder_is_said_to_be_no_folder(tmp_path, monkeypatch):
    """``--policy hf:runs/wordle-sft`` from another directory, or mistyped, reads as the hub name
    ``org/model``: offline, the error spoke of the Hugging Face cache alone and said 'or give a
    folder', to a user who believed they had."""
    from agentgym.policies.specs import make_policy

    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy",
                 "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.example:abc")  # cannot be reached, at once
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="not in the local Hugging Face cache") as raised:
        make_policy("hf:runs/wordle-stf")
    assert f"nor a folder here ({tmp_path})" in str(raised.value)


def test_the_random_agent_takes_a_numpy_seed_and_refuses_what_is_no_integer():
    """``RandomAgent(np.int64(3))`` (seeds from ``np.arange``, as ``agentgym.testing.random_agent``
    gets them) failed with random's 'The only supported seed types are...' TypeError, while
    ``RandomAgent("3")`` and ``RandomAgent(2.5)`` seeded other games than 3 silently; the random
    policy took the one and refused the others."""
    import numpy as np

    from agentgym import make
    from agentgym.policies.random import RandomAgent

    def actions(agent) -> list[str]:
        env = make("games/GuessTheNumber-v0")
        try:
            observation, _ = env.reset(seed=0)
            return [agent(env, observation) for _ in range(5)]
        finally:
            env.close()

    assert actions(RandomAgent(np.int64(3))) == actions(RandomAgent(3))
    for seed in ("3", 2.5, True):
        with pytest.raises(ValueError, match="RandomAgent: seed must be an integer or None"):
            RandomAgent(seed)
