"""``hf:PATH`` on a training run's directory or on one of its checkpoints says what it is and
which folder holds the model (a checkpoint's ``config.json`` is the run's configuration, and
was read as a model's: "Couldn't instantiate the backend tokenizer")."""

from __future__ import annotations

import json

import pytest

from agentgym.policies.specs import make_policy


def _run(tmp_path, *, final: bool):
    run = tmp_path / "run"
    step = run / "checkpoints" / "step-000002"
    step.mkdir(parents=True)
    (run / "checkpoints" / "latest").write_text("step-000002")
    (step / "config.json").write_text(json.dumps({"run": {"name": "x"}, "model": {"path": "m"}}))
    (step / "state.pt").write_bytes(b"")
    (step / "history.json").write_text("[]")
    (run / "metrics.jsonl").write_text("")
    if final:
        (run / "final").mkdir()
        (run / "final" / "config.json").write_text("{}")
    return run


def test_a_checkpoint_is_named_as_one_with_where_the_model_is(tmp_path):
    step = _run(tmp_path, final=True) / "checkpoints" / "step-000002"
    with pytest.raises(ValueError, match="is a training checkpoint .* not a model; the run's model is its folder 'final'"):
        make_policy(f"hf:{step}")


def test_a_run_directory_points_at_its_final_model(tmp_path):
    run = _run(tmp_path, final=True)
    with pytest.raises(ValueError, match=f"training run's directory; its model is the folder '{run / 'final'}'"):
        make_policy(f"hf:{run}")


def test_a_run_directory_without_a_final_model_says_so(tmp_path):
    run = _run(tmp_path, final=False)
    with pytest.raises(ValueError, match="without a final model"):
        make_policy(f"hf:{run}")


def test_training_from_a_checkpoint_folder_says_what_it_is(tmp_path):
    from agentgym.train.config_checks import model_path_problem

    step = _run(tmp_path, final=True) / "checkpoints" / "step-000002"
    assert "is a training checkpoint" in model_path_problem(str(step))
    assert "its model is the folder" in model_path_problem(str(step.parent.parent))
    assert model_path_problem(str(step.parent.parent / "final")) is None
