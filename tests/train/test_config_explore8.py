"""Exploratory round 8 on the training configuration: defects found by probing, one test each."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentgym.train.config import ConfigError, TrainConfig, load_config


def _problems(data: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        TrainConfig.from_dict(data)
    return str(caught.value)


@pytest.mark.parametrize("weight", ["nan", "inf", "-inf"])
def test_a_channel_weight_that_is_not_finite_is_refused_like_any_number(tmp_path, weight):
    path = tmp_path / "mt.toml"
    path.write_text(f'[algorithm]\nname = "multichannel"\nchannels = {{success = 1.0, format = {weight}}}\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "algorithm.channels" in str(caught.value) and "finite" in str(caught.value)


def test_channel_weights_given_as_integers_become_floats():
    config = TrainConfig.from_dict({"algorithm": {"name": "multichannel", "channels": {"success": 1}}})
    assert config.algorithm.channels == {"success": 1.0} and type(config.algorithm.channels["success"]) is float


@pytest.mark.parametrize("device", ["cudafoo", "cuda:", "cuda:-1", "cuda:x", "cuda: 0", "cuda:0 "])
def test_a_device_torch_cannot_parse_is_refused_when_the_file_loads(device):
    assert 'run.device must be "auto", "cpu", "cuda" or "cuda:N"' in _problems({"run": {"device": device}})


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:0", "cuda:12"])
def test_the_documented_devices_load(device):
    assert TrainConfig.from_dict({"run": {"device": device}}).run.device == device


def test_a_model_folder_under_the_home_folder_written_with_a_tilde_loads(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / "models" / "mine").mkdir(parents=True)
    (home / "models" / "mine" / "config.json").write_text("{}")
    monkeypatch.setenv("HOME", str(home))
    path = tmp_path / "run.toml"
    path.write_text('[model]\npath = "~/models/mine"\n')
    config = load_config(path)
    assert Path(config.model.path) == home / "models" / "mine"  # what from_pretrained, which knows no ~, is given


def test_a_missing_model_folder_with_a_tilde_is_still_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert "does not exist" in _problems({"model": {"path": "~/models/missing"}})


@pytest.mark.parametrize("modules, expected", [
    ([], "model.lora.target_modules must name at least one module"),
    (["all-linear", "q_proj"], '"all-linear" stands alone'),
    (["q_proj", ""], "model.lora.target_modules must not hold an empty name"),
])
def test_lora_target_modules_peft_cannot_use_are_refused_when_the_file_loads(modules, expected):
    assert expected in _problems({"model": {"lora": {"enabled": True, "target_modules": modules}}})


def test_lora_target_modules_are_not_judged_while_lora_is_off():
    assert TrainConfig.from_dict({"model": {"lora": {"target_modules": []}}}).model.lora.target_modules == []


@pytest.mark.parametrize("out_dir", ["", "  "])
def test_an_empty_run_folder_is_refused_rather_than_the_current_folder_taken(out_dir):
    # --set run.out_dir=$OUT with OUT unset: Path("") is ".", and the run's files would land where it was started
    assert "run.out_dir is empty" in _problems({"run": {"out_dir": out_dir}})


def test_the_current_folder_can_still_be_named_as_the_run_folder():
    assert TrainConfig.from_dict({"run": {"out_dir": "."}}).run.out_dir == "."


@pytest.mark.parametrize("arms", [
    [{"kwargs": {"difficulty": "easy"}, "label": "warmup"}, {"kwargs": {"difficulty": "hard"}, "label": "warmup"}],
    [{"kwargs": {"difficulty": "easy"}}, {"kwargs": {"difficulty": "easy"}}],
])
def test_curriculum_arms_that_would_log_under_one_name_are_refused(arms):
    # the curriculum's metrics are curriculum/<arm name>/...: the second arm's would overwrite the first's
    message = _problems({"curriculum": {"name": "sec", "arms": arms}})
    assert "curriculum.arms[0] and curriculum.arms[1] have the same name" in message


def test_curriculum_arms_with_distinct_names_load():
    arms = [{"kwargs": {"difficulty": "easy"}}, {"kwargs": {"difficulty": "hard"}}, {"label": "default"}]
    assert len(TrainConfig.from_dict({"curriculum": {"name": "sec", "arms": arms}}).curriculum.arms) == 3


def test_an_unknown_schedule_is_refused_during_the_warm_up_too():
    from agentgym.train.schedules import lr_multiplier

    with pytest.raises(ValueError, match="unknown schedule 'cosin'"):
        lr_multiplier(0, total_steps=10, warmup_steps=5, schedule="cosin")  # was 0.2, then a ValueError at step 5
    assert lr_multiplier(0, total_steps=10, warmup_steps=5, schedule="cosine") == pytest.approx(0.2)


def test_a_run_folder_under_the_home_folder_written_with_a_tilde_is_not_a_folder_named_tilde(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = tmp_path / "run.toml"
    path.write_text('[run]\nout_dir = "~/runs/first"\n')
    assert Path(load_config(path).run.out_dir) == tmp_path / "home" / "runs" / "first"  # not ./~/runs/first


@pytest.mark.parametrize("section, key", [("run", "out_dir"), ("model", "path")])
def test_a_path_with_a_nul_character_names_its_key(tmp_path, section, key):
    # TOML's "\u0000" escape; the run failed later with Python's bare "embedded null byte"
    path = tmp_path / "nul.toml"
    path.write_text(f'[{section}]\n{key} = "runs\\u0000x"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"{section}.{key} holds a NUL character" in str(caught.value)
