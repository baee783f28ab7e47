"""Trainer internals probed at their edges: overflowing ratios and non-finite log-probs, empty
mini-batches, metrics read back, one-point curves, entropies of masked distributions, settings
given on resume, gradient clips, logging sinks that fail to start."""

from __future__ import annotations

import copy
import io
import math
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import psutil
import pytest
import torch

from agentgym.credit import GRPO
from agentgym.rollout import Task
from agentgym.train.batching import NotTrainable, TrainingRow, training_rows
from agentgym.train.config import GuidanceSection
from agentgym.train.guidance import Guide
from agentgym.train.logging import MetricsLogger, read_metrics
from agentgym.train.loss import clipped_policy_loss, entropy_from_logits, entropy_from_logprobs
from agentgym.train.model_setup import without_checkpointing_deprecation
from agentgym.train.plots import plot_curves
from agentgym.train.sft import SFTSettings
from agentgym.train.trainer import Trainer
from agentgym.train.update import PolicyUpdater, UpdateSettings
from agentgym.train.weights import inference_weights
from agentgym.trajectory import Trajectory, Turn
from tests.train.conftest import learner, world_config
from tests.train.word_world import tiny_model


def _row(ids, mask, old=None, advantage=0.0) -> TrainingRow:
    ids, mask = np.array(ids, dtype=np.int64), np.array(mask, dtype=bool)
    old = np.zeros(len(ids), np.float32) if old is None else np.array(old, np.float32)
    return TrainingRow(ids, mask, old, np.where(mask, advantage, 0.0).astype(np.float32))


def _update(rows, **settings):
    model = tiny_model(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    updater = PolicyUpdater(model, optimizer, UpdateSettings(micro_batch_tokens=64, **settings))
    metrics = updater.update(rows, generator=torch.Generator().manual_seed(0))
    return model, metrics


class _Terminal(io.StringIO):
    """What the console table writes to, taken for a terminal (so the table is live)."""

    def isatty(self) -> bool:
        return True


def test_a_zero_advantage_token_has_no_loss_and_no_gradient_however_large_its_ratio():
    # exp(-1 - (-100)) overflows float32: -0 * inf was NaN, and the NaN gradient reached every weight.
    logprobs = torch.tensor([-1.0, -1.0], requires_grad=True)
    loss, clipped = clipped_policy_loss(logprobs, torch.tensor([-100.0, -1.2]), torch.tensor([0.0, 0.0]),
                                        dual_clip=3.0)
    assert loss.tolist() == [0.0, 0.0] and clipped.tolist() == [False, False]
    loss.sum().backward()
    assert logprobs.grad.tolist() == [0.0, 0.0]


def test_a_zero_variance_row_with_an_overflowing_ratio_leaves_the_model_finite():
    rows = [_row([1, 2, 3], [0, 1, 1], old=[0.0, -100.0, -1.0], advantage=0.0),
            _row([1, 2, 4], [0, 1, 1], advantage=1.0)]
    model, metrics = _update(rows)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert np.isfinite(metrics["loss"]) and np.isfinite(metrics["grad_norm"])


def test_a_mini_batch_without_loss_tokens_takes_no_optimizer_step():
    # Fewer rows than mini-batches (groups dropped by a filter): the empty parts took AdamW steps
    # on zero gradients, and the moments of the real step moved every weight twice more.
    rows = [_row([1, 2, 3], [0, 1, 1], advantage=1.0)]
    one, metrics_one = _update(rows, mini_batches=1)
    three, metrics_three = _update(rows, mini_batches=3)
    assert all(torch.equal(a, b) for a, b in zip(one.parameters(), three.parameters()))
    assert metrics_three["optimizer_steps"] == metrics_one["optimizer_steps"] == 1
    assert metrics_three["loss"] == metrics_one["loss"] and metrics_three["grad_norm"] == metrics_one["grad_norm"]


def test_rows_without_generated_tokens_leave_the_weights_as_they_are():
    model = tiny_model(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 / (step + 1))
    updater = PolicyUpdater(model, optimizer, UpdateSettings(micro_batch_tokens=64), scheduler=scheduler)
    updater.update([_row([1, 2, 3], [0, 1, 1], advantage=1.0)])
    before = [p.detach().clone() for p in model.parameters()]
    metrics = updater.update([_row([1, 2, 3], [0, 0, 0], advantage=1.0)])
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert metrics["optimizer_steps"] == 0
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-2 / 3)  # the schedule keeps its pace


