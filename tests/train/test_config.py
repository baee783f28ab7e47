"""The training configuration: TOML loading, defaults, clear errors for configs that cannot run."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentgym.train.config import ConfigError, TrainConfig, load_config

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
    assert "run.steps: must be an integer, got 'ten'" in _problems({"run": {"steps": "ten"}})
    assert "loss.aggregation: must be one of" in _problems({"loss": {"aggregation": "mean"}})
    assert "logging.console: must be true or false" in _problems({"logging": {"console": 1}})
    assert "[model.lora] must be a table" in _problems({"model": {"lora": 3}})


def test_integers_are_accepted_for_float_options():
    config = TrainConfig.from_dict({"optimizer": {"lr": 1, "betas": [0, 0]}})
    assert isinstance(config.optimizer.lr, float) and config.optimizer.betas == [0.0, 0.0]


@pytest.mark.parametrize(("data", "message"), [
    ({"algorithm": {"name": "ppo", "value_head": False}}, "'ppo' needs a value head"),
    ({"algorithm": {"name": "grpo", "value_head": True}}, "does not use a critic"),
    ({"rollout": {"group_size": 1}}, "compares the rollouts of a group"),
    ({"rollout": {"group_size": 1}, "algorithm": {"name": "gigpo"}}, "compares the rollouts of a group"),
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


def test_missing_optional_packages_are_reported(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    assert "needs the wandb package" in _problems({"logging": {"wandb": True}})
