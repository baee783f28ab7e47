"""A LoRA run's adapter folder (``final``, ``checkpoints/step-N``) is a policy: ``hf:FOLDER``
loads the adapter's base model with the adapter applied, so a LoRA run can be evaluated and
served the way a full fine-tune is."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM

from agentgym.cli import main
from agentgym.policies.specs import make_policy
from agentgym.train.model_setup import without_checkpointing_deprecation
from tests.policies.conftest import make_tiny_model

peft = pytest.importorskip("peft", reason="LoRA adapters need peft (the train extra, installed by make setup)")


@pytest.fixture
def adapter_folder(tmp_path, smollm2_tokenizer):
    """A tiny model saved as the base, and a LoRA adapter on it with non-zero weights (a fresh
    adapter's B matrices are zero: it would not change a logit)."""
    base_dir, adapter_dir = tmp_path / "base", tmp_path / "run" / "final"
    make_tiny_model(len(smollm2_tokenizer)).save_pretrained(base_dir)
    smollm2_tokenizer.save_pretrained(base_dir)
    base = AutoModelForCausalLM.from_pretrained(base_dir)  # records base_dir as the adapter's base
    with without_checkpointing_deprecation():
        adapted = peft.get_peft_model(base, peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        for name, weight in adapted.named_parameters():
            if "lora_B" in name:
                weight.normal_(0, 0.5)
    adapted.save_pretrained(adapter_dir)
    smollm2_tokenizer.save_pretrained(adapter_dir)
    return base_dir, adapter_dir, adapted.eval()


def test_an_adapter_folder_is_a_policy_with_the_adapter_applied(adapter_folder):
    base_dir, adapter_dir, adapted = adapter_folder
    policy = make_policy(f"hf:{adapter_dir}")
    ids = torch.tensor([[1, 5, 9, 42, 7]])
    with torch.no_grad():
        got = policy.model(ids).logits
        want = adapted(ids).logits
        base = AutoModelForCausalLM.from_pretrained(base_dir).eval()(ids).logits
    assert not torch.allclose(base, want, atol=1e-3), "the adapter must change the logits for this test to mean anything"
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_a_folder_with_neither_a_model_nor_an_adapter_is_refused_naming_both(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code = main(["eval", "--env", "games/Wordle-v0", "--policy", f"hf:{tmp_path / 'empty'}", "--tasks", "1",
                 "--out", str(tmp_path / "run")])
    assert code == 2
    assert "has no config.json, nor a LoRA adapter's adapter_config.json" in capsys.readouterr().err
