"""Resuming with changed settings and from damaged checkpoints: an optimizer setting given on
resume is the one that trains, a checkpoint that lacks what the configuration needs or cannot be
read is refused in one line naming it; checkpoints are as readable as their run directory."""

from __future__ import annotations

import os
import stat

import pytest

from agentgym.cli import main
from agentgym.train.checkpoint import load_checkpoint
from agentgym.train.trainer import Trainer
from tests.train.conftest import cli_config, learner, world_config


def _one_step_run(folder, **sections):
    trainer = Trainer(world_config(folder, run={"steps": 1}, checkpoint={"every": 1}, **sections), **learner())
    trainer.train()
    return folder


def test_optimizer_settings_given_on_resume_are_the_ones_that_train(tmp_path):
    """``--resume --set optimizer.lr=...`` (README: the settings apply on top of the checkpoint's
    configuration): the optimizer trains with the new learning rate (and AdamW settings), as the
    resumed checkpoint's config.json records, instead of the saved optimizer's old ones."""
    run = _one_step_run(tmp_path / "run", optimizer={"lr": 1e-3})
    resumed = Trainer.resume(run, overrides={"run": {"steps": 2}, "optimizer": {"lr": 0.25, "weight_decay": 0.5}},
                             **learner())
    group = resumed.optimizer.param_groups[0]
    assert group["lr"] == pytest.approx(0.25) and group["weight_decay"] == 0.5
    history = resumed.train()
    assert history[-1]["optimizer/lr"] == pytest.approx(0.25)
    assert load_checkpoint(run).config["optimizer"]["lr"] == 0.25


def test_resume_keeps_the_scheduled_learning_rate(tmp_path):
    """Without a new setting the resumed optimizer's learning rate is the checkpoint's, warm-up
    included (the schedule's factor at the step reached)."""
    sections = dict(run={"steps": 4}, optimizer={"lr": 1e-2, "warmup_steps": 4}, checkpoint={"every": 1})
    first = Trainer(world_config(tmp_path / "run", **sections), **learner())
    first.train(until=1)
    saved = first.optimizer.param_groups[0]["lr"]
    assert 0 < saved < 1e-2
    assert Trainer.resume(tmp_path / "run", **learner()).optimizer.param_groups[0]["lr"] == pytest.approx(saved)


def test_resuming_a_run_without_a_value_head_into_ppo_names_what_is_missing(tmp_path):
    run = _one_step_run(tmp_path / "run")
    with pytest.raises(ValueError, match=r"no value head.*algorithm\.name"):
        Trainer.resume(run, overrides={"algorithm": {"name": "ppo"}, "run": {"steps": 2}}, **learner())


@pytest.mark.parametrize("damage", ["garbage", "truncated", "no config"])
def test_a_damaged_checkpoint_is_refused_in_one_line(tmp_path, capsys, damage):
    """A checkpoint cut off (a full disk, a partial copy) or overwritten is one error line naming
    its file and exit code 2, not a traceback advising ``weights_only=False``."""
    config = cli_config(tmp_path, run={"steps": 1})
    assert main(["train", "--config", str(config)]) == 0
    folder = tmp_path / "run" / "checkpoints" / "step-000001"
    state = folder / "state.pt"
    if damage == "garbage":
        state.write_bytes(b"not a checkpoint\n")
    elif damage == "truncated":
        state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])
    else:
        (folder / "config.json").unlink()
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "run"), "--steps", "2"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert str(folder) in err and "cannot read the checkpoint" in err


def test_checkpoint_folders_get_the_umask_permissions_not_owner_only(tmp_path):
    """A checkpoint is as readable as the run directory around it (a teammate resumes or
    evaluates it): its folder has mkdir's mode under the umask, not mkdtemp's 0o700."""
    previous = os.umask(0o022)
    try:
        _one_step_run(tmp_path / "run")
    finally:
        os.umask(previous)
    folder = tmp_path / "run" / "checkpoints" / "step-000001"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o644 for path in folder.iterdir())


