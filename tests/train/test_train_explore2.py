"""Resuming a run with another model or into another directory: what went wrong is one line."""

from __future__ import annotations

import re

import pytest
import torch

import agentgym
from agentgym import registry
from agentgym.cli import main, train_cmd
from agentgym.train.batching import NotTrainable
from agentgym.train.checkpoint import load_trainable_state, trainable_state
from agentgym.train.config import ConfigError
from agentgym.train.trainer import Trainer
from agentgym.trajectory import Trajectory, TrajectoryWriter
from tests.train.conftest import cli_config, learner, world_config
from tests.train.word_world import ENV_ID, FindTheWord

BROKEN_ID = "testworld/HeldOutBroken-v0"
PLAY_BROKEN_ID = "testworld/PlayBroken-v0"


class HeldOutBroken(FindTheWord):
    """FindTheWord whose held-out seeds (the evaluation's, from 1,000,000) cannot be played."""

    def reset(self, *, seed=None, options=None):
        if seed is not None and seed >= 1_000_000:
            raise RuntimeError("the held-out tasks are unavailable")
        return super().reset(seed=seed, options=options)


class PlayBroken(FindTheWord):
    """FindTheWord whose every move fails inside the environment."""

    def play(self, action):
        raise RuntimeError("the game server is down")


@pytest.fixture
def broken_world():
    """BROKEN_ID (held-out seeds fail) and PLAY_BROKEN_ID (every move fails), registered for one test."""
    agentgym.register(BROKEN_ID, HeldOutBroken, max_turns=2, description="held-out seeds fail (tests)")
    agentgym.register(PLAY_BROKEN_ID, PlayBroken, max_turns=2, description="every move fails (tests)")
    yield BROKEN_ID
    import gymnasium

    for env_id in (BROKEN_ID, PLAY_BROKEN_ID):
        registry._ENVS.pop(env_id, None)
        gymnasium.registry.pop(env_id, None)


def test_a_checkpoint_of_another_model_shape_is_refused_without_touching_the_model():
    """``--resume RUN --set model.path=OTHER`` (a model of another size): the weights' shapes did
    not match and ``copy_`` raised 'The size of tensor a (32) must match ...' with a traceback,
    after copying the weights that came before."""
    saved = trainable_state(torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 64)))
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 32))
    before = trainable_state(model)
    with pytest.raises(ValueError, match=r"the checkpoint does not fit this model: 1.weight has shape \[64, 4\] in "
                                         r"the checkpoint and \[32, 4\] in the model"):
        load_trainable_state(model, saved)
    assert all(torch.equal(before[name], tensor) for name, tensor in trainable_state(model).items())


