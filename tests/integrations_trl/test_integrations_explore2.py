"""Exploratory tests of the trainer adapters, as a demanding user drives them: verl's rollout
server as verl runs it by default (no sampling log-probs), the verl adapter used where verl
is not installed, and the agent loop config file written with bad options or wrapper specs."""

from __future__ import annotations

import asyncio
import json
import sys
from types import SimpleNamespace

import pytest

import agentgym.integrations.verl as verl_adapter
from agentgym.integrations.verl import LoopOptions, agent_loop_config, play_verl_episode
from agentgym.rollout import Task
from agentgym.wrappers.specs import WrapperSpec
from tests.integrations_trl.tiny_chat_model import chat_tokenizer

GUESS = Task("games/GuessTheNumber-v0", 0, {"difficulty": "easy"})


class ScriptedServer:
    """verl's ``LLMServerClient`` shape: each call answers the next guess ("10", "5", "15") and
    EOS; ``log_probs`` only when the request asks for them (``sampling_params["logprobs"]``),
    as verl's servers do (``rollout.calculate_log_probs`` is off by default)."""

    def __init__(self, tokenizer):
        self.tokenizer, self.guesses = tokenizer, iter(["10", "5", "15", "3"])

    async def generate(self, request_id, *, prompt_ids, sampling_params):
        ids = self.tokenizer.encode(next(self.guesses), add_special_tokens=False) + [self.tokenizer.eos_token_id]
        log_probs = [-0.25] * len(ids) if sampling_params.get("logprobs") else None
        return SimpleNamespace(token_ids=ids, log_probs=log_probs, stop_reason="completed")


@pytest.mark.parametrize("logprobs", [False, True])
def test_a_verl_server_without_log_probs_still_trains_on_the_model_tokens(logprobs):
    tokenizer = chat_tokenizer()
    fields = asyncio.run(play_verl_episode(ScriptedServer(tokenizer), tokenizer, {"temperature": 1.0, "logprobs": logprobs},
                                           GUESS, options=LoopOptions(max_turns=3, system_prompt=None),
                                           response_length=512, prompt_length=512))
    assert "agentgym_untrainable" not in fields["extra_fields"], fields["extra_fields"]
    played = ["10", "5", "15"][:len(fields["trajectory"].turns)]
    expected = [t for guess in played for t in tokenizer.encode(guess, add_special_tokens=False) + [tokenizer.eos_token_id]]
    assert [t for t, m in zip(fields["response_ids"], fields["response_mask"]) if m] == expected
    assert fields["reward_score"] == fields["trajectory"].episode_return
    if logprobs:
        assert sorted(set(fields["response_logprobs"])) == [-0.25, 0.0]
    else:
        assert fields["response_logprobs"] is None  # verl recomputes them with the actor


def test_the_verl_agent_loop_without_verl_says_which_package_to_install(monkeypatch):
    for module in ("verl", "verl.experimental", "verl.experimental.agent_loop",
                   "verl.experimental.agent_loop.agent_loop"):
        monkeypatch.setitem(sys.modules, module, None)  # as if not installed: importing it raises
    monkeypatch.delitem(verl_adapter.__dict__, "AgentgymAgentLoop", raising=False)
    with pytest.raises(ImportError, match=r"AgentgymAgentLoop needs verl .*install verl") as caught:
        verl_adapter.AgentgymAgentLoop  # noqa: B018 - the access builds the class
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("options, words", [
    ({"max_turns": "eight"}, "max_turns"), ({"max_tokens_per_turn": -3}, "max_tokens_per_turn"),
    ({"wrappers": [{"name": "NoSuchWrapper"}]}, "NoSuchWrapper"), ({"env_runtime": 5}, "env_runtime"),
    ({"env_kwargs": {"when": object()}}, "JSON")])
def test_agent_loop_config_refuses_a_bad_option_before_writing_the_file(tmp_path, options, words):
    path = tmp_path / "agentgym_loop.yaml"
    with pytest.raises(ValueError, match=words):  # not in each of verl's workers, at its first episode
        agent_loop_config(path, **options)
    assert not path.exists()


def test_agent_loop_config_takes_wrappers_as_specs_or_names(tmp_path):
    wrappers = [WrapperSpec("AnswerFormat", {"format": "boxed"}), "EpisodeStatistics"]
    path = agent_loop_config(tmp_path / "agentgym_loop.yaml", max_turns=4, wrappers=wrappers)
    [entry] = json.loads(path.read_text())
    options = LoopOptions(**{key: value for key, value in entry.items() if key not in ("name", "_target_")})
    assert options.rollout_config(64).wrappers == (WrapperSpec("AnswerFormat", {"format": "boxed"}),
                                                   WrapperSpec("EpisodeStatistics"))
