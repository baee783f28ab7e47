"""Malformed training configurations through the real entry point (``agentgym train``): each
one ends in exit code 2 and one line that names the key at fault (and the file, or ``--set``),
before anything is loaded or written; never a traceback, never a run.

Each case edits one line of a configuration that would otherwise train (one step of a tiny saved
model), so a case the checks let through would show as a run, not as a pass.
"""

from __future__ import annotations

import pytest

from agentgym.cli import main
from tests.rewards.tiny_lm import tiny_llama, tiny_tokenizer

PREFIX = "agentgym train: error: "


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-model")
    tokenizer = tiny_tokenizer()
    tiny_llama(len(tokenizer), layers=1).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _base(model_dir, out_dir) -> dict[str, dict[str, str]]:
    """Section -> key -> TOML value text, of a configuration that trains."""
    return {
        "run": {"steps": "1", "out_dir": f'"{out_dir.as_posix()}"'},
        "model": {"path": f'"{model_dir.as_posix()}"'},
        "env": {"id": '"games/GuessTheNumber-v0"', "tasks_per_step": "2"},
        "rollout": {"group_size": "2", "max_turns": "1", "max_tokens": "2"},
        "checkpoint": {"every": "0", "save_final": "false"},
        "logging": {"console": "false", "plot": "false"},
    }


def _render(sections: dict[str, dict[str, str]]) -> str:
    return "".join(f"[{name}]\n" + "".join(f"{key} = {value}\n" for key, value in keys.items())
                   for name, keys in sections.items())


# (dotted key, TOML value text, the message's core). Wrong types in every section, optional
# options (``int | None``), numbers that are not finite, negative counts, unknown keys.
EDITS = [
    ("run.steps", '"ten"', 'run.steps must be an integer, got "ten"'),
    ("run.seed", "-1", "run.seed must not be negative, got -1"),
    ("run.precision", '"fp16"', 'run.precision must be one of "auto", "fp32", "bf16", got "fp16"'),
    ("run.device", '"tpu"', 'run.device must be "auto", "cpu", "cuda" or "cuda:N", got "tpu"'),
    ("model.path", "5", "model.path must be a string, got 5"),
    ("model.path", '"/nonexistent/model"', 'model.path "/nonexistent/model" does not exist: expected a local'),
    ("model.revision", "1", "model.revision must be a string or omitted, got 1"),
    ("model.lora.r", '"8"', 'model.lora.r must be an integer, got "8"'),
    ("env.tasks_per_step", "true", "env.tasks_per_step must be an integer, got true"),
    ("env.tasks_per_step", "-2", "env.tasks_per_step must be a positive integer, got -2"),
    ("env.kwargs", '"easy"', 'env.kwargs must be a table, got "easy"'),
    ("env.train_seeds", '[0, "x"]', 'env.train_seeds must be a list of integers, got [0, "x"]'),
    ("rollout.max_turns", '"five"', 'rollout.max_turns must be an integer or omitted, got "five"'),
    ("rollout.max_turns", "inf", "rollout.max_turns must be an integer or omitted, got inf"),
    ("rollout.max_turns", "0", "rollout.max_turns must be a positive integer, got 0"),
    ("rollout.system_prompt", "5", "rollout.system_prompt must be a string or omitted, got 5"),
    ("rollout.group_size", "-4", "rollout.group_size must be a positive integer, got -4"),
    ("rollout.temperature", "nan", "rollout.temperature must be a finite number, got nan"),
    ("algorithm.gamma", '"0.9"', 'algorithm.gamma must be a finite number or omitted, got "0.9"'),
    ("algorithm.name", '"ppo2"', "algorithm.name: unknown algorithm 'ppo2' (did you mean 'ppo'?): one of grpo"),
    ("algorithm.value_head", '"yes"', 'algorithm.value_head must be true or false or omitted, got "yes"'),
    ("filters.top_fraction", "nan", "filters.top_fraction must be a finite number, got nan"),
    ("loss.dual_clip", "[1]", "loss.dual_clip must be a finite number or omitted, got [1]"),
    ("loss.entropy_band.width", '"wide"', 'loss.entropy_band.width must be a finite number, got "wide"'),
    ("optimizer.lr", "inf", "optimizer.lr must be a finite number, got inf"),
    ("optimizer.betas", "0.9", "optimizer.betas must be a list of finite numbers, got 0.9"),
    ("optimizer.warmup_steps", "-1", "optimizer.warmup_steps must not be negative, got -1"),
    ("batching.epochs", "1.0", "batching.epochs must be an integer, got 1.0"),
    ("batching.mini_batches", "0", "batching.mini_batches must be a positive integer, got 0"),
    ("checkpoint.keep_last", "-1", "checkpoint.keep_last must be at least 1, got -1"),
    ("checkpoint.every", "-5", "checkpoint.every must not be negative, got -5"),
    ("logging.console", '"yes"', 'logging.console must be true or false, got "yes"'),
    ("eval.every", '"sometimes"', 'eval.every must be an integer, got "sometimes"'),
    ("loss.eps_hi", "0.3", "unknown key 'eps_hi' in [loss]; did you mean 'eps_high'?"),
    ("rollout.lr", "0.1", "unknown key 'lr' in [rollout]; did you mean optimizer.lr?"),
    ("optim.lr", "0.1", "unknown section 'optim' in the top level; did you mean 'optimizer'?"),
]


