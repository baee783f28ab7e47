"""The verl adapter's agentgym side, without verl: an episode played through verl's server call
(a tiny real model behind it, see token_server.py) comes back as verl's AgentLoopOutput fields,
token-exact, masked, and rewarded as agentgym rewards it."""

from __future__ import annotations

import asyncio
import json

import pytest
import torch

import agentgym
from agentgym.integrations.episodes import task_prompt
from agentgym.integrations.verl import LoopOptions, agent_loop_config, play_verl_episode, task_of_row, verl_rows
from agentgym.policies.hf import HFPolicy
from agentgym.rollout import Task
from tests.integrations_trl.tiny_chat_model import chat_tokenizer, tiny_chat_model
from tests.integrations_verl.token_server import HFTokenServer

ENV_ID = "games/GuessTheNumber-v0"
KWARGS = {"difficulty": "easy", "dense_reward": True}
VERL_SAMPLING = {"temperature": 1.0, "top_p": 1.0, "top_k": -1, "repetition_penalty": 1.0, "logprobs": True}


@pytest.fixture(scope="module")
def server():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield HFTokenServer(HFPolicy(tiny_chat_model(0), chat_tokenizer()))
    torch.set_num_threads(threads)


def _play(server, seed, **options):
    response_length = options.pop("response_length", 200)
    prompt_length = options.pop("prompt_length", None)
    start = len(server.calls)
    fields = asyncio.run(play_verl_episode(server, chat_tokenizer(), VERL_SAMPLING, Task(ENV_ID, seed, KWARGS),
                                           options=LoopOptions(system_prompt=None, **options),
                                           response_length=response_length, prompt_length=prompt_length))
    return fields, server.calls[start:]


def test_an_episode_comes_back_as_verl_output_fields_true_to_the_server_and_the_environment(server):
    tokenizer = chat_tokenizer()
    played = rewarded = 0
    for seed in range(6):
        fields, calls = _play(server, seed, max_turns=3, max_tokens_per_turn=6)
        trajectory = fields["trajectory"]
        if "agentgym_untrainable" in fields["extra_fields"]:
            assert fields["response_mask"] == [0] and not trajectory.token_exact
            continue
        played += 1
        assert len({request_id for request_id, *_ in calls}) == 1  # one sticky session per episode
        assert all(params["max_tokens"] <= 6 and params["temperature"] == 1.0 for _, _, params, _ in calls)
        # the prompt and response are the whole exact sequence, each call's prompt a prefix of it
        sequence = fields["prompt_ids"] + fields["response_ids"]
        assert sequence == trajectory.token_ids
        for _, prompt, _, _ in calls:
            assert sequence[:len(prompt)] == prompt
        # mask 1 exactly on what the server returned, with its log-probs
        mask, logprobs = fields["response_mask"], fields["response_logprobs"]
        returned = [(t, lp) for *_, out in calls for t, lp in zip(out.token_ids, out.log_probs)]
        assert [(t, lp) for t, m, lp in zip(fields["response_ids"], mask, logprobs) if m] == returned
        assert all(lp == 0.0 for m, lp in zip(mask, logprobs) if not m)
        # the server's tokens replayed in a fresh environment give reward_score
        env = agentgym.make(ENV_ID, max_turns=3, **KWARGS)
        observation, _ = env.reset(seed=seed)
        total = 0.0
        for *_, out in calls:
            observation, reward, terminated, truncated, _ = env.step(tokenizer.decode(out.token_ids,
                                                                                      skip_special_tokens=True))
            total += reward
        assert terminated or truncated
        assert fields["reward_score"] == pytest.approx(total) == fields["extra_fields"]["agentgym_return"]
        assert fields["num_turns"] == 1 + 2 * len(calls)  # the first user message, then action and answer
        rewarded += total != 0
        env.close()
    assert played >= 4 and rewarded >= 1


def test_the_response_never_outgrows_verls_response_length(server):
    budget = 12
    cut = 0
    for seed in range(4):
        fields, calls = _play(server, seed, max_turns=6, max_tokens_per_turn=6, response_length=budget)
        first = len(calls[0][1])
        for _, prompt, params, _ in calls:  # each turn asks for at most what is left
            assert params["max_tokens"] <= min(6, budget - (len(prompt) - first))
        if "agentgym_untrainable" in fields["extra_fields"]:
            if "response_length" in fields["extra_fields"]["agentgym_untrainable"]:
                cut += 1
                assert fields["response_mask"] == [0] and fields["reward_score"] == 0.0
        else:
            assert len(fields["response_ids"]) <= budget
    assert cut >= 1  # six turns of observations do not fit in 12 tokens: the budget was hit


def test_a_prompt_longer_than_verls_prompt_length_is_not_trained_on(server):
    fields, _ = _play(server, 0, max_turns=1, max_tokens_per_turn=4, prompt_length=16)
    assert "prompt_length" in fields["extra_fields"]["agentgym_untrainable"]
    assert len(fields["prompt_ids"]) == 16 and fields["response_mask"] == [0]


def test_verl_rows_name_their_task_and_agent_loop():
    tasks = [Task(ENV_ID, s, KWARGS) for s in range(3)]
    rows = verl_rows(tasks)
    assert [r["agent_name"] for r in rows] == ["agentgym"] * 3
    assert [r["extra_info"]["index"] for r in rows] == [0, 1, 2]
    assert [task_of_row(r) for r in rows] == tasks
    # verl's dataset hands the prompt over as raw_prompt; a row without extra_info still works
    assert task_of_row({"raw_prompt": [{"role": "user", "content": task_prompt(tasks[1])}]}) == tasks[1]
    with pytest.raises(ValueError, match="names no agentgym task"):
        task_of_row({"extra_info": {}, "index": 0})


def test_the_agent_loop_config_file_registers_the_class_with_its_options(tmp_path):
    path = agent_loop_config(tmp_path / "agent.yaml", max_turns=4, max_tokens_per_turn=32,
                             wrappers=[{"name": "AnswerFormat", "kwargs": {"format": "boxed"}}])
    [entry] = json.loads(path.read_text())
    assert entry == {"name": "agentgym", "_target_": "agentgym.integrations.verl.AgentgymAgentLoop", "max_turns": 4,
                     "max_tokens_per_turn": 32, "wrappers": [{"name": "AnswerFormat", "kwargs": {"format": "boxed"}}]}
    config = LoopOptions(**{k: v for k, v in entry.items() if k not in ("name", "_target_")}).rollout_config(64)
    assert config.max_turns == 4 and config.sampling.max_tokens == 32 and config.wrappers[0].name == "AnswerFormat"
    with pytest.raises(ValueError, match="unknown agent loop options"):
        agent_loop_config(tmp_path / "bad.yaml", max_turn=4)
