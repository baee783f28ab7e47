"""Training a vision-language policy: the trainer recomputes the rollout's log-probs from the
trajectory's tokens and the images of its messages (multi-turn, several images, packed
micro-batches), refuses trajectories whose images do not match their tokens, and its update
trains the vision tower too."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from agentgym.credit import GRPO
from agentgym.policies.base import SamplingParams
from agentgym.policies.hf_vision import HFVisionPolicy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.train.batching import NotTrainable, check_trainable, pack_rows, training_rows
from agentgym.train.config import ConfigError, TrainConfig
from agentgym.train.trainer import Trainer
from agentgym.train.update import PolicyUpdater, UpdateSettings, score_rows
from agentgym.trajectory import read_trajectories
from tests.vlm.square_world import ENV_ID

TEMPERATURE = 0.9


def multi_turn_rollout(processor, model, tasks=3, group=2, rounds=3, path=None):
    """Trajectories of three-round SquareSide episodes (a new image each round), also written
    to ``path`` (JSONL, images beside it) when given."""
    policy = HFVisionPolicy(model, processor)
    config = RolloutConfig(group_size=group, system_prompt=None,
                           sampling=SamplingParams(max_tokens=3, temperature=TEMPERATURE, seed=0))
    result = rollout(policy, [Task(ENV_ID, seed=s, kwargs={"rounds": rounds}) for s in range(tasks)], config,
                     trajectories_path=path, progress=False)
    return policy, result.trajectories


def masked_difference(logprobs, rows) -> float:
    return max(float(np.abs(lp.numpy()[row.loss_mask] - row.old_logprobs[row.loss_mask]).max())
               for lp, row in zip(logprobs, rows))


def test_the_trainer_recomputes_the_rollouts_logprobs(family, bpe_parts):
    processor, model = bpe_parts
    policy, trajectories = multi_turn_rollout(processor, model)
    exact = [t for t in trajectories if t.token_exact and not t.error]
    assert len(exact) >= 5 and max(len(t.turns) for t in exact) >= 3
    rows, report = training_rows(exact, GRPO()(exact), vision=policy.family, on_untrainable="error")
    assert report.kept == list(range(len(exact)))
    for row, trajectory in zip(rows, exact):
        assert len(row.images) >= len(trajectory.turns)  # one image per round at least
        assert sum(image.num_tokens for image in row.images) == int(
            (row.token_ids == policy.family.image_token_id).sum())
        assert (row.rope_positions is not None) == (family == "qwen2_vl")
    # Every row packed with the others (one micro-batch), and each alone: the rollout's log-probs.
    for budget in (100_000, 1):
        logprobs, _ = score_rows(model, rows, temperature=TEMPERATURE, token_budget=budget)
        assert masked_difference(logprobs, rows) < 1e-5


@pytest.mark.parametrize("lazy", [False, True], ids=["arrays", "lazy-refs"])
def test_trajectories_read_back_from_their_file_train_the_same(tmp_path, bpe_parts, lazy):
    """Images stored as files beside the JSONL come back as the same pixels: the rows read back
    hold the same image inputs, and their log-probs are still the rollout's."""
    processor, model = bpe_parts
    path = tmp_path / "rollouts.jsonl"
    policy, trajectories = multi_turn_rollout(processor, model, tasks=2, group=2, path=path)
    def key(trajectory):
        return trajectory.group_id, trajectory.metadata["rollout_index"]

    stored = sorted(read_trajectories(path, lazy_images=lazy), key=key)  # written as episodes end
    trajectories = sorted(trajectories, key=key)
    assert [t.token_ids for t in stored] == [t.token_ids for t in trajectories]
    kept = [i for i, t in enumerate(trajectories) if check_trainable(t, policy.family) is None]
    assert len(kept) >= 3
    fresh = HFVisionPolicy(model, processor).family  # an empty image cache: every image read and processed again
    rows, _ = training_rows([stored[i] for i in kept], GRPO()([stored[i] for i in kept]), vision=fresh,
                            on_untrainable="error")
    originals, _ = training_rows([trajectories[i] for i in kept], GRPO()([trajectories[i] for i in kept]),
                                 vision=policy.family)
    for row, original in zip(rows, originals):
        assert len(row.images) == len(original.images)
        for image, reference in zip(row.images, original.images):
            assert image.tensors.keys() == reference.tensors.keys()
            assert all(torch.equal(image.tensors[k], reference.tensors[k]) for k in image.tensors)
        np.testing.assert_array_equal(row.old_logprobs, original.old_logprobs)
    logprobs, _ = score_rows(model, rows, temperature=TEMPERATURE, token_budget=100_000)
    assert masked_difference(logprobs, rows) < 1e-5


def test_first_update_ratios_are_one_and_the_vision_tower_learns(family, bpe_parts):
    processor, model = bpe_parts
    policy, trajectories = multi_turn_rollout(processor, model, tasks=2, group=4)
    exact = [t for t in trajectories if check_trainable(t, policy.family) is None]
    rows, _ = training_rows(exact, GRPO()(exact), vision=policy.family)
    before = copy.deepcopy(model.state_dict())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    metrics = PolicyUpdater(model, optimizer, UpdateSettings(temperature=TEMPERATURE, micro_batch_tokens=256)
                            ).update(rows)
    assert metrics["ratio_max"] == pytest.approx(1.0, abs=1e-4)  # one optimizer step: old == new
    assert metrics["micro_batches"] >= 2
    vision = [name for name in before if name.startswith(("model.visual.", "model.vision_model."))]
    assert vision and any(not torch.equal(before[name], model.state_dict()[name]) for name in vision)