def test_resuming_a_folder_without_a_checkpoint_says_so_before_judging_the_run_directory(tmp_path, capsys):
    """``agentgym train CONFIG --resume EMPTY`` where CONFIG's run directory holds a run: the
    problem is EMPTY (no checkpoint there), not the configuration's directory being in use."""
    config = cli_config(tmp_path, run={"steps": 1})
    assert main(["train", "--config", str(config)]) == 0
    (tmp_path / "empty").mkdir()
    capsys.readouterr()
    assert main(["train", str(config), "--resume", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert f"no checkpoint at {tmp_path / 'empty'}" in err and "already holds a run" not in err


def test_a_run_with_a_relative_model_path_resumes_from_another_directory(tmp_path, monkeypatch, capsys):
    """model.path = "model" (relative to where the run started): ``--resume`` from elsewhere
    finds the same folder (it took "model/..." for a hub name and went to the network)."""
    config = cli_config(tmp_path, run={"steps": 1, "out_dir": "run"}, model={"path": "model"})
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--config", str(config)]) == 0
    assert load_checkpoint(tmp_path / "run").config["model"]["path"] == str((tmp_path / "model").resolve())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "run"), "--steps", "2"]) == 0, capsys.readouterr().err
    assert load_checkpoint(tmp_path / "run").step == 2


def test_resuming_a_finished_run_without_more_steps_says_there_is_nothing_to_train(tmp_path, capsys):
    """``agentgym train --resume RUN`` on a run that reached run.steps (or with --steps below
    its step) trained nothing and only printed 'trained to step N': now a warning says why."""
    config = cli_config(tmp_path, run={"steps": 2})
    assert main(["train", "--config", str(config)]) == 0
    for extra in ([], ["--steps", "1"]):
        capsys.readouterr()
        assert main(["train", "--resume", str(tmp_path / "run"), *extra]) == 0
        err = capsys.readouterr().err
        assert "agentgym train: warning: the run is at step 2" in err and "nothing to train" in err
    assert main(["train", "--resume", str(tmp_path / "run"), "--steps", "3"]) == 0
    assert "nothing to train" not in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["cut-off weights", "wrong config type"])
def test_a_damaged_model_folder_is_one_line(tmp_path, capsys, damage):
    """A model folder whose weights were cut off (an interrupted copy) or whose config.json has a
    value of the wrong type: 'cannot load the model ...' and exit code 2, not a traceback."""
    config = cli_config(tmp_path, run={"steps": 1})
    if damage == "cut-off weights":
        weights = tmp_path / "model" / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:1000])
    else:
        path = tmp_path / "model" / "config.json"
        path.write_text(path.read_text().replace('"hidden_size": 64', '"hidden_size": "64"'))
    capsys.readouterr()
    assert main(["train", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert f"cannot load the model {tmp_path / 'model'}" in err


def test_a_run_directory_that_is_a_file_is_refused_before_the_model_loads(tmp_path, capsys):
    config = cli_config(tmp_path, run={"steps": 1})
    taken = tmp_path / "notes.txt"
    taken.write_text("mine")
    capsys.readouterr()
    assert main(["train", "--config", str(config), "--out", str(taken)]) == 2
    assert f"{taken} is a file, not a run directory" in capsys.readouterr().err and taken.read_text() == "mine"


def test_a_checkpoint_of_another_curriculum_is_refused_in_one_line():
    """Resuming with a changed [curriculum] (another name, other arms) said only 'recent',
    'arm_successes' or 'a and p must have same size'."""
    from agentgym.train.curriculum import Arm, DistributionUCBCurriculum, PromptCurriculum, SelfEvolvingCurriculum

    two = [Arm("games/Wordle-v0", label="a"), Arm("games/Wordle-v0", label="b")]
    saved = SelfEvolvingCurriculum(two, (0, 100), 0).state_dict()
    SelfEvolvingCurriculum(two, (0, 100), 0).load_state_dict(saved)  # the same one resumes
    for other in (DistributionUCBCurriculum(two, (0, 100), 0), PromptCurriculum(two, (0, 100), 0),
                  SelfEvolvingCurriculum([*two, Arm("games/Wordle-v0", label="c")], (0, 100), 0),
                  SelfEvolvingCurriculum([two[0], Arm("games/Wordle-v0", label="d")], (0, 100), 0)):
        with pytest.raises(ValueError, match=r"the checkpoint's curriculum \(sec over arms a, b\) .*resume with"):
            other.load_state_dict(saved)


def test_resume_reads_the_saved_state_once(tmp_path, monkeypatch):
    """state.pt holds the weights and the optimizer's moments (about 12 bytes per parameter
    with AdamW): resume read it twice, holding both copies at once at its peak."""
    import agentgym.train.checkpoint as checkpoint_module

    run = _one_step_run(tmp_path / "run")
    loads = []
    real_load = checkpoint_module.torch.load
    monkeypatch.setattr(checkpoint_module.torch, "load", lambda *a, **k: loads.append(a) or real_load(*a, **k))
    resumed = Trainer.resume(run, overrides={"run": {"steps": 2}}, **learner())
    assert resumed.step == 1 and len(loads) == 1
