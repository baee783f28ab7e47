"""``agentgym sft --out`` never writes a model over something else: not over the ``--model``
folder it starts from, nor a folder holding a run or another model (it did, silently); an
earlier ``sft``'s output may be written again. Checked before the model loads."""

from __future__ import annotations

from agentgym.cli import main


def _model_folder(path):
    path.mkdir()
    (path / "config.json").write_text("{}")
    return path


def test_out_may_not_be_the_model_folder(tmp_path, capsys):
    model = _model_folder(tmp_path / "model")
    assert main(["sft", "--model", str(model), "--env", "games/Wordle-v0", "--out", str(model)]) == 2
    assert "is the --model folder" in capsys.readouterr().err
    assert sorted(p.name for p in model.iterdir()) == ["config.json"]


def test_out_may_not_be_a_folder_holding_something_else(tmp_path, capsys):
    model = _model_folder(tmp_path / "model")
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text("")
    assert main(["sft", "--model", str(model), "--env", "games/Wordle-v0", "--out", str(run)]) == 2
    assert "is not empty and holds no earlier sft output" in capsys.readouterr().err


def test_an_earlier_sft_output_or_an_empty_folder_passes_the_check(tmp_path, capsys):
    """The command goes on to load the model (which fails here: an empty config), so the
    folder check let it through."""
    model = _model_folder(tmp_path / "model")
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "sft_metrics.json").write_text("{}")
    empty = tmp_path / "empty"
    empty.mkdir()
    for out in (earlier, empty):
        assert main(["sft", "--model", str(model), "--env", "games/Wordle-v0", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "--out" not in err and "cannot load the model" in err, err
