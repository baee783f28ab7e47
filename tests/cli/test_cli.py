import json
import subprocess
import sys
from pathlib import Path

import pytest

from agentgym.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_shows_every_game(capsys):
    code, out, _ = run_cli(capsys, "list", "--family", "games")
    assert code == 0
    for name in ("games/GuessTheNumber-v0", "games/Sokoban-v0", "games/ConnectFour-v0"):
        assert name in out


def test_list_suites_and_unknown_family(capsys):
    code, out, _ = run_cli(capsys, "list", "--suites")
    assert code == 0 and "games-v0" in out and "quick-v0" in out
    code, _, err = run_cli(capsys, "list", "--family", "nope")
    assert code == 2 and "no environments match" in err


def test_info_describes_spaces_options_and_an_example(capsys):
    code, out, _ = run_cli(capsys, "info", "games/GuessTheNumber-v0", "--difficulty", "hard", "--seed", "3")
    assert code == 0
    for expected in ("UnicodeText", "easy, medium, hard", "dense_reward=False", "between 1 and 1000",
                     "example observation (seed 3)", "hidden answer"):
        assert expected in out, expected


def test_info_unknown_env_is_a_clear_error(capsys):
    code, _, err = run_cli(capsys, "info", "games/GuessTheNumbr-v0")
    assert code == 2 and "Did you mean games/GuessTheNumber-v0" in err


def test_play_reads_moves_from_the_terminal(capsys, monkeypatch):
    import agentgym

    env = agentgym.make("games/GuessTheNumber-v0")
    env.reset(seed=7)
    secret = env.unwrapped.secret
    moves = iter([":hint", "not a number", str(secret)])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(moves))
    code, out, _ = run_cli(capsys, "play", "games/GuessTheNumber-v0", "--seed", "7")
    assert code == 0
    assert "hint:" in out and "invalid:" in out and "You won!" in out


def test_play_ends_cleanly_on_end_of_input(capsys, monkeypatch):
    def eof(prompt=""):
        raise EOFError

    monkeypatch.setattr("builtins.input", eof)
    code, out, _ = run_cli(capsys, "play", "games/GuessTheNumber-v0")
    assert code == 0 and "end of input" in out


def test_eval_oracle_and_random_write_run_directories(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "eval", "--suite", "quick-v0", "--policy", "oracle", "--tasks", "2",
                           "--out", str(tmp_path / "oracle"), "--no-progress")
    assert code == 0 and "oracle on quick-v0" in out
    rows = json.loads((tmp_path / "oracle" / "results.json").read_text())["environments"]
    assert [r["episodes"] for r in rows] == [2, 2, 2, 2]
    assert all(r["success_rate"] == 1.0 for r in rows)
    code, out, _ = run_cli(capsys, "eval", "--suite", "quick-v0", "--policy", "random:1", "--tasks", "1",
                           "--out", str(tmp_path / "random"), "--no-progress")
    assert code == 0 and "random:1 on quick-v0" in out and (tmp_path / "random" / "report.html").is_file()


@pytest.mark.parametrize("argv, message", [
    (["eval", "--policy", "gpt-9"], "unknown policy"),
    (["eval", "--suite", "nope-v0"], "no suite named"),
    (["eval", "--tasks", "0", "--policy", "oracle"], "positive"),
    (["info", "games/Wordle-v0", "-o", "oops"], "KEY=VALUE"),
])
def test_bad_arguments_are_clear_errors(capsys, argv, message):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and message in err


@pytest.mark.parametrize("command", [[str(Path(sys.executable).with_name("agentgym"))],
                                     [sys.executable, "-m", "agentgym"]], ids=["script", "module"])
def test_console_entry_points(command):
    out = subprocess.run([*command, "list", "--markdown"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "| `games/Wordle-v0` |" in out.stdout
