"""Bad input through the public API and the command line: clear errors, never tracebacks.

A table of what first-time users and a probe actually typed. Every command-line case runs
``agentgym.cli.main([...])`` in-process and must return exit code 2 and print exactly one line,
``agentgym COMMAND: error: ...``, that names the option or argument the user wrote; every API
case must raise a ``ValueError``/``TypeError``/``KeyError`` whose message names the argument.
Finally every registered environment must still pass ``agentgym.testing.check_llm_env``.
"""

from __future__ import annotations

import pytest

import agentgym
from agentgym.cli import main
from agentgym.core import ConfigError
from agentgym.policies.base import Request, SamplingParams
from agentgym.testing import check_llm_env
from tests.reliability.conftest import probe_budget, shipped_env_ids

EVAL = ["eval", "--policy", "oracle", "--tasks", "1", "--no-progress"]

# argv, text the one error line must contain (the option or argument as the user typed it)
CLI_CASES = [
    (["info", "games/Wordle-v0", "--seed", "-1"], "argument --seed: must be a non-negative integer, got '-1'"),
    (["info", "games/Wordle-v0", "--seed", "abc"], "argument --seed"),
    (["play", "games/Wordle-v0", "--seed", "-3"], "argument --seed"),
    (["info", "games/Wordle-v0", "-o", "foo=1"],
     "games/Wordle-v0 has no constructor argument 'foo'; it takes: difficulty, dense_reward, invalid_penalty"),
    (["info", "games/Wordle-v0", "-o", "invalid_penalty=abc"], "invalid_penalty must be a finite number, got 'abc'"),
    (["info", "games/Wordle-v0", "-o", "dense_reward=yes"], "dense_reward must be true or false, got 'yes'"),
    (["info", "games/Wordle-v0", "-o", "dense_reward=1"], "dense_reward must be true or false, got 1"),
    (["info", "games/Wordle-v0", "-o", "max_action_chars=0"], "max_action_chars must be at least 1"),
    (["info", "games/Wordle-v0", "--difficulty", "extreme"], "unknown difficulty 'extreme'; choose one of easy"),
    (["info", "games/TicTacToe-v0", "-o", "opponent_strength=2"], "opponent_strength must be in [0, 1]"),
    (["info", "games/TicTacToe-v0", "-o", "agent_first=maybe"], "agent_first must be true or false"),
    (["info", "games/Wordle-v0", "-o", "oops"], "--option expects KEY=VALUE, got 'oops'"),
    (["info", "games/Wordle-v0", "-o", "two words=1"], "'two words' is not an argument name"),
    (["info", "games/Wordl-v0"], "Did you mean games/Wordle-v0"),
    (["play", "nope/Nothing-v0"], "no environment registered as 'nope/Nothing-v0'"),
    # A namespace nothing is registered under: most often one's own environments, not imported
    # (one no test registers: tests/test_examples.py imports the quickstart's in its process).
    (["info", "myenvs/Addition-v0"], "Nothing is registered under 'myenvs/': if these are your own "
                                     "environments, import the module that registers them first"),
    (["info", "game/Wordle-v0"], "Did you mean games/Wordle-v0? Nothing is registered under 'game/'"),
    ([*EVAL, "--max-turns", "0"], "argument --max-turns: must be a positive integer, got '0'"),
    ([*EVAL, "--concurrency", "0"], "argument --concurrency: must be a positive integer, got '0'"),
    ([*EVAL, "--max-tokens", "-5"], "argument --max-tokens"),
    ([*EVAL, "--temperature", "-1"], "argument --temperature"),
    ([*EVAL, "--top-p", "1.5"], "argument --top-p"),
    ([*EVAL, "-n", "0"], "argument -n/--rollouts"),
    (["eval", "--tasks", "0", "--policy", "oracle"], "argument --tasks"),
    (["eval", "--policy", "hf:/nonexistent/model", "--tasks", "1"],
     "policy 'hf:/nonexistent/model': no such folder '/nonexistent/model'"),
    (["eval", "--policy", "hf:./no/such/checkpoint", "--tasks", "1"], "no such folder './no/such/checkpoint'"),
    (["eval", "--policy", "random:abc", "--tasks", "1"], "policy 'random:abc': the random policy's seed"),
    (["eval", "--policy", "gpt-9", "--tasks", "1"], "unknown policy 'gpt-9'"),
    (["eval", "--suite", "nope-v0", "--policy", "oracle"], "no suite named 'nope-v0'"),
    (["--import", "no_such_module_for_agentgym", "list"], "--import no_such_module_for_agentgym: no module named"),
    (["list", "--import", "/nonexistent/my_envs.py"], "--import /nonexistent/my_envs.py: no such file"),
    (["list", "--family", "nope"], "no environments match"),
    (["compare", "/nonexistent/run"], "/nonexistent/run"),
    (["train", "--config", "/nonexistent/config.toml"], "/nonexistent/config.toml"),
    (["train", "/nonexistent/config.toml"], "/nonexistent/config.toml"),
    (["train", "a.toml", "--config", "b.toml"], "two configurations given: a.toml and --config b.toml"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["sft", "--env", "games/Wordle-v0", "-o", "colour=red", "--out", "sft"], "has no constructor argument 'colour'"),
    (["sft", "--env", "games/Wordle-v0", "--kwargs", "[1]", "--out", "sft"], "--kwargs must be a JSON object"),
    (["sft", "--trajectories", "t.jsonl", "--difficulty", "hard", "--out", "sft"], "need --env"),
    (["sft", "--env", "games/Wordle-v0", "--episodes", "0", "--out", "sft"], "must be a positive integer"),
    # A place one may not write (sysfs refuses even root): the file system's word, not a traceback.
    (["eval", "--env", "games/Wordle-v0", "--policy", "oracle", "--tasks", "1", "--out", "/sys/agentgym-run"],
     "/sys/agentgym-run"),
    (["eval", "--env", "games/Nope*", "--policy", "oracle"], "no registered environment matches 'games/Nope*'"),
    (["eval", "--env", "games/Wordle-v0", "-o", "colour=red"], "has no constructor argument 'colour'"),
    # A constructor argument without a default that nobody gave: refused before any episode.
    (["info", "synthetic/Experience-v0"],
     "synthetic/Experience-v0 cannot be made without the constructor arguments 'env_id', 'experience_model'"),
    (["eval", "--env", "synthetic/Experience-v0", "--policy", "random", "-o", "env_id=games/Wordle-v0"],
     "synthetic/Experience-v0 cannot be made without the constructor argument 'experience_model'"),
    # A value the constructor refuses: refused before the run, not in every episode.
    (["eval", "--env", "games/Wordle-v0", "--difficulty", "impossible", "--policy", "oracle"],
     "games/Wordle-v0: Wordle: unknown difficulty 'impossible'"),
]