def test_trajectories_whose_images_do_not_match_are_refused(bpe_parts):
    processor, model = bpe_parts
    policy, trajectories = multi_turn_rollout(processor, model, tasks=1, group=2)
    damaged = copy.deepcopy(trajectories[0])
    with_images = [m for m in damaged.messages if isinstance(m.get("content"), list)]
    assert len(with_images) >= 3
    for message in with_images[1:]:  # the record lost all images but the first
        message["content"] = [part for part in message["content"] if part["type"] != "image"]
    reason = check_trainable(damaged, policy.family)
    assert reason and "images do not match" in reason
    assert check_trainable(damaged) is None  # without vision the image tokens are not checked
    pair = [trajectories[1], damaged]
    rows, report = training_rows(pair, GRPO()(pair), vision=policy.family)
    assert len(rows) == 1 and 1 in report.skipped
    with pytest.raises(NotTrainable, match="images do not match"):
        training_rows(pair, GRPO()(pair), vision=policy.family, on_untrainable="error")


def test_text_only_rows_are_unchanged():
    """Rows without vision carry no images, and micro-batches none (the text path as before)."""
    from tests.train.word_world import ENV_ID as WORD_ENV, register, tiny_model, word_tokenizer
    from agentgym.policies.hf import HFPolicy

    register()
    result = rollout(HFPolicy(tiny_model(0), word_tokenizer()), [Task(WORD_ENV, seed=0)],
                     RolloutConfig(group_size=2, system_prompt=None, sampling=SamplingParams(max_tokens=2, seed=1)),
                     progress=False)
    rows, _ = training_rows(result.trajectories, GRPO()(result.trajectories))
    assert all(row.images is None and row.rope_positions is None and row.vision is None for row in rows)
    (batch,), _ = pack_rows(rows, [1.0] * len(rows), 10_000)
    assert batch.images is None and batch.rope_position_ids is None and batch.vision is None


def vlm_config(tmp_path, **sections) -> TrainConfig:
    base = {
        "run": {"steps": 2, "seed": 0, "out_dir": str(tmp_path)},
        "env": {"id": ENV_ID, "tasks_per_step": 2, "train_seeds": [0, 1000], "kwargs": {"rounds": 2}},
        "rollout": {"group_size": 4, "max_tokens": 2, "temperature": 1.0, "system_prompt": ""},
        "optimizer": {"lr": 1e-3},
        "checkpoint": {"every": 0, "save_final": False},
        "logging": {"console": False, "plot": False},
    }
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}
    return TrainConfig.from_dict(base)


def test_the_trainer_trains_a_vision_language_policy(tmp_path, word_parts):
    processor, model = word_parts
    before = {name: value.clone() for name, value in model.state_dict().items()}
    trainer = Trainer(vlm_config(tmp_path, loss={"kl_coef": 0.05}), model=model, tokenizer=processor)
    assert isinstance(trainer.policy, HFVisionPolicy)
    history = trainer.train()
    assert len(history) == 2
    for record in history:
        assert record["rollout/untrainable"] == 0
        assert np.isfinite(record["train/loss"]) and record["train/ratio_mean"] == pytest.approx(1.0, abs=0.2)
        assert record["train/kl"] >= 0  # the reference (a frozen copy) scored the images too
    assert any(not torch.equal(before[name], value) for name, value in model.state_dict().items())


def test_ppo_scores_the_images_with_its_value_head(tmp_path, word_parts):
    processor, model = word_parts
    trainer = Trainer(vlm_config(tmp_path, algorithm={"name": "ppo"}, run={"steps": 1}), model=model,
                      tokenizer=processor)
    (record,) = trainer.train()
    assert record["rollout/untrainable"] == 0 and np.isfinite(record["train/value_loss"])


def test_lora_adapters_train_with_the_base_model_as_reference(tmp_path, word_parts):
    processor, model = word_parts
    trainer = Trainer(vlm_config(tmp_path, model={"lora": {"enabled": True, "r": 4, "alpha": 8}},
                                 loss={"kl_coef": 0.05}, run={"steps": 1}), model=model, tokenizer=processor)
    adapters = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}
    assert adapters and all("lora_" in name for name in adapters)
    (record,) = trainer.train()
    assert record["rollout/untrainable"] == 0 and record["train/ratio_max"] == pytest.approx(1.0, abs=1e-4)
    assert record["train/kl"] == pytest.approx(0.0, abs=1e-5)  # LoRA's B starts at 0: policy == reference
    changed = {n for n, p in trainer.model.named_parameters() if p.requires_grad and not torch.equal(adapters[n], p)}
    assert changed


def test_a_vision_language_model_folder_trains_from_its_configuration(tmp_path):
    """``model.path`` naming a saved VLM loads the model with its processor."""
    from tests.vlm.vlm_models import word_tokenizer, processor as make_processor, tiny_vlm

    tokenizer = word_tokenizer("idefics3")
    proc = make_processor("idefics3", tokenizer)
    tiny_vlm("idefics3", tokenizer, seed=3).save_pretrained(tmp_path / "model")
    proc.save_pretrained(tmp_path / "model")
    trainer = Trainer(vlm_config(tmp_path / "run", model={"path": str(tmp_path / "model")}, run={"steps": 1}))
    assert isinstance(trainer.policy, HFVisionPolicy) and trainer.vision is trainer.policy.family
    (record,) = trainer.train()
    assert record["rollout/untrainable"] == 0 and np.isfinite(record["train/loss"])


def test_what_cannot_train_a_vision_language_model_is_refused(tmp_path, word_parts):
    processor, model = word_parts
    with pytest.raises(ConfigError, match="igpo"):
        Trainer(vlm_config(tmp_path, algorithm={"name": "igpo"}), model=model, tokenizer=processor)
