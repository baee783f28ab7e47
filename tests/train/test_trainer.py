"""The training loop: exact resume, reference KL, LoRA, filters, curricula, logs, CLI."""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch

from agentgym.cli import main
from agentgym.train.batching import NotTrainable
from agentgym.train.checkpoint import load_checkpoint
from agentgym.train.trainer import Trainer
from tests.train.conftest import cli_config, learner, world_config

# Metrics that measure the machine, not the run.
_CLOCK = ("time/", "rollout/tokens_per_second")


def _same_metrics(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key, value in a.items():
        if key.startswith(_CLOCK) or (isinstance(value, float) and math.isnan(value)):
            continue
        # Batches of other compositions round differently (1e-7): the same run, not the same bits.
        assert b[key] == pytest.approx(value, rel=1e-3, abs=1e-5), key


def test_a_resumed_run_continues_exactly(tmp_path):
    sections = dict(run={"steps": 4}, algorithm={"name": "ppo"}, batching={"epochs": 2, "mini_batches": 2},
                    optimizer={"lr": 3e-3, "schedule": "cosine", "warmup_steps": 2},
                    checkpoint={"every": 2, "keep_last": 1})
    whole = Trainer(world_config(tmp_path / "whole", **sections), **learner())
    uninterrupted = whole.train()

    first = Trainer(world_config(tmp_path / "cut", **sections), **learner())
    first.train(until=2)  # stops after the step-2 checkpoint, as a killed run would
    assert first.step == 2 and (tmp_path / "cut" / "checkpoints" / "step-000002" / "state.pt").is_file()
    resumed = Trainer.resume(tmp_path / "cut", **learner())
    assert resumed.step == 2 and len(resumed.history) == 2
    continued = resumed.train()

    assert [r["step"] for r in continued] == [1, 2, 3, 4]
    for a, b in zip(uninterrupted, continued):
        _same_metrics(a, b)
    for a, b in zip(whole.model.parameters(), resumed.model.parameters()):
        assert torch.allclose(a, b, atol=1e-4)
    assert resumed.scheduler.state_dict()["last_epoch"] == whole.scheduler.state_dict()["last_epoch"] == 16
    # keep_last = 1: only the newest checkpoint remains; metrics.jsonl holds each step once.
    assert [p.name for p in (tmp_path / "cut" / "checkpoints").glob("step-*")] == ["step-000004"]
    lines = (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2, 3, 4]


def test_checkpoint_holds_what_resume_needs(tmp_path):
    trainer = Trainer(world_config(tmp_path, run={"steps": 1}, checkpoint={"every": 1}), **learner())
    trainer.train()
    checkpoint = load_checkpoint(tmp_path)
    assert checkpoint.step == 1 and len(checkpoint.history) == 1
    assert {"model", "optimizer", "scheduler", "rng"} <= checkpoint.state.keys()
    assert {"python", "numpy", "torch"} <= checkpoint.state["rng"].keys()
    assert checkpoint.config["run"]["steps"] == 1
    assert not list((tmp_path / "checkpoints").glob("*.tmp"))


def test_kl_to_a_frozen_reference_as_a_loss_term(tmp_path):
    trainer = Trainer(world_config(tmp_path, run={"steps": 3}, loss={"kl_coef": 0.1, "kl_estimator": "k3"}),
                      **learner())
    initial = copy.deepcopy(trainer.model.state_dict())
    history = trainer.train()
    assert history[0]["train/kl"] >= 0 and history[-1]["train/kl"] > 1e-5  # the policy moved away
    for name, tensor in trainer.reference.state_dict().items():  # the reference did not
        assert torch.equal(tensor, initial[name])


def test_kl_as_a_reward_penalty(tmp_path):
    config = world_config(tmp_path, run={"steps": 3}, loss={"kl_coef": 0.5, "kl_estimator": "k1", "kl_mode": "reward"})
    history = Trainer(config, **learner()).train()
    assert all("reward/kl_penalty" in r for r in history)
    assert history[-1]["reward/kl_penalty"] != 0.0
    assert history[-1]["reward/total"] == pytest.approx(history[-1]["reward/outcome"]
                                                        + history[-1]["reward/kl_penalty"])


def test_lora_trains_adapters_only_and_uses_the_base_as_reference(tmp_path):
    config = world_config(tmp_path, run={"steps": 2}, loss={"kl_coef": 0.05},
                          model={"lora": {"enabled": True, "r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]}},
                          optimizer={"lr": 1e-2}, checkpoint={"every": 2, "save_final": True})
    trainer = Trainer(config, **learner())
    frozen = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if not p.requires_grad}
    adapters = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}
    assert adapters and all("lora_" in n for n in adapters)
    history = trainer.train()
    params = dict(trainer.model.named_parameters())
    assert all(torch.equal(params[n], t) for n, t in frozen.items())
    assert any(not torch.equal(params[n], t) for n, t in adapters.items())
    assert history[0]["train/kl"] == pytest.approx(0.0, abs=1e-6)  # LoRA starts as the identity
    assert history[-1]["train/kl"] > 1e-6
    assert set(load_checkpoint(tmp_path).state["model"]) == set(adapters)
    assert (tmp_path / "final" / "adapter_config.json").is_file()


def test_zero_variance_groups_can_be_dropped(tmp_path):
    history = Trainer(world_config(tmp_path, run={"steps": 3}, filters={"zero_variance": "drop"}),
                      **learner()).train()
    for record in history:
        zero_groups = record["health/zero_variance_group_fraction"] * record["health/groups"]
        assert record["filters/dropped_trajectories"] == pytest.approx(4 * zero_groups)
    assert any(r["filters/dropped_trajectories"] > 0 for r in history)


def test_turn_schedule_and_entropy_band(tmp_path):
    config = world_config(tmp_path, run={"steps": 3}, rollout={"turn_schedule": [[0, 1], [2, 3]]},
                          loss={"entropy_coef": 0.01, "entropy_band": {"enabled": True, "width": 0.05}})
    trainer = Trainer(config, **learner())
    history = trainer.train()
    assert [r["rollout/max_turns"] for r in history] == [1, 1, 3]
    assert history[0]["rollout/turns"] == 1 and history[2]["rollout/turns"] > 1
    assert [r["loss/entropy_coef"] for r in history][0] == 0.01
    assert trainer.entropy_band.average is not None


def test_untrainable_trajectories_are_counted_or_stop_the_run(tmp_path, world_rollout):
    batch = copy.deepcopy(world_rollout[:4])
    batch[2].token_mismatches = 1
    trainer = Trainer(world_config(tmp_path), **learner())
    metrics = {}
    assert len(trainer._trainable(batch, metrics)) == 3 and metrics["rollout/untrainable"] == 1
    strict = Trainer(world_config(tmp_path, rollout={"on_untrainable": "error"}), **learner())
    with pytest.raises(NotTrainable, match="not token-exact"):
        strict._trainable(batch, {})


def test_igpo_needs_a_hidden_answer(tmp_path):
    from agentgym.train.config import ConfigError

    config = world_config(tmp_path, env={"id": "games/FrozenLake-v0"}, algorithm={"name": "igpo"})
    with pytest.raises(ConfigError, match="hidden answer"):
        Trainer(config, **learner())


def test_logs_plots_and_final_weights(tmp_path, capsys):
    config = world_config(tmp_path, run={"steps": 2}, eval={"every": 1, "tasks": 4, "first_seed": 100_000},
                          logging={"console": True, "tensorboard": True, "plot": True},
                          checkpoint={"save_final": True})
    history = Trainer(config, **learner()).train()
    assert [r["step"] for r in history] == [0, 1, 2] and "eval/success" in history[0]
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [0, 1, 2]
    for key in ("reward/mean", "success/train", "health/reward_std_in_group", "health/zero_variance_group_fraction",
                "train/entropy", "train/grad_norm", "train/clip_fraction", "health/mean_turns",
                "health/mean_response_tokens", "train/pack_fill", "optimizer/lr"):
        assert key in records[1], key
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert (tmp_path / "curves.png").stat().st_size > 1000
    assert (tmp_path / "final" / "config.json").is_file() and (tmp_path / "final" / "tokenizer.json").is_file()
    out = capsys.readouterr().out
    assert "reward" in out and "success" in out and "curves:" in out


def test_sampled_evaluation_draws_the_same_episodes_every_time(tmp_path):
    """eval.temperature > 0 samples eval.samples episodes per held-out seed with fixed sampling
    seeds: the same weights give the same figures, and they differ from greedy decoding."""
    sampled = Trainer(world_config(tmp_path / "s", eval={"every": 1, "tasks": 6, "first_seed": 100_000,
                                                         "temperature": 1.0, "samples": 3}), **learner())
    first, again = sampled.evaluate(), sampled.evaluate()
    assert first == again
    greedy = Trainer(world_config(tmp_path / "g", eval={"every": 1, "tasks": 6, "first_seed": 100_000}), **learner())
    assert greedy.evaluate()["eval/turns"] != first["eval/turns"]
    assert first["eval/episodes"] == 18 and greedy.evaluate()["eval/episodes"] == 6


def test_cli_trains_resumes_and_rejects_bad_configs(tmp_path, capsys):
    config = cli_config(tmp_path, rollout={"group_size": 4})
    assert main(["train", "--config", str(config), "--steps", "1"]) == 0
    assert "trained to step 1" in capsys.readouterr().out
    assert main(["train", "--resume", str(tmp_path / "run"), "--steps", "2"]) == 0
    assert "trained to step 2" in capsys.readouterr().out
    assert load_checkpoint(tmp_path / "run").step == 2

    bad = tmp_path / "bad.toml"
    bad.write_text('[algorithm]\nname = "ppo"\nvalue_head = false\n[filters]\ntop_fraction = 0\n')
    assert main(["train", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "needs a value head" in err and "top_fraction" in err
    assert main(["train"]) == 2
    assert "--config" in capsys.readouterr().err


def test_gradient_checkpointing_from_the_config_trains_the_same_step_without_deprecation_noise(tmp_path):
    """``model.gradient_checkpointing = true`` turns activation checkpointing on (through the
    name transformers 5 uses: no FutureWarning reaches the user) and the step's update is the
    one without it (the recomputed forward is the same)."""
    import warnings

    runs = []
    for checkpointing in (False, True):
        config = world_config(tmp_path / str(checkpointing), model={"gradient_checkpointing": checkpointing},
                              run={"steps": 1})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            trainer = Trainer(config, **learner())
            trainer.train()
        assert not [w for w in caught if "checkpointing" in str(w.message)], [str(w.message) for w in caught]
        assert trainer.model.is_activation_checkpointing is checkpointing
        runs.append([p.detach().clone() for p in trainer.model.parameters()])
    for plain, checkpointed in zip(*runs):
        assert torch.allclose(plain, checkpointed, rtol=0, atol=1e-5)
    assert not all(torch.equal(a, b) for a, b in zip(runs[0], learner()["model"].parameters()))


def test_device_and_precision_resolution():
    from agentgym.train.config import ConfigError
    from agentgym.train.model_setup import resolve_device, resolve_precision

    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu) is None and resolve_precision("fp32", cpu) is None
    with pytest.raises(ConfigError, match="bf16"):
        resolve_precision("bf16", cpu)
    assert resolve_device("cpu") == cpu
    if not torch.cuda.is_available():
        assert resolve_device("auto") == cpu
        with pytest.raises(ConfigError, match="no CUDA device"):
            resolve_device("cuda")


@pytest.mark.parametrize("algorithm", [
    {"name": "drgrpo"},
    {"name": "rloo"},
    {"name": "reinforce", "normalize_over": "turns"},
    {"name": "ppo", "gae": "bilevel", "value_clip": 0.2},
    {"name": "multichannel", "channels": {"outcome": 1.0}},
    {"name": "stratified", "alpha": 0.5},
], ids=lambda a: "-".join(str(v) for v in a.values() if not isinstance(v, dict)))
def test_every_algorithm_trains_from_the_config(tmp_path, algorithm):
    trainer = Trainer(world_config(tmp_path, run={"steps": 2, "seed": 3}, algorithm=algorithm), **learner())
    before = [p.detach().clone() for p in trainer.model.parameters()]
    history = trainer.train()
    assert all(r["train/optimizer_steps"] == 1 for r in history)
    assert any(r["health/advantage_std"] > 0 for r in history)  # the estimator gave a signal
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.model.parameters()))
    assert ("train/value_loss" in history[-1]) == (algorithm["name"] == "ppo")