@pytest.mark.parametrize("argv, expected", CLI_CASES, ids=[" ".join(argv) for argv, _ in CLI_CASES])
def test_the_cli_answers_bad_input_with_one_line_and_exit_code_2(capsys, tmp_path, monkeypatch, argv, expected):
    monkeypatch.chdir(tmp_path)  # nothing (run directories) lands in the repository
    code = main(list(argv))
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, (code, captured.err)
    assert len(lines) == 1, f"one line expected, got:\n{captured.err}"
    assert "Traceback" not in captured.err and "Traceback" not in captured.out
    command = next((a for a in argv if not a.startswith("-") and a in ("info", "play", "eval", "list", "compare",
                                                                        "train", "sft")), None)
    assert lines[0].startswith(f"agentgym {command}: error: " if command else "agentgym: error: "), lines[0]
    assert expected in lines[0], lines[0]
    assert not list(tmp_path.iterdir()), "a refused command leaves nothing behind"


def _not_a_bug(call):
    """Run ``call``; return the exception, which must be one a user can act on."""
    with pytest.raises((ValueError, TypeError, KeyError)) as caught:
        call()
    return caught.value


# call, text the message must contain
API_CASES = [
    (lambda: agentgym.make(None), "environment id must be a string"),
    (lambda: agentgym.make(42), "environment id must be a string"),
    (lambda: agentgym.make("games/Wordle-v0", foo=1), "no constructor argument 'foo'"),
    (lambda: agentgym.make("synthetic/Experience-v0", env_id="games/Wordle-v0"),
     "cannot be made without the constructor argument 'experience_model'"),
    (lambda: agentgym.make("games/Wordle-v0", dense_reward="yes"), "dense_reward must be true or false"),
    (lambda: agentgym.make("games/Hangman-v0", invalid_penalty="abc"), "invalid_penalty must be a finite number"),
    (lambda: agentgym.make("games/Sudoku-v0", difficulty=["easy"]), "difficulty must be one of easy, medium, hard"),
    (lambda: agentgym.make("games/Wordle-v0", max_turns=0), "max_turns must be a positive integer"),
    (lambda: agentgym.make("games/Wordle-v0").reset(options="x"), "options must be a dict or None"),
    (lambda: agentgym.make("games/Wordle-v0").reset(seed=-1), "seed must be at least 0"),
    (lambda: agentgym.register("probe/Bad-v0", "x:y", max_turns="3"), "max_turns must be a positive integer"),
    (lambda: agentgym.register("games/Wordle-v0", "x:y"), "'games/Wordle-v0' is already registered"),
    (lambda: agentgym.register("probe/NoVersion", "x:y"), "needs a version suffix"),
    (lambda: agentgym.register_suite("quick-v0", [("games/Wordle-v0", [0])]), "already registered"),
    (lambda: agentgym.register_suite("probe-v0", [("games/Wordle-v0", [-1])]), "non-negative integers"),
    (lambda: agentgym.env_info("games/Wordl-v0"), "Did you mean games/Wordle-v0"),
    (lambda: SamplingParams(max_tokens=True), "max_tokens must be a positive integer, got True"),
    (lambda: SamplingParams(max_tokens=2.5), "max_tokens"),
    (lambda: SamplingParams(temperature="hot"), "temperature must be a finite number"),
    (lambda: SamplingParams(top_p=None), "top_p must be a number"),
    (lambda: SamplingParams(seed=1.5), "seed must be an integer"),
    (lambda: SamplingParams(logprobs="yes"), "logprobs must be True or False"),
    (lambda: SamplingParams(stop=[""]), "stop strings must be non-empty"),
    (lambda: Request("hello"), "Request.messages must be a list of chat-message dicts"),
    (lambda: Request([{"role": "user", "content": "x"}], tools="search"), "Request.tools"),
    (lambda: Request([], seed="7"), "Request.seed must be an integer"),
]