def test_read_metrics_gives_back_the_nan_and_infinities_that_were_logged(tmp_path):
    # metrics.jsonl writes them as "nan" / "inf" (strict JSON); read_metrics returned those strings,
    # so sum(), mean() or a plot of a column failed or took text for a number.
    logger = MetricsLogger(tmp_path, console=False)
    logger.log({"step": 1, "train/kl": math.nan, "train/ratio_max": math.inf, "reward/mean": -math.inf})
    logger.log({"step": 2, "train/kl": 0.5, "train/ratio_max": 1.0, "reward/mean": 0.25})
    logger.close()
    first, second = read_metrics(tmp_path)
    assert math.isnan(first["train/kl"]) and first["train/ratio_max"] == math.inf
    assert first["reward/mean"] == -math.inf
    assert second == {"step": 2, "train/kl": 0.5, "train/ratio_max": 1.0, "reward/mean": 0.25}
    assert "NaN" not in (tmp_path / "metrics.jsonl").read_text()  # the file stays strict JSON


def test_a_one_step_run_draws_its_point(tmp_path):
    # A line needs two points: the curves of a one-step run (or a value between two NaN) were empty.
    def reward_panel_blue(history):
        image = matplotlib.image.imread(plot_curves(history, tmp_path / "curves.png"))[..., :3]
        blue = np.abs(image - np.array([0x1F, 0x77, 0xB4]) / 255).max(axis=-1) < 0.08  # matplotlib's C0
        return int(blue[:, : image.shape[1] // 2].sum())

    assert reward_panel_blue([{"step": 1, "reward/mean": 0.5, "success/train": 1.0}]) > 0
    assert reward_panel_blue([{"step": 1, "reward/mean": math.nan, "success/train": 0.0},
                              {"step": 2, "reward/mean": 0.5, "success/train": 0.0},
                              {"step": 3, "reward/mean": math.nan, "success/train": 0.0}]) > 0


def test_entropy_of_a_distribution_with_impossible_tokens():
    # A token of probability 0 (a -inf logit: top-k filtered, masked) adds 0 * log 0 = 0, not NaN.
    logits = torch.tensor([[0.0, 0.0, -math.inf], [1.0, 2.0, 3.0]], requires_grad=True)
    entropy = entropy_from_logits(logits)
    assert entropy[0].item() == pytest.approx(math.log(2))
    assert entropy[1].item() == pytest.approx(float(entropy_from_logits(torch.tensor([1.0, 2.0, 3.0]))))
    entropy.sum().backward()
    assert torch.isfinite(logits.grad).all()
    assert entropy_from_logprobs(torch.tensor([0.0, -math.inf])).item() == 0.0


@pytest.mark.parametrize("logprob", [-math.inf, math.nan])
def test_a_non_finite_sampling_logprob_is_refused_not_trained_on(world_rollout, logprob):
    # exp(logp - (-inf)) = inf: even where the clip picks the finite branch, the backward pass
    # multiplies 0 by inf, and the NaN gradient reached every weight of the model.
    batch = copy.deepcopy(world_rollout[:3])
    batch[1].turns[0].logprobs[0] = logprob
    advantages = GRPO()(batch)
    with pytest.raises(NotTrainable, match="trajectory 1 .*turn 0 has a sampling log-prob that is not finite"):
        training_rows(batch, advantages, on_untrainable="error")
    rows, report = training_rows(batch, advantages, on_untrainable="skip")
    assert [row.source for row in rows] == [0, 2] and list(report.skipped) == [1]
    assert f"({logprob} at its token 0)" in report.skipped[1]
    model, _ = _update(rows)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_entropy_band_settings_given_on_resume_are_the_ones_that_train(tmp_path):
    # The checkpoint held the band's settings with its state, and they overwrote the ones given on
    # resume (--set loss.entropy_band.max_coef=...), which config.json recorded all the same.
    loss = {"entropy_coef": 0.05, "entropy_band": {"enabled": True, "max_coef": 0.1}}
    first = Trainer(world_config(tmp_path / "run", run={"steps": 1}, checkpoint={"every": 1}, loss=loss), **learner())
    first.train()
    saved = first.entropy_band
    changed = {"entropy_coef": 0.01,
               "entropy_band": {"width": 0.5, "ema": 0.5, "factor": 2.0, "min_coef": 0.001, "max_coef": 0.02}}
    band = Trainer.resume(tmp_path / "run", overrides={"run": {"steps": 2}, "loss": changed}, **learner()).entropy_band
    assert (band.width, band.ema, band.factor, band.min_coef, band.max_coef) == (0.5, 0.5, 2.0, 0.001, 0.02)
    assert band.average == saved.average is not None  # the learnt state is the checkpoint's
    assert saved.coef == 0.05 and band.coef == 0.02  # the coefficient reached, within the new bounds


@pytest.mark.parametrize("norm", [0.0, -1.0, math.nan, "1"])
def test_a_gradient_clip_that_is_not_a_positive_number_is_refused(norm):
    # clip_grad_norm_ scales by max_norm / norm: 0 zeroed every gradient (nothing learnt) and -1
    # flipped it (the positive-advantage tokens became less likely); both were taken silently.
    with pytest.raises(ValueError, match="max_grad_norm must be a positive number or None"):
        UpdateSettings(max_grad_norm=norm)
    with pytest.raises(ValueError, match="max_grad_norm must be a positive number or None"):
        SFTSettings(max_grad_norm=norm)
    assert UpdateSettings(max_grad_norm=None).max_grad_norm is None and SFTSettings(max_grad_norm=2).max_grad_norm == 2


def test_a_sink_that_fails_to_start_leaves_no_live_table_and_no_open_file(tmp_path, monkeypatch):
    # The live table had started (stdout and stderr redirected into it, the cursor hidden) and
    # metrics.jsonl was open when the TensorBoard (or wandb: not logged in) sink failed; nothing
    # stopped or closed them: later prints went to the dead table, the terminal kept no cursor.
    monkeypatch.setattr(sys, "stdout", sys.stdout)  # restored after the test, whatever happens
    monkeypatch.setattr(sys, "stderr", sys.stderr)
    stdout, stderr = sys.stdout, sys.stderr
    (tmp_path / "tensorboard").write_text("a file where the TensorBoard folder goes")
    terminal = _Terminal()
    with pytest.raises(FileExistsError) as raised:
        MetricsLogger(tmp_path, console=True, tensorboard=True, stream=terminal)
    assert sys.stdout is stdout and sys.stderr is stderr
    assert terminal.getvalue().endswith("\x1b[?25h")  # the cursor shown again
    held = [Path(f.path) for f in psutil.Process().open_files()]
    assert tmp_path / "metrics.jsonl" not in held, raised.value  # closed although the frames live on


def test_a_group_whose_hinted_replays_all_ended_in_errors_keeps_its_episodes_and_its_level():
    # Every hinted episode ended with an error (an environment that timed out): the group was
    # replaced by nothing, silently, and its task's hint level climbed as if it had failed with hints.
    task = Task("games/GuessTheNumber-v0", 0)
    group = task.group_id
    unhinted = [Trajectory(group_id=group, success=False, turns=[Turn(0, "o", "a", reward=0.0)]) for _ in range(2)]

    def play(tasks, level, step):
        return [Trajectory(group_id=group, error="environment raised TimeoutError: no answer") for _ in range(2)]

    guide = Guide(GuidanceSection(enabled=True, levels=[1, 2], patience=1), play=play, tokenizer=None)
    metrics = {}
    expected = r"guidance for .*#0: no hinted episode to train on \(all 2 untrainable; first: .*TimeoutError"
    with pytest.warns(UserWarning, match=expected):
        trained = guide(unhinted, [task], 0, metrics)
    assert trained == unhinted
    assert metrics["guidance/unbuilt_groups"] == 1 and metrics["guidance/hinted_episodes"] == 0
    assert guide.ladder.level_for(task.label) == 1  # errors are no failure with hints


def test_lora_with_a_fully_trained_module_hands_over_that_module_under_its_own_name():
    # peft's modules_to_save (a head trained whole beside the adapters) came out as
    # lm_head.original_module.weight and lm_head.modules_to_save.default.weight: the engine's plain
    # model found no lm_head.weight and kept its old head.
    from peft import LoraConfig, get_peft_model

    with without_checkpointing_deprecation():
        model = get_peft_model(tiny_model(0), LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj"],
                                                         modules_to_save=["lm_head"]))
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name or "modules_to_save" in name:
                parameter.add_(0.01)
    ids = torch.tensor([[1, 5, 9, 3, 7, 2]])
    plain = tiny_model(0)
    plain.load_state_dict(inference_weights(model))  # strict: exactly the plain model's names
    with torch.no_grad():
        assert torch.allclose(plain(input_ids=ids).logits, model(input_ids=ids).logits, atol=1e-5)
