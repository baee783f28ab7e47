"""Checkpoints and the run directory lose nothing: pruning by step that never drops ``latest``,
re-saving a step crash-safely at every instant, refusing to start a new run over an old one, and
reading back a metrics log cut off by a kill."""

from __future__ import annotations

import contextlib
import json
import os
import shutil

import pytest
import torch

from agentgym.cli import main
from agentgym.train.checkpoint import (
    RunDirectoryInUse,
    check_run_directory_unused,
    checkpoint_steps,
    load_checkpoint,
    save_checkpoint,
)
from agentgym.train.logging import read_metrics
from tests.train.conftest import cli_config


def _save(run, step, marker, *, keep_last=2):
    return save_checkpoint(run, step, {"weights": torch.full((3,), float(step)), "marker": marker},
                           {"run": {"steps": 10}}, [{"step": s} for s in range(1, step + 1)], keep_last=keep_last)


def _latest(run):
    return (run / "checkpoints" / "latest").read_text().strip()


def test_pruning_goes_by_step_number_and_never_drops_latest(tmp_path):
    for step in (5, 6):
        _save(tmp_path, step, "first run")
    _save(tmp_path, 1, "restarted")  # once: sorted by name, then pruned, leaving latest dangling
    assert _latest(tmp_path) == "step-000001"
    assert load_checkpoint(tmp_path).state["marker"] == "restarted"
    assert sorted(checkpoint_steps(tmp_path)) == [1, 5, 6]  # the two highest, and latest

    for step in (999_999, 1_000_000, 1_000_001):  # past six digits names no longer sort as numbers
        _save(tmp_path, step, "long run", keep_last=2)
    assert sorted(checkpoint_steps(tmp_path)) == [1_000_000, 1_000_001]
    assert load_checkpoint(tmp_path).step == 1_000_001


class SimulatedCrash(Exception):
    pass


@contextlib.contextmanager
def crash_at(call: int):
    """Kill the save at its ``call``-th file-system change (rename, delete, copy, link); a
    delete dies half-way, with one file of the folder gone. Yields the list of calls made."""
    made: list[str] = []
    real = {"replace": os.replace, "link": os.link, "rmtree": shutil.rmtree, "copytree": shutil.copytree}

    def hook(name, *args, **kwargs):
        made.append(name)
        if len(made) == call:
            if name == "rmtree" and os.path.isdir(args[0]):  # state.pt goes first
                os.remove(sorted(e.path for e in os.scandir(args[0]) if e.is_file())[-1])
            raise SimulatedCrash(f"crash at {name}")
        return real[name](*args, **kwargs)

    patches = [(os, "replace"), (os, "link"), (shutil, "rmtree"), (shutil, "copytree")]
    for module, name in patches:
        setattr(module, name, lambda *a, _name=name, **k: hook(_name, *a, **k))
    try:
        yield made
    finally:
        for module, name in patches:
            setattr(module, name, real[name])


def test_resaving_a_step_leaves_latest_on_a_complete_checkpoint_whatever_the_moment_of_a_crash(tmp_path):
    """A run resumed from step 4 saves step 6 again while ``latest`` still names the old step 6."""
    crashes = 0
    for call in range(1, 50):
        run = tmp_path / f"crash-{call}"
        _save(run, 4, "old")
        _save(run, 6, "old")
        with crash_at(call) as made:
            try:
                _save(run, 6, "new")
            except SimulatedCrash:
                crashes += 1
            else:
                break
            finally:
                assert load_checkpoint(run).step == 6, f"after a crash at {made[-1]} (call {call})"
        checkpoint = load_checkpoint(run)
        assert checkpoint.state["marker"] in ("old", "new") and checkpoint.history[-1] == {"step": 6}
        assert torch.equal(checkpoint.state["weights"], torch.full((3,), 6.0))
        # The next save recovers: the step in place, the crashed save's staging folders gone.
        _save(run, 6, "new")
        assert load_checkpoint(run).state["marker"] == "new" and _latest(run) == "step-000006"
        assert not list((run / "checkpoints").glob("*.tmp")), "staging folders left behind"
    assert crashes >= 5, made  # replace latest, delete, copy, link, rename in, replace latest, prune
    assert load_checkpoint(run).state["marker"] == "new"