@pytest.mark.parametrize("call, expected", API_CASES, ids=[e for _, e in API_CASES])
def test_the_api_refuses_bad_input_naming_the_argument(call, expected):
    error = _not_a_bug(call)
    message = error.args[0] if isinstance(error, KeyError) else str(error)
    assert expected in message, message
    assert "\n" not in message


def test_config_errors_are_both_value_and_type_errors():
    assert issubclass(ConfigError, ValueError) and issubclass(ConfigError, TypeError)


def test_a_genuine_bug_still_shows_its_traceback(monkeypatch):
    """Only user errors become one line: an unexpected exception inside a command propagates."""
    from agentgym.cli import list_cmd

    def broken(args):
        raise ZeroDivisionError("a bug, not a user error")

    monkeypatch.setattr(list_cmd, "run", broken)
    with pytest.raises(ZeroDivisionError):
        main(["list"])


# Every environment agentgym registers (test modules register deliberately broken ones, such as
# an environment that hangs, which a whole-suite run may have collected before this module).
SHIPPED = shipped_env_ids()


def test_the_shipped_environments_are_all_probed():
    from agentgym.envs.games import GAME_IDS

    assert set(GAME_IDS) <= set(SHIPPED)


@pytest.mark.parametrize("env_id", SHIPPED)
def test_every_registered_environment_still_keeps_the_contract(env_id):
    env = agentgym.make(env_id)
    try:
        check_llm_env(env, **probe_budget(env_id, 40))
    finally:
        env.close()
