"""One training process per run directory (agentgym/train/run_lock.py): a second process is
refused with a message naming the first, the lock goes with its holder however it ends, and
within one process it is re-entrant."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agentgym.cli import main
from agentgym.train.run_lock import LOCK_FILE, RunDirectoryLocked, hold_run_directory

ROOT = Path(__file__).resolve().parents[2]

_HOLDER = textwrap.dedent("""
    import sys
    from agentgym.train.run_lock import hold_run_directory
    with hold_run_directory(sys.argv[1]):
        print("held", flush=True)
        sys.stdin.readline()
""")


@pytest.fixture
def other_process_holding(tmp_path):
    """A second Python process holding the lock of ``tmp_path / "run"`` until the test ends."""
    run_dir = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(run_dir)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield run_dir, holder
    finally:
        holder.kill()
        holder.wait()
        holder.stdin.close()
        holder.stdout.close()


def test_a_second_process_is_refused_naming_the_first(other_process_holding):
    run_dir, holder = other_process_holding
    with pytest.raises(RunDirectoryLocked, match=rf"in use: another process \(pid {holder.pid}\)"):
        with hold_run_directory(run_dir):
            pass


def test_the_lock_goes_with_its_holder_even_on_kill_9(other_process_holding):
    run_dir, holder = other_process_holding
    holder.kill()
    holder.wait()
    with hold_run_directory(run_dir):
        assert (run_dir / LOCK_FILE).read_text().strip() == str(__import__("os").getpid())


def test_re_entrant_within_a_process_and_released_after(tmp_path):
    run_dir = tmp_path / "run"
    with hold_run_directory(run_dir):
        with hold_run_directory(run_dir / ".." / "run"):  # the same directory, spelled otherwise
            pass
        probe = subprocess.run([sys.executable, "-c", _HOLDER, str(run_dir)], input="\n", capture_output=True,
                               text=True, cwd=ROOT)
        assert probe.returncode != 0 and "RunDirectoryLocked" in probe.stderr  # still held after the inner one
    probe = subprocess.run([sys.executable, "-c", _HOLDER, str(run_dir)], input="\n", capture_output=True,
                           text=True, cwd=ROOT)
    assert probe.returncode == 0 and probe.stdout.strip() == "held"


def test_agentgym_train_refuses_a_run_directory_in_use_before_loading_anything(other_process_holding, capsys):
    run_dir, holder = other_process_holding
    code = main(["train", str(ROOT / "examples" / "grpo_guess_the_number.toml"), "--out", str(run_dir),
                 "--steps", "1"])
    assert code == 2
    error = capsys.readouterr().err
    assert f"is in use: another process (pid {holder.pid}) is training into it" in error
    assert not (run_dir / "metrics.jsonl").exists()


def test_trainer_train_holds_the_lock_while_it_trains_and_refuses_one_held(other_process_holding, tmp_path):
    """The Python API is guarded as the command line is: ``Trainer.train`` takes the lock (a
    second process finds it held during a step) and refuses a directory another process holds."""
    from agentgym.train.trainer import Trainer
    from tests.train.conftest import learner, world_config

    run_dir, holder = other_process_holding
    with pytest.raises(RunDirectoryLocked, match=f"pid {holder.pid}"):
        Trainer(world_config(run_dir, run={"steps": 1}), **learner()).train()
    assert not (run_dir / "metrics.jsonl").exists()

    own = tmp_path / "own"
    trainer = Trainer(world_config(own, run={"steps": 1}), **learner())
    seen = []
    step = trainer.train_step

    def probing_step():
        seen.append(subprocess.run([sys.executable, "-c", _HOLDER, str(own)], input="\n", capture_output=True,
                                   text=True, cwd=ROOT).returncode)
        return step()

    trainer.train_step = probing_step
    trainer.train()
    assert seen == [1]  # the other process was refused while this one trained


def test_a_rank_variable_without_a_process_group_still_takes_the_lock(tmp_path, monkeypatch):
    """RANK=1 alone (no WORLD_SIZE > 1, so no process group): this process is the only writer."""
    from agentgym.cli.train_cmd import _holding

    monkeypatch.setenv("RANK", "1")
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    run_dir = tmp_path / "run"
    with _holding(run_dir):
        probe = subprocess.run([sys.executable, "-c", _HOLDER, str(run_dir)], input="\n", capture_output=True,
                               text=True, cwd=ROOT)
    assert probe.returncode != 0 and "RunDirectoryLocked" in probe.stderr


def test_a_rank_that_fails_says_which_rank_it_is(monkeypatch, capsys):
    """Under torchrun every rank prints its own error: each says which rank it is (torchrun's
    summary names rank 0, which may only have seen its peer go)."""
    import argparse

    from agentgym.cli import train_cmd

    left = []
    monkeypatch.setattr(train_cmd, "_join_process_group", lambda: True)
    monkeypatch.setattr(train_cmd, "_leave_process_group", lambda wait_for_the_others: left.append(wait_for_the_others))
    monkeypatch.setattr("agentgym.train.distributed.rank_and_world", lambda: (1, 2))

    def boom(args):
        raise ValueError("the environment failed on this rank")
    monkeypatch.setattr(train_cmd, "_train", boom)
    with pytest.raises(ValueError, match="failed on this rank"):
        train_cmd.run(argparse.Namespace())
    assert "agentgym train: rank 1 of 2 stops on the error below" in capsys.readouterr().err
    assert left == [False]  # a failed rank leaves the group at once
