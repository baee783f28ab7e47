"""The small commands (list, info, play) and suites as a demanding user meets them: every filter
is honoured or refused (never silently ignored), an environment is closed however its first
reset ends, help states defaults, and a suite that cannot measure anything is refused."""

import pytest

import agentgym
from agentgym.cli import build_parser, main
from agentgym.core import ConfigError, Feedback, LLMEnv


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ------------------------------------------------------------------------------------ list
def test_list_markdown_keeps_the_pattern_and_the_tag(capsys):
    code, out, _ = run_cli(capsys, "list", "--markdown", "games/T*")
    assert code == 0
    assert "`games/TicTacToe-v0`" in out and "`games/Taxi-v0`" in out and "Wordle" not in out
    code, out, _ = run_cli(capsys, "list", "--markdown", "--tag", "two-player")
    ids = [line.split("|")[1].strip() for line in out.splitlines()[2:]]
    assert code == 0 and ids == ["`games/ConnectFour-v0`", "`games/TicTacToe-v0`"]


def test_list_markdown_with_nothing_matching_is_an_error_as_the_table_is(capsys):
    code, out, err = run_cli(capsys, "list", "--markdown", "--family", "nope")
    assert code == 2 and out == "" and "no environments match" in err


def test_list_suites_takes_a_pattern_over_suite_names(capsys):
    code, out, _ = run_cli(capsys, "list", "--suites", "web-miniwob-*")
    assert code == 0 and "web-miniwob-easy-v0" in out and "web-miniwob-v0" in out
    assert "games-v0" not in out and "web-shop-v0" not in out
    code, _, err = run_cli(capsys, "list", "--suites", "nope-*")
    assert code == 2 and "no suites match 'nope-*'" in err


@pytest.mark.parametrize("option", [["--family", "games"], ["--tag", "hidden-answer"]])
def test_list_suites_refuses_the_environment_filters_rather_than_ignoring_them(capsys, option):
    code, out, err = run_cli(capsys, "list", "--suites", *option)
    assert code == 2 and out == ""
    assert err.startswith(f"agentgym list: error: {option[0]} filters environments") and err.count("\n") == 1


# ------------------------------------------------------------------------------ info, play
class _FailingReset(LLMEnv):
    """An environment whose first reset raises; it counts its closes."""

    instructions = "anything"
    closes = 0

    def new_episode(self, options):
        raise ValueError("the task file is empty")

    def play(self, action):
        return Feedback("ok", terminated=True)

    def close(self):
        type(self).closes += 1
        super().close()


@pytest.mark.parametrize("command", ["info", "play"])
def test_an_environment_whose_reset_fails_is_still_closed(capsys, monkeypatch, registered_for_the_test, command):
    registered_for_the_test("explore/FailingReset-v0", _FailingReset, max_turns=2)
    monkeypatch.setattr(_FailingReset, "closes", 0)
    monkeypatch.setattr("builtins.input", lambda prompt="": ":quit")
    code, _, err = run_cli(capsys, command, "explore/FailingReset-v0")
    assert code == 2 and "the task file is empty" in err  # a ValueError: the user's error, one line
    assert _FailingReset.closes == 1


@pytest.mark.parametrize("command", ["info", "play"])
def test_help_of_info_and_play_states_each_default(command):
    parser = build_parser()._subparsers._group_actions[0].choices[command]
    helps = {action.dest: action.help or "" for action in parser._actions}
    assert "default" in helps["seed"] and "default" in helps["difficulty"]
    assert "agentgym list" in helps["env_id"]


# ---------------------------------------------------------------------------------- suites
def test_a_suite_without_environments_is_refused():
    with pytest.raises(ConfigError, match="'empty-v0' has no environments"):
        agentgym.register_suite("empty-v0", [])
    with pytest.raises(ConfigError, match="entries must be a list"):
        agentgym.build_suite("none-v0", None)
    assert "empty-v0" not in {suite.name for suite in agentgym.list_suites()}


def test_a_suite_entrys_seeds_are_a_tuple_of_ints_however_given():
    numpy = pytest.importorskip("numpy")
    suite = agentgym.build_suite("s", [agentgym.SuiteEntry("games/Wordle-v0", [numpy.int64(3), 4])])
    assert suite.entries[0].seeds == (3, 4) and all(type(seed) is int for seed in suite.entries[0].seeds)
    assert suite == agentgym.build_suite("s", [("games/Wordle-v0", (3, 4))])  # the same suite


def test_play_commands_do_not_show_the_observation_again_nor_count_as_turns(capsys, monkeypatch, tmp_path):
    """``:hint`` and ``:state`` answer and prompt again: the unchanged observation is neither
    printed again nor written as another screenshot, so ``turn-NNN.png`` is the NNN-th turn."""
    moves = iter([":hint", ":state", ":hint", '{"action": "click", "x": 5, "y": 5}'])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(moves))
    code, out, _ = run_cli(capsys, "play", "gui/Grounding-v0", "--seed", "0", "--screenshots", str(tmp_path))
    assert code == 0 and out.count("hint: ") == 2 and "Game over." in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["turn-000.png", "turn-001.png"]

    moves = iter([":hint", ":state", ":quit"])
    code, out, _ = run_cli(capsys, "play", "games/GuessTheNumber-v0", "--seed", "3")
    env = agentgym.make("games/GuessTheNumber-v0")
    first, _ = env.reset(seed=3)
    assert code == 0 and out.count(first) == 1


