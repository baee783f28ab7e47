"""The training configuration: TOML loading, defaults, clear errors for configs that cannot run."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from agentgym.train.config import ConfigError, TrainConfig, load_config, parse_overrides

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.toml"))


def _problems(data: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        TrainConfig.from_dict(data)
    return str(caught.value)


def test_the_defaults_make_a_valid_configuration():
    config = TrainConfig.from_dict({})
    assert config.algorithm.name == "grpo" and config.rollout.group_size == 8
    assert config.to_dict()["loss"]["aggregation"] == "token-mean"
    assert "dual_clip" not in config.to_dict()["loss"]  # None options are absent, as in TOML


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_configuration_loads_and_checks(path):
    config = load_config(path)
    assert config.run.steps > 0
    assert TrainConfig.from_dict(config.to_dict()) == config  # round trip through plain data


def test_there_are_example_configurations():
    assert {"grpo_guess_the_number.toml"} <= {p.name for p in EXAMPLES}


def test_unknown_keys_and_sections_get_suggestions():
    assert "unknown key 'eps_hi' in [loss]; did you mean 'eps_high'?" in _problems({"loss": {"eps_hi": 0.3}})
    assert "unknown section 'los' in the top level; did you mean 'loss'?" in _problems({"los": {}})
    assert "known keys:" in _problems({"rollout": {"zzz": 1}})


def test_wrong_types_are_named_with_their_path():
    assert 'run.steps must be an integer, got "ten"' in _problems({"run": {"steps": "ten"}})
    assert 'loss.aggregation must be one of "token-mean", ' in _problems({"loss": {"aggregation": "mean"}})
    assert "logging.console must be true or false, got 1" in _problems({"logging": {"console": 1}})
    assert "[model.lora] must be a table" in _problems({"model": {"lora": 3}})


@pytest.mark.parametrize(("section", "key", "value", "message"), [
    # Optional options (``int | None``) were once skipped by the checker entirely.
    ("rollout", "max_turns", "five", 'rollout.max_turns must be an integer or omitted, got "five"'),
    ("rollout", "max_turns", math.inf, "rollout.max_turns must be an integer or omitted, got inf"),
    ("rollout", "max_turns", 2.0, "rollout.max_turns must be an integer or omitted, got 2.0"),
    ("rollout", "system_prompt", 5, "rollout.system_prompt must be a string or omitted, got 5"),
    ("algorithm", "gamma", "0.9", 'algorithm.gamma must be a finite number or omitted, got "0.9"'),
    ("algorithm", "gamma", math.nan, "algorithm.gamma must be a finite number or omitted, got nan"),
    ("loss", "dual_clip", [1], "loss.dual_clip must be a finite number or omitted, got [1]"),
    ("algorithm", "value_head", 1, "algorithm.value_head must be true or false or omitted, got 1"),
    ("model", "revision", True, "model.revision must be a string or omitted, got true"),
    # bool is not an integer; a number must be finite.
    ("run", "steps", True, "run.steps must be an integer, got true"),
    ("optimizer", "lr", -math.inf, "optimizer.lr must be a finite number, got -inf"),
    ("optimizer", "betas", [0.9, "x"], 'optimizer.betas must be a list of finite numbers, got [0.9, "x"]'),
    ("rollout", "turn_schedule", [[0, 1.5]], "rollout.turn_schedule must be a list of lists of integers"),
    ("env", "kwargs", "easy", 'env.kwargs must be a table, got "easy"'),
    ("algorithm", "name", 1, "algorithm.name must be a string, got 1"),
])
def test_every_option_is_type_checked(section, key, value, message):
    assert message in _problems({section: {key: value}})


def test_the_type_checker_reads_every_hint_form():
    from typing import Literal, Optional, Union

    from agentgym.train.config_parsing import _conforms, _describe, _option_hints

    assert _conforms(3, Optional[int]) and _conforms(3, Union[int, None]) and _conforms(3, int | None)
    assert not _conforms("3", Optional[int]) and not _conforms(True, int | None)
    assert _conforms([0.5, 1], tuple[float, float]) and not _conforms([0.5], tuple[float, float])
    assert _conforms([1, 2, 3], tuple[int, ...]) and not _conforms([1, "2"], tuple[int, ...])
    assert not _conforms(1, Literal[True]) and _conforms(True, Literal[True])
    assert _describe(tuple[float, str]) == "a list [a finite number, a string]"
    with pytest.raises(TypeError, match="no rule"):
        _conforms(1, set[int])
    for hint in _option_hints().values():  # every option of the configuration has a rule
        if not dataclasses.is_dataclass(hint):
            assert _describe(hint)


def test_local_model_paths_must_exist(tmp_path):
    assert 'model.path "/nonexistent/model" does not exist: expected a local model folder' in \
        _problems({"model": {"path": "/nonexistent/model"}})
    assert "holds no model (no config.json)" in _problems({"model": {"path": str(tmp_path)}})
    (tmp_path / "config.json").write_text("{}")
    assert TrainConfig.from_dict({"model": {"path": str(tmp_path)}}).model.path == str(tmp_path)
    assert TrainConfig.from_dict({"model": {"path": "HuggingFaceTB/SmolLM2-135M"}})  # a hub name: the hub's to judge


def test_negative_seeds_and_lora_sizes_are_refused():
    assert "run.seed must not be negative" in _problems({"run": {"seed": -1}})
    assert "env.train_seeds must be [start, stop) with 0 <= start" in _problems({"env": {"train_seeds": [-5, 5]}})
    lora = {"model": {"lora": {"enabled": True, "r": 0, "dropout": 1.0}}}
    assert "model.lora.r must be a positive integer" in _problems(lora)
    assert "model.lora.dropout must be in [0, 1)" in _problems(lora)


def test_unknown_keys_are_suggested_from_other_sections():
    assert "unknown key 'lr' in [rollout]; did you mean optimizer.lr?" in _problems({"rollout": {"lr": 1.0}})
    assert "unknown section 'steps' in the top level; did you mean run.steps?" in _problems({"steps": 3})


def test_set_assignments_become_checked_overrides():
    overrides = parse_overrides(["rollout.group_size=4", "optimizer.lr=1e-5", "model.path=/models/mine",
                                 'env.kwargs={difficulty = "easy"}', "model.lora.r=8", "rollout.group_size=6"])
    assert overrides == {"rollout": {"group_size": 6}, "optimizer": {"lr": 1e-5}, "model": {
        "path": "/models/mine", "lora": {"r": 8}}, "env": {"kwargs": {"difficulty": "easy"}}}
    assert parse_overrides(['run.name="true"']) == {"run": {"name": "true"}}
    with pytest.raises(ConfigError, match="run.name must be a string, got true"):  # TOML first, then a string
        parse_overrides(["run.name=true"])
    assert parse_overrides(["optimizer.lr=1"])["optimizer"]["lr"] == 1.0


@pytest.mark.parametrize(("assignment", "message"), [
    ("rollout.group_size", '--set: expected KEY=VALUE (e.g. rollout.group_size=4), got "rollout.group_size"'),
    ("=4", "--set: expected KEY=VALUE"),
    ("optim.lr=1e-5", "--set: unknown option 'optim.lr'; did you mean optimizer.lr?"),
    ("group_size=4", "did you mean rollout.group_size?"),
    ("rollout.group_sise=4", "did you mean rollout.group_size?"),
    ("rollout.max_turns=five", '--set: rollout.max_turns must be an integer or omitted, got "five"'),
    ("loss.eps_low=nan", "--set: loss.eps_low must be a finite number, got nan"),
    ("model.lora=3", "--set: [model.lora] must be a table, got 3"),
])
def test_bad_set_assignments_are_refused(assignment, message):
    with pytest.raises(ConfigError) as caught:
        parse_overrides([assignment])
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_integers_are_accepted_for_float_options():
    config = TrainConfig.from_dict({"optimizer": {"lr": 1, "betas": [0, 0]}})
    assert isinstance(config.optimizer.lr, float) and config.optimizer.betas == [0.0, 0.0]


@pytest.mark.parametrize(("data", "message"), [
    ({"algorithm": {"name": "ppo", "value_head": False}}, "'ppo' needs a value head"),
    ({"algorithm": {"name": "grpo", "value_head": True}}, "does not use a critic"),
    ({"rollout": {"group_size": 1}}, "compares the rollouts of a group"),
    ({"rollout": {"group_size": 1}, "algorithm": {"name": "gigpo"}}, "compares the rollouts of a group"),
    ({"algorithm": {"name": "grop"}}, "unknown algorithm 'grop' (did you mean 'grpo'"),
    ({"algorithm": {"name": "multichannel"}}, "needs algorithm.channels"),
    ({"algorithm": {"name": "multichannel", "channels": {"outcome": "high"}}}, "algorithm.channels must be a table of finite numbers"),
    ({"algorithm": {"name": "stratified", "alpha": 1.5}}, "algorithm.alpha must be in [0, 1]"),
    ({"filters": {"top_fraction": 0.0}}, "top_fraction must be in (0, 1]"),
    ({"filters": {"top_fraction": 1.5}}, "top_fraction must be in (0, 1]"),
    ({"rollout": {"temperature": 0.0}}, "greedy decoding has none"),
    ({"loss": {"dual_clip": 1.0}}, "dual_clip must be greater than 1"),
    ({"rollout": {"turn_schedule": [[5, 3]]}}, "must start at step 0"),
    ({"rollout": {"turn_schedule": [[0, 3], [10, 0]]}}, "turn budgets must be positive"),
    ({"batching": {"mini_batches": 100}}, "exceeds the episodes per step"),
    ({"eval": {"every": 1, "first_seed": 5}}, "overlap env.train_seeds"),
    ({"eval": {"every": 1, "samples": 4}}, "plays the same episode again"),
    ({"eval": {"every": 1, "temperature": -1.0}}, "eval.temperature must not be negative"),
    ({"loss": {"entropy_band": {"enabled": True}}}, "positive entropy_coef"),
    ({"run": {"device": "tpu"}}, "run.device"),
    ({"run": {"device": "cpu", "precision": "bf16"}}, "needs a CUDA device"),
])
def test_configurations_that_cannot_work_fail_at_start(data, message):
    assert message in _problems(data)


def test_every_problem_is_listed_at_once():
    text = _problems({"run": {"steps": 0}, "filters": {"top_fraction": 2.0}, "loss": {"eps_lo": 0.1}})
    assert "run.steps" in text and "top_fraction" in text and "eps_lo" in text
    assert text.count("\n  - ") == 3


def test_group_size_one_is_fine_for_ppo_and_reinforce():
    TrainConfig.from_dict({"rollout": {"group_size": 1}, "algorithm": {"name": "ppo"}})
    TrainConfig.from_dict({"rollout": {"group_size": 1}, "algorithm": {"name": "reinforce"}})


def test_turn_schedule_gives_the_budget_of_each_step():
    config = TrainConfig.from_dict({"rollout": {"max_turns": 3, "turn_schedule": [[0, 5], [50, 8], [100, 10]]}})
    assert [config.max_turns_at(s) for s in (0, 49, 50, 99, 100, 500)] == [5, 5, 8, 8, 10, 10]
    assert TrainConfig.from_dict({"rollout": {"max_turns": 3}}).max_turns_at(7) == 3


def test_load_config_reports_file_problems(tmp_path):
    with pytest.raises(ConfigError, match="no configuration file"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[run\nsteps = 3\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    good = tmp_path / "good.toml"
    good.write_text('[run]\nsteps = 3\n[algorithm]\nname = "rloo"\n')
    config = load_config(good, overrides={"run": {"steps": 7}})
    assert config.run.steps == 7 and config.algorithm.name == "rloo"
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[optimizer]\nlearning_rate = 0.1\n")
    with pytest.raises(ConfigError, match=r"wrong\.toml: .*unknown key 'learning_rate'"):
        load_config(wrong)


def test_load_config_names_the_file_and_the_key(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[rollout]\nmax_turns = "five"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f'{path}: rollout.max_turns must be an integer or omitted, got "five"'
    path.write_text("# nothing but a comment\n")
    with pytest.raises(ConfigError, match="sets no option"):
        load_config(path)
    path.write_bytes(b"\xff\xfe[run]\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read the configuration"):
        load_config(tmp_path)


def test_missing_optional_packages_are_reported(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    assert "needs the wandb package" in _problems({"logging": {"wandb": True}})
