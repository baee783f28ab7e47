"""Training with the environments in child processes (``[env] runtime = "process"``), some of
which die by SIGKILL mid-episode: the affected trajectories fail with the cause and are left out
of the update, the others train, and the run goes on to its last step with nothing left behind."""

from __future__ import annotations

import psutil

from agentgym.train.trainer import Trainer
from tests.train.conftest import learner, world_config
from tests.train.dying_world import DYING_ID


def test_training_goes_on_when_environment_processes_are_killed(tmp_path):
    config = world_config(tmp_path, env={"id": DYING_ID, "runtime": "process", "tasks_per_step": 3,
                                         "train_seeds": [0, 9]}, rollout={"group_size": 2})
    trainer = Trainer(config, **learner())
    killed = sum(seed % 3 == 0 for step in range(2) for seed in (t.seed for t in trainer.tasks_for(step)))
    assert killed, "the drawn tasks must include dying ones"
    history = trainer.train()
    assert [record["step"] for record in history] == [1, 2]
    untrainable = sum(record["rollout/untrainable"] for record in history)
    assert untrainable == 2 * killed  # each dying task's whole group failed and was left out
    assert all(record["rollout/episodes"] == 6 for record in history)
    assert not [p for p in psutil.Process().children(recursive=True) if "resource_tracker" not in " ".join(p.cmdline())]
