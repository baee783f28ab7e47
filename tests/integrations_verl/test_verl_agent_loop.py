"""AgentgymAgentLoop inside verl's own machinery (needs verl; it is not in the project's
environment -- ``pip install verl`` brings a CUDA build of torch -- so this module is skipped
there and runs where verl is installed).

What runs here is what verl's ``AgentLoopWorker`` does for one sample, with verl's own code:
the agent loop config file loaded into verl's registry, the class instantiated by hydra from its
``_target_`` with the worker's arguments (``AgentLoopBase.__init__`` included), ``run`` awaited with
a row's fields, its ``AgentLoopOutput`` validated by pydantic and turned into tensors by
``as_dict``. What cannot run without a GPU and a Ray cluster: verl's vLLM / SGLang rollout
servers and the worker itself; a tiny real model behind the server's ``generate`` call stands in
for the server (token_server.py).
"""

from __future__ import annotations

import asyncio

import pytest
import torch

pytest.importorskip("verl.experimental.agent_loop", reason="verl is not installed (pip install verl)")

import agentgym  # noqa: E402
from agentgym.integrations.verl import agent_loop_config, verl_rows  # noqa: E402
from agentgym.policies.hf import HFPolicy  # noqa: E402
from agentgym.rollout import Task  # noqa: E402
from tests.integrations_trl.tiny_chat_model import chat_tokenizer, tiny_chat_model  # noqa: E402
from tests.integrations_verl.token_server import HFTokenServer  # noqa: E402

ENV_ID = "games/GuessTheNumber-v0"
KWARGS = {"difficulty": "easy", "dense_reward": True}


def _agent_loop(path, server):
    """The agent loop as verl's AgentLoopWorker builds it (its __init__ and _run_agent_loop)."""
    import hydra
    from omegaconf import OmegaConf
    from verl.experimental.agent_loop.agent_loop import DictConfigWrap, ToolListWrap, _agent_loop_registry
    from verl.utils.dataset.rl_dataset import RLHFDataset

    for entry in OmegaConf.load(path):
        _agent_loop_registry[entry.name] = entry
    config = OmegaConf.create({
        "actor_rollout_ref": {"rollout": {"prompt_length": 256, "response_length": 64,
                                          "multi_turn": {"max_assistant_turns": None}}},
        "data": {"apply_chat_template_kwargs": {}, "mm_processor_kwargs": {}},
    })
    return hydra.utils.instantiate(config=_agent_loop_registry["agentgym"], trainer_config=DictConfigWrap(config),
                                   server_manager=server, tokenizer=chat_tokenizer(), processor=None,
                                   hf_model_type=None, dataset_cls=RLHFDataset,
                                   data_config=DictConfigWrap(config.data), tools=ToolListWrap([]))


def test_verl_instantiates_and_runs_the_agentgym_loop_from_its_config_file(tmp_path):
    from verl.experimental.agent_loop.agent_loop import AgentLoopOutput

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        server = HFTokenServer(HFPolicy(tiny_chat_model(0), chat_tokenizer()))
        path = agent_loop_config(tmp_path / "agent_loops.yaml", max_turns=3, max_tokens_per_turn=6,
                                 system_prompt=None, env_kwargs={"dense_reward": True})
        loop = _agent_loop(path, server)
        assert type(loop).__name__ == "AgentgymAgentLoop" and loop.options.max_turns == 3
        assert loop.options.env_kwargs == {"dense_reward": True}  # a plain dict, not hydra's DictConfig
        sampling = {"temperature": 1.0, "top_p": 1.0, "top_k": -1, "repetition_penalty": 1.0, "logprobs": True}
        tokenizer = chat_tokenizer()
        trained = rewarded = 0
        for row in verl_rows([Task(ENV_ID, seed, {"difficulty": "easy"}) for seed in range(4)]):
            fields = {**row, "raw_prompt": row["prompt"], "index": row["extra_info"]["index"]}
            fields.pop("agent_name")  # the worker takes it out to pick the loop
            start = len(server.calls)
            output = asyncio.run(loop.run(sampling, **fields))
            assert isinstance(output, AgentLoopOutput)
            tensors = output.as_dict()  # verl's own conversion to the batch's tensors
            assert tensors["responses"].tolist() == output.response_ids
            assert tensors["rm_scores"][-1].item() == pytest.approx(output.reward_score)
            if "agentgym_untrainable" in output.extra_fields:
                assert output.response_mask == [0], output.extra_fields["agentgym_untrainable"]
                continue
            trained += 1
            calls = server.calls[start:]
            returned = [t for *_, out in calls for t in out.token_ids]
            assert [t for t, m in zip(output.response_ids, output.response_mask) if m] == returned
            assert torch.equal(tensors["rollout_log_probs"][tensors["response_mask"] == 1],
                               torch.tensor([lp for *_, out in calls for lp in out.log_probs]))
            env = agentgym.make(ENV_ID, max_turns=3, difficulty="easy", dense_reward=True)
            env.reset(seed=row["extra_info"]["index"])
            total = sum(env.step(tokenizer.decode(out.token_ids, skip_special_tokens=True))[1]
                        for *_, out in calls)
            assert output.reward_score == pytest.approx(total)
            rewarded += total != 0
            env.close()
        assert trained >= 2 and rewarded >= 1
    finally:
        torch.set_num_threads(threads)
