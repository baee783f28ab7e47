"""The command line as a demanding user meets it (exploratory round 12): closed standard
streams, values out of range and paths that cannot be written are one line and a documented
exit status, never a traceback."""

import errno
import io
import os
import sys

import pytest

from agentgym.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ------------------------------------------------------------------------------------ play
def test_play_with_standard_input_closed_is_a_one_line_error_before_the_environment_is_made(
        capsys, monkeypatch, registered_for_the_test):
    """`agentgym play ID <&-` (a script, a service): Python sets sys.stdin to None and input()
    raised RuntimeError('input(): lost sys.stdin') after the first observation, a traceback."""
    made = []

    def entry(**kwargs):
        made.append(kwargs)
        raise AssertionError("the environment is not made when no move can be read")

    registered_for_the_test("explore12/NeverMade-v0", entry_point=entry)
    monkeypatch.setattr(sys, "stdin", None)
    code, _, err = run_cli(capsys, "play", "games/GuessTheNumber-v0")
    assert code == 2
    assert err.startswith("agentgym play: error: ") and "standard input" in err and err.count("\n") == 1
    code, _, err = run_cli(capsys, "play", "explore12/NeverMade-v0")
    assert (code, made) == (2, [])


# ------------------------------------------------------------------------- closed stdout
@pytest.mark.parametrize("argv", [["list", "games/Wordle-v0"], ["list", "--suites", "quick-*"]])
def test_a_closed_standard_output_is_not_a_crash(capsys, monkeypatch, argv):
    """`agentgym eval ... >&-` (a job whose output nobody reads): Python sets sys.stdout to
    None, and every table-printing command (list, eval, compare, report) raised AttributeError
    ('NoneType' object has no attribute 'isatty'), eval's only after its whole run."""
    monkeypatch.setattr(sys, "stdout", None)
    code = main(argv)
    assert (code, capsys.readouterr().err) == (0, "")


def test_eval_with_standard_output_closed_writes_its_run_and_exits_0(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "stdout", None)
    code = main(["eval", "--env", "games/GuessTheNumber-v0", "--tasks", "1", "--policy", "oracle",
                 "--no-progress", "--out", str(tmp_path / "run")])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "run" / "results.json").is_file()


# ------------------------------------------------------------------------------- servers
@pytest.mark.parametrize("argv", [["serve-env", "--port", "0"], ["serve-policy", "--model", "/no/such/model"]])
@pytest.mark.parametrize("value", ["inf", "Infinity"])
def test_an_infinite_body_limit_is_a_one_line_error_before_anything_starts(capsys, monkeypatch, argv, value):
    """--max-body-mb inf passed the 'must be positive' check and raised OverflowError (cannot
    convert float infinity to integer) where the byte count was computed: serve-policy's only
    after its model had loaded."""
    monkeypatch.delenv("AGENTGYM_API_KEY", raising=False)
    code, _, err = run_cli(capsys, *argv, "--max-body-mb", value)
    assert code == 2
    assert f"argument --max-body-mb: must be a positive number, got {value!r}" in err


# ------------------------------------------------------------------------------------ list
@pytest.mark.parametrize("argv, named", [(["--family", ""], "--family ''"), (["--tag", ""], "--tag ''"),
                                         (["--family", "", "games/*"], "'games/*' --family ''")])
def test_list_names_an_empty_filter_that_matched_nothing(capsys, argv, named):
    """`agentgym list --family ""` (an unset shell variable) said 'no environments are
    registered', which is false; an empty --tag was shown as nothing at all ('match --tag (')."""
    code, _, err = run_cli(capsys, "list", *argv)
    assert code == 2
    assert f"no environments match {named} (families: " in err and "registered" not in err


def test_list_suites_refuses_an_empty_family_as_it_refuses_any_other(capsys):
    code, _, err = run_cli(capsys, "list", "--suites", "--family", "")
    assert code == 2 and "--family filters environments" in err


# ----------------------------------------------------------------------------------- train
@pytest.mark.parametrize("steps", ["0", "-1", "2.5"])
def test_train_refuses_a_bad_steps_option_as_the_option_not_as_the_files(capsys, tmp_path, steps):
    """`agentgym train CONFIG --steps -1` said 'CONFIG: run.steps must be a positive integer,
    got -1', blaming a file that holds no such value."""
    config = tmp_path / "run.toml"
    config.write_text('[env]\nid = "games/GuessTheNumber-v0"\n')
    code, _, err = run_cli(capsys, "train", str(config), "--steps", steps)
    assert code == 2
    assert f"argument --steps: must be a positive integer, got '{steps}'" in err and str(config) not in err