def test_play_answers_an_unknown_command_instead_of_spending_a_turn_on_it(capsys, monkeypatch):
    moves = iter([":hnit", ":help", ":quit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(moves))
    code, out, _ = run_cli(capsys, "play", "games/Wordle-v0", "--seed", "1")
    assert code == 0 and "unknown command ':hnit'" in out and "invalid:" not in out
    assert out.count("Commands: :hint") == 2  # :help shows the commands again


def test_a_suites_misspelt_constructor_argument_fails_before_the_first_episode(capsys, tmp_path, monkeypatch):
    """Registering stays cheap (no environment module is imported), but asking for the suite by
    name checks its entries' arguments against the constructors: the evaluation does not start."""
    from agentgym import suites

    monkeypatch.setitem(suites._SUITES, "typo-v0", agentgym.build_suite(
        "typo-v0", [("games/Wordle-v0", [0, 1], {"dificulty": "hard"})]))
    with pytest.raises(ConfigError, match=r"suite 'typo-v0': games/Wordle-v0 has no constructor argument 'dificulty'"):
        agentgym.get_suite("typo-v0")
    code, out, err = run_cli(capsys, "eval", "--suite", "typo-v0", "--policy", "random", "--out", str(tmp_path / "run"))
    assert code == 2 and "did you mean difficulty" in err and not (tmp_path / "run").exists()


def test_an_unknown_suite_name_suggests_the_close_ones():
    with pytest.raises(KeyError, match=r"no suite named 'quick-v2'\. Did you mean quick-v1, quick-v0\?"):
        agentgym.get_suite("quick-v2")


def test_the_custom_env_example_checks_and_evaluates_its_environment_as_its_docstring_says(tmp_path):
    """examples/custom_env.py: "Register your own environment and evaluate an agent on it" (and
    README: "the full example" of check_llm_env)."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "examples" / "custom_env.py"
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "check_llm_env: passed" in out.stdout
    assert "  oracle: success 100% over 20 episodes, errors 0" in out.stdout
    assert "random:0: success " in out.stdout


def test_info_says_which_difficulty_its_example_is_at(capsys):
    code, out, _ = run_cli(capsys, "info", "games/Wordle-v0")
    assert code == 0 and "easy, medium, hard (the example: easy)" in out  # the default: the first
    code, out, _ = run_cli(capsys, "info", "games/Wordle-v0", "--difficulty", "hard", "--seed", "2")
    assert code == 0 and "easy, medium, hard (the example: hard)" in out


@pytest.mark.parametrize("argv, message", [
    (["--difficulty", ""], "unknown difficulty ''"),
    (["--difficulty", "easy", "-o", "difficulty=hard"], "--difficulty and -o difficulty=... both given"),
    (["-o", "dense_reward=true", "-o", "dense_reward=false"], "--option 'dense_reward' is given twice"),
])
def test_environment_options_are_never_silently_dropped(capsys, argv, message):
    code, out, err = run_cli(capsys, "info", "games/Wordle-v0", *argv)
    assert code == 2 and out == "" and message in err and err.count("\n") == 1


@pytest.mark.parametrize("option", ["render_mode=ansi", "episode_statistics=false"])
def test_play_refuses_the_make_arguments_it_sets_itself_in_one_line(capsys, monkeypatch, option):
    monkeypatch.setattr("builtins.input", lambda prompt="": ":quit")
    code, out, err = run_cli(capsys, "play", "games/Wordle-v0", "-o", option)
    name = option.split("=")[0]
    assert code == 2 and out == "" and err == f"agentgym play: error: -o {name}: agentgym play sets {name} itself\n"


class _ClosedPipe:
    """A stdout whose reader has gone (``agentgym info ... | head -1``): every write fails."""

    def __init__(self, fd):
        self.fd = fd

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        pass

    def fileno(self):
        return self.fd

    def isatty(self):
        return False


@pytest.mark.parametrize("argv", [["info", "games/Wordle-v0"], ["play", "games/Wordle-v0", "--seed", "1"],
                                  ["list"], ["list", "--suites"]])
def test_a_reader_that_goes_away_ends_every_command_with_0_as_documented(monkeypatch, tmp_path, argv):
    """`agentgym list | head` ends with 0 (agentgym.cli.main): so do info and play, whose rich
    consoles used to exit with 1 through rich's own broken-pipe handling."""
    import sys

    monkeypatch.setattr("builtins.input", lambda prompt="": ":quit")
    with open(tmp_path / "sink", "w") as sink:
        monkeypatch.setattr(sys, "stdout", _ClosedPipe(sink.fileno()))
        monkeypatch.setattr(sys, "stderr", open(tmp_path / "err", "w"))  # main closes it
        assert main(argv) == 0


@pytest.mark.parametrize("command", ["info", "play"])
def test_an_option_named_id_is_a_one_line_error_not_a_traceback(capsys, command):
    code, out, err = run_cli(capsys, command, "games/Wordle-v0", "-o", "id=games/Sudoku-v0")
    assert code == 2 and out == "" and "-o id" in err and err.count("\n") == 1


@pytest.mark.parametrize("argv, named", [
    (["GAMES/*"], "'GAMES/*'"),
    (["--family", "Games"], "--family Games"),
    (["--tag", "two-player", "--tag", "grid"], "--tag two-player --tag grid"),
])
def test_list_names_the_filters_that_matched_nothing(capsys, argv, named):
    code, _, err = run_cli(capsys, "list", *argv)
    assert code == 2 and f"no environments match {named}" in err
    families = err.split("(families: ")[1].split(")")[0].split(", ")  # other tests may register more
    assert {"dialogue", "games", "web"} <= set(families) and families == sorted(families)


def test_list_help_says_repeated_tags_must_all_be_there():
    parser = build_parser()._subparsers._group_actions[0].choices["list"]
    assert "every" in {action.dest: action.help for action in parser._actions}["tag"]


@pytest.mark.parametrize("env_ids, seeds, message", [
    ("games/Wordle-v0", [0], r"env_ids must be a list of ids, got the string 'games/Wordle-v0'"),
    (["games/Wordle-v0"], 5, r"seeds must be a list of integers, got 5"),
    (["games/Wordle-v0"], "012", r"seeds must be a list of integers, got '012'"),
])
def test_env_suite_names_the_argument_of_the_wrong_shape(env_ids, seeds, message):
    with pytest.raises(ConfigError, match=message):
        agentgym.env_suite(env_ids, seeds)


def test_an_unknown_option_after_a_command_points_to_that_commands_help(capsys):
    code, out, err = run_cli(capsys, "list", "--nope")
    assert code == 2 and err == "agentgym list: error: unrecognized arguments: --nope (see agentgym list --help)\n"
    code, out, err = run_cli(capsys, "info", "games/Wordle-v0", "extra", "--seed", "1")
    assert code == 2 and err.startswith("agentgym info: error: unrecognized arguments: extra")


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out == f"agentgym {agentgym.__version__}\n"


def test_list_markdown_keeps_one_row_per_environment_whatever_its_description(capsys, registered_for_the_test):
    registered_for_the_test("explore/Pipes-v0", _FailingReset, max_turns=2, tags=("a|b",),
                            description="Answer 'even' | 'odd'.\nOne line per environment.")
    code, out, _ = run_cli(capsys, "list", "--markdown", "explore/*")
    rows = out.strip().splitlines()
    assert code == 0 and len(rows) == 3
    cells = [cell.strip() for cell in rows[2].replace("\\|", "\0").split("|")[1:-1]]
    assert cells == ["`explore/Pipes-v0`", "explore", "2", "a\0b", "Answer 'even' \0 'odd'. One line per environment."]


def test_list_suites_markdown_is_a_markdown_table(capsys):
    code, out, _ = run_cli(capsys, "list", "--suites", "--markdown", "quick-*")
    header = ["| suite | environments | tasks | description |", "|---|---:|---:|---|"]
    assert code == 0 and out.splitlines()[:2] == header
    assert out.splitlines()[2].startswith("| `quick-v0` | 4 | 12 | Four easy games") and len(out.splitlines()) == 4


def test_play_refuses_a_screenshots_path_that_is_a_file_before_making_the_environment(capsys, tmp_path, monkeypatch):
    made = []
    monkeypatch.setattr(agentgym, "make", lambda *a, **k: made.append(a))
    (tmp_path / "afile").write_text("")
    code, out, err = run_cli(capsys, "play", "gui/Grounding-v0", "--screenshots", str(tmp_path / "afile"))
    assert code == 2 and made == []
    assert err == f"agentgym play: error: --screenshots {tmp_path / 'afile'}: not a folder\n"


def test_an_environment_server_that_cannot_be_reached_is_a_one_line_error(capsys):
    """``-o server=URL`` makes the environment on an environment server (agentgym.make's own
    argument); a URL nothing answers is the user's to fix, not a traceback."""
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, out, err = run_cli(capsys, "info", "games/Wordle-v0", "-o", f"server=http://127.0.0.1:{port}")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"agentgym info: error: cannot open a session of games/Wordle-v0 on http://127.0.0.1:{port}")


def test_list_never_echoes_a_control_character_of_its_filters(capsys):
    code, _, err = run_cli(capsys, "list", "--family", "games\x1b[31m", "--tag", "a\nb")
    assert code == 2 and "\x1b" not in err and err.count("\n") == 1
    assert "--family 'games\\x1b[31m' --tag 'a\\nb'" in err
