"""The trainer in asynchronous mode: it still learns, records the lag within the bound, leaves
no thread behind however the run ends, resumes from a checkpoint, and refuses what it cannot do."""

from __future__ import annotations

import threading
import time

import pytest

from agentgym.train.config import ConfigError, TrainConfig
from agentgym.train.trainer import Trainer
from tests.train.conftest import learner, world_config
from tests.resource_probe import live_threads, started_since

ASYNC = {"enabled": True, "max_staleness": 1}
HELD_OUT = range(100_000, 100_030)


def _threads_back_to(before: set, seconds: float = 10.0) -> bool:
    """No thread started since ``before`` is alive (waiting up to ``seconds`` for them to end)."""
    deadline = time.monotonic() + seconds
    while started_since(before) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not started_since(before)


class _AlwaysOneBehind(Trainer):
    """Holds each update until the rollout thread has played the next step whole, so that every
    step after the first is sampled entirely by the weights one version behind the learner's:
    the most off-policy run ``max_staleness = 1`` allows, and the same run whatever the
    machine's load (left to race, how many turns each version samples depends on the timing,
    and so does the learning curve)."""

    def _update(self, rows, step):
        rollouts = self._async
        if rollouts is not None and step + 1 < rollouts.last_step:
            deadline = time.monotonic() + 120
            while not rollouts.is_ready(step + 1) and time.monotonic() < deadline:
                time.sleep(0.005)
        return super()._update(rows, step)


def test_grpo_learns_to_find_the_word_in_async_mode(tmp_path):
    """tests/train/test_learning.py's GRPO run, with rollouts one step ahead of the updates."""
    config = world_config(tmp_path, run={"steps": 30}, algorithm={"name": "grpo"}, env={"tasks_per_step": 8},
                          rollout={"group_size": 8}, batching={"mini_batches": 2}, async_training=ASYNC)
    trainer = _AlwaysOneBehind(config, **learner())
    threads = live_threads()
    start = trainer.evaluate(HELD_OUT)["eval/success"]
    history = trainer.train()
    final = trainer.evaluate(HELD_OUT)["eval/success"]
    assert start == 0.0
    assert final >= 0.9, final
    early = sum(r["success/train"] for r in history[:3]) / 3
    late = sum(r["success/train"] for r in history[-3:]) / 3
    assert late > early + 0.3
    # Off-policy indeed: the rollouts ran a version behind, never more, and nothing was dropped.
    assert all(r["async/lag_max"] <= 1 and r["async/stale_dropped"] == 0 for r in history)
    assert history[0]["async/lag_max"] == 0  # step 1 is played by the initial weights, which it trains
    assert all(r["async/lag_max"] == 1 and r["async/stale_rows"] > 0 for r in history[1:])  # _AlwaysOneBehind
    assert all("train/behaviour_weight" in r for r in history)
    assert _threads_back_to(threads)


class _FailingTrainer(Trainer):
    """Raises ``error`` on the learner's side (the update) or the rollout thread's (the tasks)
    at step ``at``."""

    def __init__(self, *args, error: BaseException, side: str, at: int = 2, **kwargs):
        super().__init__(*args, **kwargs)
        self.error, self.side, self.at = error, side, at

    def _update(self, rows, step):
        if self.side == "learner" and step == self.at:
            raise self.error
        return super()._update(rows, step)

    def tasks_for(self, step):
        if self.side == "rollouts" and step == self.at:
            raise self.error
        return super().tasks_for(step)


@pytest.mark.parametrize("error, side", [
    (None, None),
    (RuntimeError("update failed"), "learner"),
    (KeyboardInterrupt(), "learner"),
    (ValueError("no tasks"), "rollouts"),
], ids=["finished", "learner-raises", "interrupted", "rollout-thread-raises"])
def test_no_thread_is_left_however_the_run_ends(tmp_path, error, side):
    config = world_config(tmp_path, run={"steps": 4}, async_training=ASYNC)
    trainer = _FailingTrainer(config, error=error, side=side, **learner())
    threads = live_threads()
    if error is None:
        assert [r["step"] for r in trainer.train()] == [1, 2, 3, 4]
    else:
        with pytest.raises(type(error)):
            trainer.train()
        assert trainer.step == 2  # steps 1 and 2 trained; the failure came at the third
    assert trainer._async is None
    assert _threads_back_to(threads), [t.name for t in threading.enumerate()]


def test_an_async_run_resumes_with_a_fresh_rollout_thread(tmp_path):
    config = world_config(tmp_path / "run", run={"steps": 3}, checkpoint={"every": 1}, async_training=ASYNC)
    first = Trainer(config, **learner())
    threads = live_threads()
    first.train(until=2)
    resumed = Trainer.resume(tmp_path / "run", **learner())
    assert resumed.step == 2 and resumed.config.async_training.enabled
    history = resumed.train()
    assert [r["step"] for r in history] == [1, 2, 3]
    # The new thread's behaviour copy starts from the checkpoint's weights, as version 2: the
    # resumed step's rollout is on-policy.
    assert history[-1]["async/lag_max"] == 0 and history[-1]["async/stale_rows"] == 0
    assert history[-1]["train/behaviour_weight"] == 1.0
    assert _threads_back_to(threads)


def test_the_synchronous_trainer_stays_the_default(tmp_path):
    config = world_config(tmp_path, run={"steps": 1})
    assert not config.async_training.enabled
    record = Trainer(config, **learner()).train()[0]
    assert not any(key.startswith("async/") for key in record) and "train/behaviour_weight" not in record


@pytest.mark.parametrize("section, message", [
    ({"max_staleness": 0}, "async_training.max_staleness must be at least 1"),
    ({"importance_cap": 0.5}, "async_training.importance_cap must be at least 1"),
    ({"enabled": True, "_curriculum": True}, "not available with a curriculum"),
    ({"enabled": True, "_vllm": True}, "async_training needs rollout.backend = 'hf'"),
])
def test_async_configurations_that_cannot_work_fail_at_start(section, message):
    section = dict(section)
    data = {"async_training": section}
    if section.pop("_curriculum", False):
        data["curriculum"] = {"name": "sec"}
    if section.pop("_vllm", False):
        data["rollout"] = {"backend": "vllm"}
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TrainConfig.from_dict(data)


def test_with_lora_only_the_adapters_travel_to_the_behaviour_copy(tmp_path):
    from agentgym.train.async_rollouts import trainable_weights

    lora = {"enabled": True, "r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]}
    config = world_config(tmp_path, run={"steps": 3}, model={"lora": lora}, async_training=ASYNC)
    trainer = Trainer(config, **learner())
    threads = live_threads()
    history = trainer.train()
    published = trainable_weights(trainer.model)
    assert published and all("lora_" in name for name in published)
    assert [r["step"] for r in history] == [1, 2, 3] and all(r["async/lag_max"] <= 1 for r in history)
    assert _threads_back_to(threads)