# --------------------------------------------------------------------------------- compare
def test_compare_plot_under_a_file_names_the_file_in_the_way(capsys, tmp_path):
    """`agentgym compare RUN --plot notes.txt/plot.png` said 'notes.txt: File exists', which
    reads as if the plot would overwrite something."""
    run = tmp_path / "run"
    assert main(["eval", "--env", "games/GuessTheNumber-v0", "--tasks", "1", "--policy", "oracle", "--no-progress",
                 "--out", str(run)]) == 0
    (tmp_path / "notes.txt").write_text("mine")
    capsys.readouterr()
    code, out, err = run_cli(capsys, "compare", str(run), "--plot", str(tmp_path / "notes.txt" / "plot.png"))
    assert code == 2 and out == ""
    assert f"--plot {tmp_path / 'notes.txt' / 'plot.png'}: {tmp_path / 'notes.txt'} is a file, not a folder" in err
    assert (tmp_path / "notes.txt").read_text() == "mine"


# ---------------------------------------------------------------------------- empty paths
@pytest.mark.parametrize("argv, option", [
    (["eval", "--env", "games/GuessTheNumber-v0", "--tasks", "1", "--policy", "oracle", "--no-progress", "--out", ""],
     "--out"),
    (["report", ""], "RUN_DIR"),
    (["compare", ""], "RUN_DIR"),
    (["play", "games/GuessTheNumber-v0", "--screenshots", ""], "--screenshots"),
    (["sft", "--env", "games/GuessTheNumber-v0", "--out", ""], "--out"),
    (["train", "--config", ""], "--config"),
    (["serve-retriever", "--corpus", ""], "--corpus"),
])
def test_an_empty_path_is_refused_not_taken_for_the_current_folder(capsys, monkeypatch, tmp_path, argv, option):
    """`agentgym eval ... --out "$RUN"` with RUN unset wrote the run (run.json, trajectories,
    reports) into the current folder: Path('') is '.'; report and compare read it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("builtins.input", lambda prompt="": ":quit")
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert f"argument {option}: must be a path, got an empty one" in err
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------ eval
def test_eval_refuses_an_empty_suite_name_instead_of_running_the_default_suite(capsys, monkeypatch, tmp_path):
    """`agentgym eval --suite "$SUITE"` with SUITE unset ran quick-v1, the default, as if no
    suite had been named, and recorded it as the run asked for."""
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "eval", "--suite", "", "--policy", "random", "--tasks", "1", "--no-progress")
    assert code == 2
    assert "agentgym eval: error: no suite named ''" in err
    assert list(tmp_path.iterdir()) == []


def test_serve_policy_refuses_an_empty_model_instead_of_reading_the_current_folder(capsys, monkeypatch, tmp_path):
    """`agentgym serve-policy --model "$MODEL"` with MODEL unset said ' is not a Hugging Face
    checkpoint folder' (of the current folder, unnamed), and served the current folder when it
    held a checkpoint."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AGENTGYM_API_KEY", raising=False)
    code, _, err = run_cli(capsys, "serve-policy", "--model", "")
    assert code == 2
    assert err.startswith("agentgym serve-policy: error: --model is empty: ")