def _run(args, capsys) -> str:
    """Exit code 2 and one line on standard error, returned without its prefix."""
    code = main(["train", *args])
    captured = capsys.readouterr()
    assert code == 2, captured
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(PREFIX), captured.err
    return lines[0][len(PREFIX):]


@pytest.mark.parametrize(("key", "value", "message"), EDITS, ids=[f"{k}={v}" for k, v, _ in EDITS])
def test_a_malformed_option_is_one_line_naming_file_and_key(key, value, message, model_dir, tmp_path, capsys):
    sections = _base(model_dir, tmp_path / "run")
    section, name = key.rsplit(".", 1)
    sections.setdefault(section, {})[name] = value
    config = tmp_path / "run.toml"
    config.write_text(_render(sections))
    assert _run(["--config", str(config)], capsys).startswith(f"{config}: {message}")
    assert not (tmp_path / "run").exists()  # refused before anything was written


@pytest.mark.parametrize(("text", "message"), [
    ("", "sets no option"),
    ("# only a comment\n", "sets no option"),
    ("[run\nsteps = 3\n", "is not valid TOML: "),
    ("steps: 3\n", "is not valid TOML: "),
    ("steps = 3\n", "unknown section 'steps' in the top level; did you mean run.steps?"),  # no [run] header
    ('model = "/models/mine"\n', '[model] must be a table, got "/models/mine"'),  # a section as a value
], ids=["empty", "comments only", "unclosed header", "yaml", "missing header", "section as value"])
def test_a_malformed_file_is_one_line(text, message, tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text(text)
    assert message in _run(["--config", str(config)], capsys)


def test_an_unreadable_file_is_one_line(tmp_path, capsys):
    assert _run(["--config", str(tmp_path / "missing.toml")], capsys) == \
        f"no configuration file at {tmp_path / 'missing.toml'}"
    binary = tmp_path / "model.bin"
    binary.write_bytes(bytes(range(256)))
    assert _run(["--config", str(binary)], capsys) == f"{binary} is not valid TOML: it is not UTF-8 text"
    assert _run(["--config", str(tmp_path)], capsys).startswith(f"cannot read the configuration {tmp_path}")


@pytest.mark.parametrize(("args", "message"), [
    (["--set", "rollout.group_size"], '--set: expected KEY=VALUE (e.g. rollout.group_size=4), got "rollout.group_size"'),
    (["--set", "=4"], '--set: expected KEY=VALUE (e.g. rollout.group_size=4), got "=4"'),
    (["--set", "optim.lr=1e-5"], "--set: unknown option 'optim.lr'; did you mean optimizer.lr?"),
    (["--set", "group_sise=4"], "--set: unknown option 'group_sise'; did you mean rollout.group_size?"),
    (["--set", "rollout.max_turns=five"], '--set: rollout.max_turns must be an integer or omitted, got "five"'),
    (["--set", "loss.eps_low=nan"], "--set: loss.eps_low must be a finite number, got nan"),
    (["--set", "run.steps=2", "--steps", "3"], "--steps and --set run.steps both given; give one"),
], ids=["no equals", "no key", "unknown section", "misspelt", "wrong type", "nan", "twice"])
def test_a_malformed_set_is_one_line(args, message, model_dir, tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text(_render(_base(model_dir, tmp_path / "run")))
    assert _run(["--config", str(config), *args], capsys) == message


def test_a_set_value_out_of_range_is_checked_with_the_file(model_dir, tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text(_render(_base(model_dir, tmp_path / "run")))
    assert _run(["--config", str(config), "--set", "rollout.group_size=0"], capsys) == \
        f"{config}: rollout.group_size must be a positive integer, got 0"
