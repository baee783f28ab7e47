"""The weights an inference engine gets after each update (plain and LoRA), and the trainer's
hand-over to a vLLM-style engine."""

from __future__ import annotations

import importlib.machinery
import sys
import types

import pytest
import torch

from agentgym.policies.hf import HFPolicy
from agentgym.train.config import LoraSection
from agentgym.train.model_setup import wrap_lora
from agentgym.train.trainer import Trainer
from agentgym.train.weights import inference_weights
from tests.train.conftest import learner, world_config
from tests.train.word_world import tiny_model, word_tokenizer

IDS = torch.tensor([[1, 5, 9, 3, 7, 2]])


def _logits(model) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=IDS).logits


def test_a_plain_model_hands_over_copies_of_its_state_dict():
    model = tiny_model(0)
    weights = inference_weights(model)
    assert weights.keys() == model.state_dict().keys()
    name = next(iter(weights))
    weights[name].add_(1.0)
    assert not torch.equal(weights[name], model.state_dict()[name])


def test_lora_hands_over_merged_weights_under_the_base_names():
    pytest.importorskip("peft", reason="LoRA needs peft (agentgym[train])")
    model = wrap_lora(tiny_model(0), LoraSection(enabled=True, r=4, alpha=8, target_modules=["q_proj", "v_proj"]))
    with torch.no_grad():  # LoRA starts as the identity (B = 0): make the adapters matter
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(std=0.5)
    before = _logits(model)
    weights = inference_weights(model)
    assert weights.keys() == tiny_model(0).state_dict().keys()
    plain = tiny_model(1)  # other weights: everything must come from the hand-over
    plain.load_state_dict(weights, strict=True)
    assert not torch.allclose(_logits(tiny_model(0)), before, atol=1e-3)
    assert torch.allclose(_logits(plain), before, atol=1e-5)
    assert torch.equal(_logits(model), before)  # the frozen base is untouched, bit for bit
    assert any("lora_" in name for name, p in model.named_parameters() if p.requires_grad)


class _RecordingEngine(HFPolicy):
    """Stands in for vLLM (not installable here): generates with its own copy of the model,
    which only ever gets weights through ``load_weights``, as the real engine."""

    instances: list[_RecordingEngine] = []

    def __init__(self, path: str) -> None:
        super().__init__(tiny_model(7, hidden_size=64), word_tokenizer())
        self.loads = 0
        _RecordingEngine.instances.append(self)

    def load_weights(self, weights) -> None:
        self.model.load_state_dict(weights, strict=True)
        self.loads += 1


@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
def test_the_trainer_hands_the_new_weights_to_a_vllm_engine_after_every_update(tmp_path, monkeypatch, lora):
    if lora:
        pytest.importorskip("peft", reason="LoRA needs peft (agentgym[train])")
    fake_vllm = types.ModuleType("vllm")
    fake_vllm.__spec__ = importlib.machinery.ModuleSpec("vllm", None)
    monkeypatch.setitem(sys.modules, "vllm", fake_vllm)  # passes the config's "is vLLM installed" check
    monkeypatch.setattr("agentgym.policies.vllm_engine.VLLMPolicy", _RecordingEngine)
    _RecordingEngine.instances.clear()
    sections = {"run": {"steps": 2}, "rollout": {"backend": "vllm"}}
    if lora:
        sections["model"] = {"lora": {"enabled": True, "r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]}}
        sections["optimizer"] = {"lr": 1e-2}
    trainer = Trainer(world_config(tmp_path, **sections), **learner())
    history = trainer.train()
    (engine,) = _RecordingEngine.instances
    assert trainer.policy is engine and engine.loads == 1 + len(history)
    assert torch.allclose(_logits(engine.model), _logits(trainer.model), atol=1e-5)
    assert not torch.allclose(_logits(learner()["model"]), _logits(trainer.model), atol=1e-4)  # it trained


def test_wrapping_lora_warns_nothing():
    """peft's own deprecation noise (``is_gradient_checkpointing``) does not reach the user."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wrap_lora(tiny_model(0), LoraSection(enabled=True, r=4, alpha=8, target_modules=["q_proj", "v_proj"]))