# ------------------------------------------------------------------------------- full disk
class _FullDisk:
    """Standard output redirected to a file on a full disk: every write fails with ENOSPC."""

    def write(self, text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    flush = write

    def isatty(self):
        return False


@pytest.mark.parametrize("argv", [["list", "games/Wordle-v0"], ["list", "--markdown", "games/Wordle-v0"]])
def test_output_to_a_full_disk_is_a_one_line_error(capsys, monkeypatch, argv):
    """`agentgym list > table.txt` on a full disk ended in a traceback (OSError: [Errno 28] No
    space left on device) from rich's or print's write."""
    monkeypatch.setattr(sys, "stdout", _FullDisk())
    code = main(argv)
    assert (code, capsys.readouterr().err) == (2, "agentgym list: error: No space left on device\n")


# ------------------------------------------------------------------------- play's input
def test_a_line_that_is_not_utf8_is_an_invalid_move_not_the_end_of_the_game(capsys, monkeypatch):
    """Under a UTF-8 locale standard input decodes strictly: one stray byte in a typed move
    (a Latin-1 terminal's 'é') ended the game with "error: 'utf-8' codec can't decode byte
    0xe9", exit 2, and the moves after it were lost."""
    moves = io.TextIOWrapper(io.BytesIO("caf\u00e9\n7\n:quit\n".encode("latin-1")), encoding="utf-8", errors="strict")
    monkeypatch.setattr(sys, "stdin", moves)
    code, out, err = run_cli(capsys, "play", "games/GuessTheNumber-v0", "--seed", "3")
    assert (code, err) == (0, "")
    _, played = out.split("invalid: ", 1)  # the stray line is refused as a move; the next is played
    assert "than 7." in played


@pytest.mark.parametrize("argv", [["serve-env"], ["serve-policy", "--model", "/no/such/model"],
                                  ["serve-retriever", "--corpus", "/no/such/corpus.jsonl"]])
def test_a_port_in_use_is_a_one_line_error_before_anything_is_loaded(capsys, monkeypatch, argv):
    """A port another server listens on: uvicorn logged '[Errno 98] ... address already in use'
    and exited with status 3 (SystemExit in-process), after serve-policy loaded its model and
    serve-retriever built its index."""
    import socket

    monkeypatch.delenv("AGENTGYM_API_KEY", raising=False)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = run_cli(capsys, *argv, "--port", str(port))
    assert code == 2
    assert err == f"agentgym {argv[0]}: error: --port {port}: cannot listen on 127.0.0.1: Address already in use\n"


def test_eval_of_the_human_policy_with_standard_input_closed_is_refused_before_the_run(capsys, monkeypatch, tmp_path):
    """`agentgym eval --policy human <&-` played every episode into a failure ('policy error:
    AttributeError: 'NoneType' object has no attribute 'readline''), exit 1, and left a run."""
    monkeypatch.setattr(sys, "stdin", None)
    code, _, err = run_cli(capsys, "eval", "--env", "games/GuessTheNumber-v0", "--policy", "human", "--tasks", "1",
                           "--no-progress", "--out", str(tmp_path / "run"))
    assert code == 2
    assert err.startswith("agentgym eval: error: the human policy reads your moves from standard input, which is closed")
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------------------------- sft
@pytest.mark.parametrize("episodes", [0, 2])
def test_sft_with_nothing_to_learn_from_fails_before_the_model_loads(capsys, tmp_path, episodes):
    """`agentgym sft --trajectories runs/x/trajectories.jsonl` whose episodes all failed (or an
    empty file) loaded the model first (seconds) and only then said 'no trainable demonstration
    among 0 trajectories'."""
    recorded = tmp_path / "run" / "trajectories.jsonl"
    if episodes:  # a random Wordle player's episodes: failures
        assert main(["eval", "--env", "games/Wordle-v0", "--policy", "random:0", "--tasks", str(episodes),
                     "--no-progress", "--out", str(recorded.parent)]) == 0
    else:
        recorded.parent.mkdir()
        recorded.write_text("")
    capsys.readouterr()
    code, _, err = run_cli(capsys, "sft", "--trajectories", str(recorded), "--out", str(tmp_path / "model"))
    assert code == 2
    assert "agentgym sft: error: nothing to learn from: --trajectories holds no successful trajectory" in err
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize("under", ["", "cache"])
def test_serve_retriever_names_a_file_given_as_its_index_folder(capsys, monkeypatch, tmp_path, under):
    """`--index-dir notes.txt` said 'notes.txt: File exists', and `--index-dir notes.txt/cache`
    'notes.txt/cache: Not a directory'."""
    monkeypatch.delenv("AGENTGYM_API_KEY", raising=False)
    (tmp_path / "notes.txt").write_text("mine")
    index_dir = tmp_path / "notes.txt" / under if under else tmp_path / "notes.txt"
    code, _, err = run_cli(capsys, "serve-retriever", "--world-size", "50", "--index-dir", str(index_dir),
                           "--port", "0")
    assert code == 2
    assert err == (f"agentgym serve-retriever: error: --index-dir {index_dir}: {tmp_path / 'notes.txt'} is a file, "
                   "not a folder\n")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_play_refuses_a_screenshots_folder_under_a_file_before_making_the_environment(capsys, monkeypatch, tmp_path):
    """`--screenshots notes.txt/shots` was let through (only a file at the path itself was
    refused): a web or GUI game failed at its first screenshot, mid-game, with 'Not a directory'."""
    import agentgym

    made = []
    monkeypatch.setattr(agentgym, "make", lambda *a, **k: made.append(a))
    (tmp_path / "notes.txt").write_text("mine")
    shots = tmp_path / "notes.txt" / "shots"
    code, _, err = run_cli(capsys, "play", "gui/Grounding-v0", "--screenshots", str(shots))
    assert (code, made) == (2, [])
    assert err == f"agentgym play: error: --screenshots {shots}: {tmp_path / 'notes.txt'} is a file, not a folder\n"