def test_a_used_run_directory_is_named_with_its_last_step(tmp_path):
    check_run_directory_unused(tmp_path / "missing")
    check_run_directory_unused(tmp_path)
    (tmp_path / "metrics.jsonl").write_text("")
    check_run_directory_unused(tmp_path)  # an empty log holds nothing
    (tmp_path / "metrics.jsonl").write_text('{"step": 1}\n')
    with pytest.raises(RunDirectoryInUse, match="metrics.jsonl, but no checkpoint"):
        check_run_directory_unused(tmp_path)
    _save(tmp_path, 5, "a")
    _save(tmp_path, 6, "a")
    with pytest.raises(RunDirectoryInUse) as caught:
        check_run_directory_unused(tmp_path)
    assert str(caught.value) == (f"{tmp_path} already holds a run with checkpoints up to step 6: "
                                 "use --resume to continue it, or choose another --out")


def test_train_refuses_a_used_run_directory_and_leaves_it_as_it_was(tmp_path, capsys):
    config = cli_config(tmp_path, run={"steps": 3}, checkpoint={"keep_last": 2})
    run = tmp_path / "run"
    assert main(["train", str(config)]) == 0  # the configuration as the positional CONFIG
    before = {path: path.read_bytes() for path in run.rglob("*") if path.is_file()}
    capsys.readouterr()

    assert main(["train", "--config", str(config), "--steps", "1"]) == 2
    err = capsys.readouterr().err
    assert err.endswith(f"agentgym train: error: {run} already holds a run with checkpoints up to step 3: "
                        "use --resume to continue it, or choose another --out\n"), err
    assert "Traceback" not in err, err
    after = {path: path.read_bytes() for path in run.rglob("*") if path.is_file()}
    assert after.keys() == before.keys() and all(after[path] == before[path] for path in before), \
        [path.name for path in before if after.get(path) != before[path]]

    # Resuming from an older checkpoint into the same run re-saves its later steps in place.
    assert main(["train", "--resume", str(run / "checkpoints" / "step-000002"), "--set", "run.steps=3"]) == 0
    assert load_checkpoint(run).step == 3 and sorted(checkpoint_steps(run)) == [2, 3]
    assert [record["step"] for record in read_metrics(run)] == [1, 2, 3]
    # Nor may a resumed run write into another run's directory.
    other = tmp_path / "other"
    shutil.copytree(run, other)
    assert main(["train", "--resume", str(run), "--out", str(other), "--steps", "4"]) == 2
    assert f"{other} already holds a run with checkpoints up to step 3" in capsys.readouterr().err


def test_metrics_reader_skips_a_cut_off_last_line_only(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n{"step": 2}\n{"step": 3, "rew')
    assert read_metrics(tmp_path) == [{"step": 1}, {"step": 2}]
    path.write_text('{"step": 1}\n{"step": 2}\n')
    assert read_metrics(path) == [{"step": 1}, {"step": 2}]
    path.write_text('{"step": 1}\n{"st\n{"step": 3}\n')
    with pytest.raises(ValueError, match=r"metrics\.jsonl:2 is not a JSON line"):
        read_metrics(path)


def test_metrics_file_is_replaced_atomically_on_resume(tmp_path, monkeypatch):
    from agentgym.train.logging import MetricsLogger

    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps({"step": s}) + "\n" for s in (1, 2, 3)))

    def crash(*args):
        raise SimulatedCrash

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(SimulatedCrash):
        MetricsLogger(tmp_path, console=False, history=[{"step": 1}])
    monkeypatch.undo()
    assert read_metrics(path) == [{"step": 1}, {"step": 2}, {"step": 3}]  # untouched by the crash
    MetricsLogger(tmp_path, console=False, history=[{"step": 1}]).close()
    assert read_metrics(path) == [{"step": 1}]


def test_history_with_nan_and_infinities_is_strict_json_and_reads_back_as_floats(tmp_path):
    history = [{"step": 1, "loss": float("nan"), "kl": float("inf"), "gap": float("-inf"), "note": "nan?"}]
    folder = save_checkpoint(tmp_path, 1, {"weights": torch.zeros(1)}, {}, history)

    def refuse(constant):
        raise ValueError(f"bare {constant} in history.json")
    written = json.loads((folder / "history.json").read_text(), parse_constant=refuse)  # what other readers accept
    assert written == [{"step": 1, "loss": "nan", "kl": "inf", "gap": "-inf", "note": "nan?"}]
    (record,) = load_checkpoint(tmp_path).history
    assert record["loss"] != record["loss"] and record["kl"] == float("inf") and record["gap"] == float("-inf")
    assert record["note"] == "nan?"
    (folder / "history.json").write_text('{"step": 1}')
    with pytest.raises(ValueError, match="history.json is not a list of metrics records"):
        load_checkpoint(tmp_path)