def test_resuming_into_a_configurations_used_directory_says_where_it_would_write(tmp_path, capsys):
    """``agentgym train CONFIG --resume RUN`` continues into CONFIG's run.out_dir; when that holds
    another run, the error told a user who had given --resume to 'use --resume'."""
    config = cli_config(tmp_path)  # run.out_dir: tmp_path / "run"
    (tmp_path / "run" / "checkpoints" / "step-000003").mkdir(parents=True)
    other = tmp_path / "other" / "checkpoints" / "step-000001"
    other.mkdir(parents=True)
    (other / "state.pt").write_bytes(b"")
    (other.parent / "latest").write_text(other.name)
    capsys.readouterr()  # saving the model's progress bar
    assert main(["train", str(config), "--resume", str(tmp_path / "other")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "use --resume" not in err
    assert f"--resume {tmp_path / 'other'} with a configuration continues into its run.out_dir, " \
           f"{tmp_path / 'run'}, which already holds a run with checkpoints up to step 3" in err
    assert "give --out DIR" in err


def test_an_evaluation_whose_episodes_failed_says_so_and_counts_them(tmp_path, broken_world):
    """Held-out episodes that ended with an error (an environment that cannot be built in time,
    a reset that raises) were scored as plain failures: eval/success 0 and no word of why."""
    trainer = Trainer(world_config(tmp_path / "run", env={"id": broken_world}, eval={"tasks": 3}), **learner())
    with pytest.warns(UserWarning, match=r"eval before training: 3 of 3 episodes ended with an error \(scored "
                                         r"as failures\); first: .*the held-out tasks are unavailable"):
        metrics = trainer.evaluate()
    assert metrics["eval/errors"] == 3.0 and metrics["eval/success"] == 0.0


def test_a_step_whose_episodes_failed_says_why_it_has_nothing_to_train(tmp_path, broken_world):
    """Every episode of the step failed in the environment: the warning said only 'no rows to train
    on (none trainable, or all filtered out)', and an errored episode (it has no token ids) was
    'text-only trajectory (no token ids)', also the error of on_untrainable = "error"."""
    config = world_config(tmp_path / "run", env={"id": PLAY_BROKEN_ID, "tasks_per_step": 2}, rollout={"group_size": 2})
    trainer = Trainer(config, **learner())
    with pytest.warns(UserWarning, match=r"step 1: no rows to train on: 4 of 4 episodes untrainable \(first: "
                                         r"episode failed: environment raised RuntimeError: the game server is down"):
        trainer.train_step()
    strict = Trainer(world_config(tmp_path / "strict", env={"id": PLAY_BROKEN_ID, "tasks_per_step": 1},
                                  rollout={"group_size": 2, "on_untrainable": "error"}), **learner())
    with pytest.raises(NotTrainable, match="episode failed: environment raised RuntimeError"):
        strict.train_step()


def test_sft_reads_the_recorded_trajectories_before_the_model_and_says_which_it_left_out(tmp_path, capsys):
    """``agentgym sft --trajectories FILE``: a missing FILE was found only after the (slow) model
    load, and trajectories left out for not succeeding made 'no trainable demonstration among 0
    trajectories', with no word of the ones the file held."""
    unloadable = tmp_path / "model"  # a folder that looks like a model, and would fail to load
    unloadable.mkdir()
    (unloadable / "config.json").write_text("{}")
    assert main(["sft", "--model", str(unloadable), "--trajectories", str(tmp_path / "nope.jsonl"),
                 "--out", str(tmp_path / "out")]) == 2
    assert "nope.jsonl: No such file or directory" in capsys.readouterr().err
    recorded = tmp_path / "failures.jsonl"
    writer = TrajectoryWriter(recorded)
    for seed in range(3):
        writer.write(Trajectory(env_id=ENV_ID, seed=seed))
    writer.close()
    main(["sft", "--model", str(unloadable), "--trajectories", str(recorded), "--out", str(tmp_path / "out")])
    assert (f"agentgym sft: warning: {recorded}: 3 of 3 trajectories left out: they did not succeed "
            "(--include-failures keeps them)") in capsys.readouterr().err


@pytest.mark.parametrize("model", ["/nowhere/model", "./nowhere"])
def test_sft_names_a_model_folder_that_does_not_exist_in_one_line(tmp_path, capsys, model):
    """``agentgym sft --model /typo``: transformers' 'Repo id must be in the form ...' traceback."""
    assert main(["sft", "--model", model, "--env", "games/Wordle-v0", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == f'agentgym sft: error: --model "{model}" does not exist: expected a local model folder ' \
                  '(written by save_pretrained), a hub name such as "HuggingFaceTB/SmolLM2-135M-Instruct", or ' \
                  '"smollm2-135m" (the embedded model)\n'
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("sections, message", [
    ({"run": {"seed": 2**64}}, "run.seed must be below 2**64, got 18446744073709551616"),
    ({"env": {"train_seeds": [0, 2**64]}}, r"env.train_seeds must lie below 2**63, got [0, 18446744073709551616]"),
])
def test_seeds_beyond_64_bits_are_refused_with_their_option(tmp_path, sections, message):
    """They failed as 'Overflow when unpacking long long' (run.seed, naming nothing) or as an
    OverflowError traceback from the first step's seed draw, after the model had loaded."""
    with pytest.raises(ConfigError, match=re.escape(message)):
        world_config(tmp_path, **sections).check()


def test_resuming_a_runs_checkpoints_folder_continues_that_run(tmp_path):
    """``agentgym train --resume RUN/checkpoints`` (a form resolve_checkpoint accepts) took the
    checkpoints folder for the run directory: the continued run wrote RUN/checkpoints/checkpoints
    and RUN/checkpoints/metrics.jsonl, and RUN's own latest stayed behind."""
    for run in (tmp_path / "run", tmp_path / "checkpoints"):  # a run directory may itself be called so
        (run / "checkpoints" / "step-000002").mkdir(parents=True)
        (run / "checkpoints" / "latest").write_text("step-000002")
        for given in (run, run / "checkpoints", run / "checkpoints" / "step-000002"):
            assert train_cmd._run_dir(given) == run, given
