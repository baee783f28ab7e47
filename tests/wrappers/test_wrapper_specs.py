"""Wrappers as data: specs build the same stack as the classes, travel as JSON, and are checked."""

from __future__ import annotations

import json
import pickle

import httpx
import pytest

import agentgym
from agentgym.remote import RemoteEnv, running_env_server
from agentgym.train.config import ConfigError, TrainConfig
from agentgym.wrappers import AnswerFormat, WrapperSpec, register_wrapper, registered_wrappers
from agentgym.wrappers.specs import as_wrapper_specs


def _play(env, actions):
    observation, _ = env.reset(seed=4)
    seen = [observation]
    for action in actions:
        observation, reward, *_ = env.step(action)
        seen.append((observation, reward))
    env.close()
    return seen


def test_a_spec_builds_what_the_class_builds_and_round_trips_as_json():
    spec = WrapperSpec("AnswerFormat", {"format": "boxed", "penalty": 0.5})
    actions = ["7", "\\boxed{7}", "<answer>3</answer>"]
    by_spec = _play(agentgym.make("games/GuessTheNumber-v0", wrappers=[spec]), actions)
    by_class = _play(agentgym.make("games/GuessTheNumber-v0",
                                   wrappers=[lambda env: AnswerFormat(env, "boxed", penalty=0.5)]), actions)
    assert by_spec == by_class and by_spec[1][1] == -0.5
    data = json.loads(json.dumps(spec.to_data()))
    assert WrapperSpec.from_data(data) == spec == pickle.loads(pickle.dumps(spec))
    assert WrapperSpec.from_data("ToolCalling") == WrapperSpec("ToolCalling")


def test_bad_specs_say_what_is_wrong():
    assert {"AnswerFormat", "ChatHistory", "EnvHints", "ToolCalling", "TurnLimit"} <= set(registered_wrappers())
    with pytest.raises(ValueError, match="unknown wrapper 'AnswerFromat'; registered wrappers: AnswerFormat"):
        WrapperSpec("AnswerFromat")
    with pytest.raises(TypeError, match="kwargs must be JSON data"):
        WrapperSpec("AnswerFormat", {"format": object()})
    with pytest.raises(ValueError, match='a wrapper is "Name" or'):
        WrapperSpec.from_data({"name": "AnswerFormat", "kwarg": {}})
    with pytest.raises(TypeError, match="cannot be described as data"):
        as_wrapper_specs([lambda env: env])
    assert as_wrapper_specs([AnswerFormat]) == [WrapperSpec("AnswerFormat")]  # a registered class is data


def test_register_a_wrapper_of_your_own():
    def shouting(env, times=1):
        env.shout = "!" * times
        return env

    register_wrapper("Shouting", shouting)
    env = agentgym.make("games/GuessTheNumber-v0", wrappers=[WrapperSpec("Shouting", {"times": 3})])
    assert env.unwrapped.shout == "!!!"
    env.close()


def test_a_server_builds_wrappers_from_data_and_refuses_the_unsafe_ones():
    with running_env_server() as url:
        local = _play(agentgym.make("games/GuessTheNumber-v0", wrappers=[WrapperSpec("AnswerFormat")]),
                      ["<answer>9</answer>", "9"])
        remote = _play(RemoteEnv("games/GuessTheNumber-v0", server=url, wrappers=["AnswerFormat"]),
                       ["<answer>9</answer>", "9"])
        assert [o if isinstance(o, str) else (o[0], o[1]) for o in remote] == local
        refused = httpx.post(f"{url}/v1/sessions", json={"env_id": "games/GuessTheNumber-v0",
                                                         "outer_wrappers": [{"name": "TrajectoryRecorder",
                                                                             "kwargs": {"output": "/tmp/x"}}]})
        assert refused.status_code == 403 and "cannot be requested by a remote client" in refused.text
        unknown = httpx.post(f"{url}/v1/sessions", json={"env_id": "games/GuessTheNumber-v0",
                                                         "wrappers": [{"name": "os.system"}]})
        assert unknown.status_code == 400 and "unknown wrapper" in unknown.text
        bad = httpx.post(f"{url}/v1/sessions", json={"env_id": "games/GuessTheNumber-v0",
                                                     "wrappers": [{"name": "AnswerFormat", "kwargs": {"penalty": -1}}]})
        assert bad.status_code == 400 and "penalty must be >= 0" in bad.text


def test_training_config_takes_wrappers_and_a_runtime_as_data():
    config = TrainConfig.from_dict({"env": {"wrappers": ["AnswerFormat", {"name": "ToolCalling"}],
                                            "runtime": "process"}})
    assert config.env.runtime == "process" and len(config.env.wrappers) == 2
    with pytest.raises(ConfigError) as error:
        TrainConfig.from_dict({"env": {"wrappers": ["Nope"], "runtime": "cluster", "ray_workers": 0}})
    message = str(error.value)
    assert "env.wrappers: unknown wrapper 'Nope'" in message and "env.runtime: env_runtime must be" in message
    assert "env.ray_workers must be at least 1" in message
