"""[replay] in the trainer: past successes replayed into later groups of their task, only where
they beat the current group, trained with importance weights."""

import numpy as np
import pytest

from agentgym.train.config import ConfigError, TrainConfig
from agentgym.train.replay import REPLAYED_KEY
from agentgym.train.trainer import Trainer
from tests.train.conftest import learner, world_config


class RecordingTrainer(Trainer):
    """Keeps what each step replayed, against which group returns, and the update's rows."""

    def _replayed(self, kept, step, metrics):
        self.group_returns = {}
        for trajectory in kept:
            self.group_returns.setdefault(trajectory.group_id, []).append(trajectory.episode_return)
        self.buffered = {key: self.replay.entries(key) for key in self.group_returns}
        self.replayed = super()._replayed(kept, step, metrics)
        return self.replayed

    def _update(self, rows, step):
        self.updated_rows = list(rows)
        return super()._update(rows, step)


def replay_config(out_dir, **replay):
    # Four seeds, all drawn every step: each task comes round again at once.
    return world_config(out_dir, env={"train_seeds": [0, 4]}, run={"steps": 2},
                        replay={"enabled": True, **replay})


def test_past_successes_are_replayed_where_they_beat_the_group(tmp_path):
    trainer = RecordingTrainer(replay_config(tmp_path, per_task=1), **learner())
    first = trainer.train_step()
    assert first["replay/replayed"] == 0  # nothing stored yet
    assert first["replay/added"] >= 1 and first["replay/buffer_size"] == first["replay/added"]
    replayed_any = False
    for _ in range(1):
        metrics = trainer.train_step()
        chosen = {t.group_id: t for t in trainer.replayed}
        for group, returns in trainer.group_returns.items():
            mean = float(np.mean(returns))
            best = trainer.buffered[group][0] if trainer.buffered[group] else None
            # Replayed exactly when the stored best return beats the current group's mean.
            assert (group in chosen) == (best is not None and best.episode_return > mean)
            if group in chosen:
                assert chosen[group].metadata["replay_advantage"] == pytest.approx(best.episode_return - mean)
        rows = trainer.updated_rows[-len(trainer.replayed):] if trainer.replayed else []
        for row, trajectory in zip(rows, trainer.replayed):
            assert REPLAYED_KEY in trajectory.metadata and row.token_ids.tolist() == trajectory.token_ids
            mask = row.loss_mask
            np.testing.assert_allclose(row.advantages[mask], trajectory.metadata["replay_advantage"], rtol=1e-6)
            # Sampled by an older policy: proximal log-probs recomputed, no longer the sampling ones.
            assert not np.allclose(row.proximal_logprobs[mask], row.old_logprobs[mask])
            replayed_any = True
        assert metrics["replay/replayed"] == len(trainer.replayed)
    assert replayed_any, "the tiny learner succeeds now and then: some success must have been replayed"


def test_the_buffer_is_checkpointed(tmp_path):
    trainer = Trainer(replay_config(tmp_path), **learner())
    trainer.train_step()
    path = trainer.save_checkpoint()
    resumed = Trainer.resume(path, **learner())
    assert resumed.replay.state() == trainer.replay.state() and len(resumed.replay) >= 1


def test_without_replay_nothing_is_stored(tmp_path):
    trainer = Trainer(world_config(tmp_path, run={"steps": 1}), **learner())
    metrics = trainer.train_step()
    assert trainer.replay is None and not any(key.startswith("replay/") for key in metrics)


@pytest.mark.parametrize("sections, message", [
    ({"replay": {"per_task": 0}}, "replay.per_task"),
    ({"replay": {"max_replayed_per_group": 1.5}}, "max_replayed_per_group"),
    ({"replay": {"max_age": -1}}, "max_age"),
    ({"replay": {"importance_cap": 0.5}}, "importance_cap"),
    ({"replay": {"enabled": True}, "async_training": {"enabled": True}}, "not available with async_training"),
    ({"replay": {"enabled": True}, "algorithm": {"name": "ppo"}}, "critic"),
    ({"replay": {"enabled": True, "importance_cap": 2.0}, "guidance": {"enabled": True}}, "must agree"),
])
def test_bad_replay_settings_are_refused(sections, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_dict(sections)
