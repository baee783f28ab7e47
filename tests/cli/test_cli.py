import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import agentgym
from agentgym.cli import main
from agentgym.trajectory import read_trajectories


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_shows_every_game(capsys):
    code, out, _ = run_cli(capsys, "list", "--family", "games")
    assert code == 0
    for name in ("games/GuessTheNumber-v0", "games/Sokoban-v0", "games/ConnectFour-v0"):
        assert name in out


def test_list_takes_the_patterns_eval_takes(capsys):
    code, out, _ = run_cli(capsys, "list", "web/miniwob.click-b*")
    assert code == 0 and "agentgym environments (2)" in out
    assert "web/miniwob.click-button-v0" in out and "web/miniwob.click-button-sequence-v0" in out
    assert "click-link" not in out
    code, _, err = run_cli(capsys, "list", "games/Nope*")
    assert code == 2 and "no environments match" in err


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
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  options "))
    wrapped = list(itertools.takewhile(lambda line: line.startswith(" " * 21), lines[start + 1:]))
    assert wrapped and all(line[21] != " " and line == line.rstrip() for line in wrapped)  # under the value
    assert lines[start + 1 + len(wrapped)].startswith("  tools ")


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


def test_play_prints_what_environments_say_as_plain_text_never_as_markup(capsys, monkeypatch, registered_for_the_test):
    from agentgym import Feedback, InvalidAction, LLMEnv

    class Brackets(LLMEnv):
        instructions = "Rules with [bold]brackets[/bold] and a stray [/b]."

        def new_episode(self, options):
            return 'A page: [3] StaticText "a [/b] c" [red]'

        def play(self, action):
            if action != "ok":
                raise InvalidAction(f"{action!r} is not [/ok]")
            return Feedback("done [/x]", {"outcome": 1.0}, terminated=True, success=True)

    registered_for_the_test("test/Brackets-v0", Brackets, max_turns=3)
    moves = iter(["[/oops]", "ok"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(moves))
    code, out, _ = run_cli(capsys, "play", "test/Brackets-v0", "--seed", "0")
    assert code == 0 and "You won!" in out
    for literal in ("[bold]brackets[/bold] and a stray [/b]", 'StaticText "a [/b] c" [red]',
                    "'[/oops]' is not [/ok]", "done [/x]"):
        assert literal in out, literal


def test_info_prints_descriptions_docs_and_observations_as_written(capsys, registered_for_the_test):
    from agentgym import LLMEnv

    class Tagged(LLMEnv):
        """Docs that quote a page: [3] button "Ok [/b]"."""

        instructions = "Press [/ok]."

        def new_episode(self, options):
            return "[bold]not bold[/bold] and a stray [/x]"

        def play(self, action):
            raise NotImplementedError

    registered_for_the_test("test/Tagged-v0", Tagged, max_turns=2, description="Brackets [/i] in the description")
    code, out, _ = run_cli(capsys, "info", "test/Tagged-v0")
    assert code == 0
    for literal in ("Brackets [/i] in the description", '[3] button "Ok [/b]"', "Press [/ok].",
                    "[bold]not bold[/bold] and a stray [/x]"):
        assert literal in out, literal
    code, out, _ = run_cli(capsys, "list", "--family", "test")
    assert code == 0 and "Brackets [/i] in the description" in out


def test_play_writes_each_screenshot_of_a_gui_environment(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr("builtins.input", lambda prompt="": '{"action": "click", "x": 5, "y": 5}')
    code, out, _ = run_cli(capsys, "play", "gui/Grounding-v0", "--seed", "0", "--screenshots", str(tmp_path))
    assert code == 0 and "Game over." in out
    shots = sorted(p.name for p in tmp_path.iterdir())
    assert shots == ["turn-000.png", "turn-001.png"] and f"screenshot: {tmp_path / 'turn-001.png'}" in out
    from PIL import Image

    with Image.open(tmp_path / "turn-000.png") as image:
        assert image.size == (1280, 800)  # the desktop screen the agent saw


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
    # No tokenizer, no token count: the summary line does not claim "0 tokens generated".
    assert re.search(r"^4 episodes in [\d.]+ s, 0 errors$", out, re.MULTILINE) and "tokens generated" not in out


def test_eval_of_environments_without_a_suite(capsys, tmp_path, monkeypatch):
    code, out, _ = run_cli(capsys, "eval", "--env", "games/Wordle-v0", "--env", "games/TicTacToe-v0",
                           "--difficulty", "easy", "--policy", "oracle", "--tasks", "3",
                           "--out", str(tmp_path / "two"), "--no-progress")
    assert code == 0 and "oracle on games/Wordle-v0[easy]+games/TicTacToe-v0[easy]" in out
    results = json.loads((tmp_path / "two" / "results.json").read_text())
    assert [(r["label"], r["episodes"], r["success_rate"]) for r in results["environments"]] == [
        ("games/Wordle-v0[easy]", 3, 1.0), ("games/TicTacToe-v0[easy]", 3, 1.0)]
    trajectories = read_trajectories(tmp_path / "two" / "trajectories.jsonl")
    assert sorted((t.env_id, t.seed) for t in trajectories) == sorted(
        (env_id, seed) for env_id in ("games/Wordle-v0", "games/TicTacToe-v0") for seed in range(3))
    # Held-out seeds, one -o argument, and the default run directory named after the environment.
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, "eval", "--env", "games/GuessTheNumber-v0", "-o", "dense_reward=true",
                           "--first-seed", "1000", "--tasks", "2", "--policy", "random:0", "--no-progress")
    assert code == 0 and "random:0 on games/GuessTheNumber-v0[True]@1000" in out
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert run_dir.name.startswith("games_GuessTheNumber-v0_True_1000-random_0-")
    assert sorted(t.seed for t in read_trajectories(run_dir / "trajectories.jsonl")) == [1000, 1001]


def test_env_suite_names_its_entries_and_checks_them():
    suite = agentgym.env_suite(["games/Wordle-v0", "games/Wordle-v0"], range(5, 7), {"difficulty": "hard"})
    assert suite.name == "games/Wordle-v0[hard]@5" and suite.num_tasks == 2  # a repeated id counts once
    assert suite.entries == (agentgym.SuiteEntry("games/Wordle-v0", (5, 6), {"difficulty": "hard"}),)
    assert agentgym.get_suite("quick-v0") is not suite and "games/Wordle-v0[hard]@5" not in {
        s.name for s in agentgym.list_suites()}  # built, not registered
    with pytest.raises(agentgym.ConfigError, match="no environment ids"):
        agentgym.env_suite([], range(3))
    with pytest.raises(agentgym.ConfigError, match="has no seeds"):
        agentgym.env_suite(["games/Wordle-v0"], [])
    with pytest.raises(KeyError, match="Did you mean games/Wordle-v0"):
        agentgym.env_suite(["games/Wordl-v0"], range(3))


def test_env_suite_expands_wildcards_over_registered_ids():
    suite = agentgym.env_suite(["games/T*-v0", "games/TicTacToe-v0", "games/Wordle-v?"], [0])
    expected = sorted(info.id for info in agentgym.list_envs() if info.id.startswith("games/T"))
    assert len(expected) >= 3  # Taxi, TicTacToe, TowerOfHanoi...
    assert [entry.env_id for entry in suite.entries] == expected + ["games/Wordle-v0"]  # each id once
    assert suite.name == "games/T*-v0+games/TicTacToe-v0+games/Wordle-v?"  # as the user wrote them
    with pytest.raises(agentgym.ConfigError, match="no registered environment matches 'games/Nope\\*'"):
        agentgym.env_suite(["games/Nope*"], [0])
    with pytest.raises(agentgym.ConfigError, match="has no constructor argument 'colour'"):
        agentgym.env_suite(["games/T*-v0"], [0], {"colour": "red"})  # checked on every match


@pytest.mark.parametrize("argv, message", [
    (["eval", "--env", "games/Wordle-v0", "--suite", "quick-v0"], "give --suite or --env, not both"),
    (["eval", "--suite", "quick-v0", "--difficulty", "hard"], "apply to --env environments"),
    (["eval", "--first-seed", "5"], "apply to --env environments"),
    (["eval", "--env", "games/Wordl-v0", "--policy", "oracle"], "Did you mean games/Wordle-v0"),
    (["eval", "--env", "games/Wordle-v0", "-o", "colour=red", "--policy", "oracle", "--no-progress"], "colour"),
    (["eval", "--policy", "gpt-9"], "unknown policy"),
    (["eval", "--suite", "nope-v0"], "no suite named"),
    (["eval", "--tasks", "0", "--policy", "oracle"], "positive"),
    (["info", "games/Wordle-v0", "-o", "oops"], "KEY=VALUE"),
])
def test_bad_arguments_are_clear_errors(capsys, argv, message):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and message in err


def test_eval_checks_argument_values_in_one_line_whatever_the_constructor_raises(registered_for_the_test):
    from agentgym.cli.eval_cmd import check_env_values

    class Fussy(agentgym.LLMEnv):
        instructions = "Say anything."

        def __init__(self, level: int = 1, **kwargs):
            if level == 2:
                raise ValueError("Fussy: level 2 is not ready")
            if level == 3:
                raise ValueError("test/Fussy-v0 refuses level 3")  # names the id already
            if level == 4:
                raise RuntimeError("the level table is missing")
            super().__init__(**kwargs)
            self.level = level

        def new_episode(self, options):
            return "Go."

        def play(self, action):
            return agentgym.Feedback("ok", rewards={"outcome": 1.0}, terminated=True, success=True)

    registered_for_the_test("test/Fussy-v0", Fussy, max_turns=2)
    check_env_values(agentgym.env_suite(["test/Fussy-v0"], [0], {"level": 1}))  # accepted: no error
    for level, message in ((2, "test/Fussy-v0: Fussy: level 2 is not ready"),
                           (3, "test/Fussy-v0 refuses level 3"),
                           (4, "test/Fussy-v0: RuntimeError: the level table is missing")):
        with pytest.raises(agentgym.ConfigError) as caught:
            check_env_values(agentgym.env_suite(["test/Fussy-v0"], [0], {"level": level}))
        assert str(caught.value) == message and caught.value.__cause__ is None


@pytest.mark.parametrize("command", [[str(Path(sys.executable).with_name("agentgym"))],
                                     [sys.executable, "-m", "agentgym"]], ids=["script", "module"])
def test_console_entry_points(command):
    out = subprocess.run([*command, "list", "--markdown"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "| `games/Wordle-v0` |" in out.stdout


# ------------------------------------------------------------------ --import, widths, names
MY_ENV = """
import agentgym
from agentgym import Feedback, InvalidAction, LLMEnv


class Coin(LLMEnv):
    instructions = "Say heads or tails."
    example_actions = ("heads", "tails")

    def new_episode(self, options):
        self.side = self.rng.choice(["heads", "tails"])
        return "Heads or tails?"

    def play(self, action):
        if action.strip() not in ("heads", "tails"):
            raise InvalidAction("say heads or tails.")
        won = action.strip() == self.side
        return Feedback("yes" if won else "no", {"outcome": float(won)}, terminated=True, success=won)

    def oracle_action(self):
        return self.side


agentgym.register("mine/Coin-v0", Coin, max_turns=2, description="a coin flip")
agentgym.register_suite("coin-v0", [("mine/Coin-v0", range(4))], "my own suite")
"""


def test_import_reaches_a_users_environment_and_suite(capsys, tmp_path, monkeypatch):
    (tmp_path / "my_coin_envs.py").write_text(MY_ENV)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "--import", "my_coin_envs", "list", "--family", "mine")
    assert code == 0 and "mine/Coin-v0" in out, err
    code, out, err = run_cli(capsys, "list", "--suites", "--import", "my_coin_envs")  # after the command too
    assert code == 0 and "coin-v0" in out, err
    code, out, err = run_cli(capsys, "--import", "my_coin_envs", "eval", "--suite", "coin-v0", "--policy", "random:0",
                             "--out", str(tmp_path / "run"), "--no-progress")
    assert code == 0, err
    rows = json.loads((tmp_path / "run" / "results.json").read_text())["environments"]
    assert rows[0]["episodes"] == 4 and rows[0]["errors"] == 0, "the random policy played example_actions"


def test_import_of_a_py_file_and_a_missing_module(capsys, tmp_path):
    path = tmp_path / "coin_file.py"
    path.write_text(MY_ENV.replace("mine/Coin-v0", "mine/CoinFile-v0").replace("coin-v0", "coinfile-v0"))
    code, out, err = run_cli(capsys, "info", "mine/CoinFile-v0", "--import", str(path))
    assert code == 0 and "a coin flip" in out, err
    code, _, err = run_cli(capsys, "--import", "no_such_module_here", "list")
    assert code == 2 and err.strip() == (
        "agentgym list: error: --import no_such_module_here: no module named 'no_such_module_here' "
        "(run from the folder that holds it, or add that folder to PYTHONPATH)")


def test_list_keeps_its_natural_width_when_piped(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    wordle = next(line for line in out.splitlines() if "games/Wordle-v0" in line)
    assert "letter-by-letter feedback (6 guesses, 8 on easy)." in wordle, "one row is one line"
    assert max(len(line) for line in out.splitlines()) > 80


def test_the_embedded_model_has_one_canonical_spec_and_aliases():
    from agentgym.policies.specs import DEFAULT_POLICY, EMBEDDED_SPEC, POLICY_SPECS, canonical_spec

    assert DEFAULT_POLICY == EMBEDDED_SPEC == "smollm2-135m" and EMBEDDED_SPEC in POLICY_SPECS
    assert canonical_spec("smollm2") == canonical_spec("embedded") == canonical_spec(None) == "smollm2-135m"
    assert canonical_spec("oracle") == "oracle"
    embedded = pytest.importorskip("agentgym.policies.embedded", reason="the embedded back-end needs torch")
    assert embedded.EMBEDDED_MODEL_NAME == EMBEDDED_SPEC, "results record the name users type"


def test_help_still_exits_and_bad_options_return_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["list", "--help"])
    assert exit_info.value.code == 0 and "--import MODULE" in capsys.readouterr().out
    assert main(["eval", "--max-turns", "0"]) == 2
    err = capsys.readouterr().err
    assert err == "agentgym eval: error: argument --max-turns: must be a positive integer, got '0' " \
                  "(see agentgym eval --help)\n"


def test_a_configuration_with_several_problems_lists_one_per_line(tmp_path, capsys):
    from agentgym.cli import main

    config = tmp_path / "bad.toml"
    config.write_text('[rollout]\nmax_turns = inf\nsystem_prompt = 5\n')
    assert main(["train", "--config", str(config)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"agentgym train: error: {config}:",
        "  - rollout.max_turns must be an integer or omitted, got inf",
        "  - rollout.system_prompt must be a string or omitted, got 5",
    ]


def test_the_librarys_warnings_print_as_one_line_and_others_keep_pythons_form(capsys, monkeypatch):
    import warnings

    import agentgym.cli as cli
    import agentgym.train.trainer as trainer_module

    def run(args):  # a command during which the library and some other code each warn once
        warnings.warn_explicit("step 2: no rows to train on;\n  the update is skipped", UserWarning,
                               filename=trainer_module.__file__, lineno=416)
        warnings.warn_explicit("a third-party notice", UserWarning, filename="/elsewhere/lib.py", lineno=7)
        return 0

    monkeypatch.setattr(cli.COMMANDS["list"], "run", run)
    with warnings.catch_warnings(record=True) as handed_on:  # what Python's own printer gets
        warnings.simplefilter("always")
        before = warnings.showwarning
        code, out, err = run_cli(capsys, "list")
        assert warnings.showwarning is before  # the command's printer is gone again
    assert code == 0 and out == ""
    assert err == "agentgym list: warning: step 2: no rows to train on; the update is skipped\n"
    assert [(str(w.message), w.filename, w.lineno) for w in handed_on] == [
        ("a third-party notice", "/elsewhere/lib.py", 7)]
