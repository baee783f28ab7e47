"""``agentgym serve-policy``: argument checks, and a real run over a tiny checkpoint built here."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest

from agentgym.cli import main
from agentgym.policies.base import Request, SamplingParams
from tests.server_startup import url_from_startup_line

CHAT_TEMPLATE = ("{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\n' }}{% endfor %}"
                 "{% if add_generation_prompt %}{{ 'assistant: ' }}{% endif %}")


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A one-layer random Llama and a byte-level BPE tokenizer with a chat template, saved as a
    Hugging Face checkpoint folder; also returns an in-process HFPolicy over the same model."""
    from agentgym.policies.hf import HFPolicy

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from tests.byte_bpe import byte_level_bpe

    tokenizer = byte_level_bpe(["user: guess the number\nassistant: 42\n"] * 10, vocab_size=300,
                               special_tokens=["<s>", "</s>"], bos_token="<s>", eos_token="</s>",
                               chat_template=CHAT_TEMPLATE)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64,
                         bos_token_id=0, eos_token_id=1, initializer_range=0.5)
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-checkpoint")
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder, HFPolicy(model, tokenizer)


def test_help_names_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["serve-policy", "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    for option in ("--model", "--host", "--port", "--name", "--max-batch-size", "embedded", "--api-key",
                   "AGENTGYM_API_KEY", "--max-body-mb"):
        assert option in out


@pytest.mark.parametrize("argv, message", [
    (["--port", "70000"], "--port must be between 0 and 65535"),
    (["--max-batch-size", "0"], "--max-batch-size must be at least 1"),
    (["--max-body-mb", "0"], "--max-body-mb: must be a positive number"),
    (["--api-key", ""], "--api-key is empty"),
    (["--host", "0.0.0.0"], "without an API key"),
    (["--host", "192.168.0.7"], "Give a key with --api-key or the AGENTGYM_API_KEY environment variable"),
])
def test_bad_arguments_are_clear_errors(capsys, monkeypatch, argv, message):
    monkeypatch.delenv("AGENTGYM_API_KEY", raising=False)
    assert main(["serve-policy", *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_folder_that_is_not_a_checkpoint_is_a_clear_error(capsys, tmp_path):
    assert main(["serve-policy", "--model", str(tmp_path)]) == 2
    assert "not a Hugging Face checkpoint folder: it has no config.json" in capsys.readouterr().err


@pytest.mark.slow  # a process that imports torch and transformers
def test_serves_a_checkpoint_until_interrupted(tiny_checkpoint):
    folder, local = tiny_checkpoint
    command = [sys.executable, "-m", "agentgym", "serve-policy", "--model", str(folder), "--port", "0",
               "--name", "tiny"]
    # The key comes from the environment, as a deployment would pass it (not on the command line).
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "AGENTGYM_API_KEY": "k-123"})
    try:
        base_url = url_from_startup_line(process, timeout=120) + "/v1"
        assert httpx.get(f"{base_url}/models").status_code == 401
        key = {"authorization": "Bearer k-123"}
        assert [m["id"] for m in httpx.get(f"{base_url}/models", headers=key).json()["data"]] == ["tiny"]
        body = {"prompt": [5, 6, 7], "max_tokens": 4, "temperature": 0, "return_token_ids": True, "logprobs": 1}
        choice = httpx.post(f"{base_url}/completions", json=body, headers=key, timeout=60).json()["choices"][0]
        [expected] = local.generate([Request([], prompt_token_ids=[5, 6, 7])], SamplingParams(max_tokens=4, temperature=0))
        assert choice["prompt_token_ids"] == [5, 6, 7] and choice["token_ids"] == expected.token_ids
        assert choice["logprobs"]["token_logprobs"] == pytest.approx(expected.logprobs, abs=1e-5)
    finally:
        process.send_signal(signal.SIGINT)
        returncode = process.wait(timeout=30)
    assert returncode == 0
