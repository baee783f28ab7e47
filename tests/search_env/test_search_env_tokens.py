"""Token-level rollouts of the search environment: over a 64-turn episode the retrieved text is
never the policy's (every ``<information>`` block lies in observation spans, outside the loss
mask), the sequence stays token-exact under a context budget, and IGPO's information-gain
reward runs on a search trajectory with the reference answer and stub the environment hides.

The policy is an :class:`~agentgym.policies.hf.HFPolicy` of a tiny random Llama model whose
replies are the oracle's moves (the environment's hint), returned as exact token ids as a
sampler would; a random model would never write a ``<search>`` tag."""

from __future__ import annotations

import math
import re

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from agentgym.policies.base import Generation
from agentgym.policies.hf import HFPolicy
from agentgym.rewards.info_gain import InformationGainReward
from agentgym.rollout import RolloutConfig, Task, rollout

from tests.rollout.chat_tokenizers import llama3_style_tokenizer

FILLERS = ("Accord", "Foundation", "Society", "Festival", "river valley", "treatise", "Guild", "banking")


def tiny_model(tokenizer) -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096)
    return LlamaForCausalLM(config).eval()


class OracleTokens(HFPolicy):
    """Plays the oracle's hint as exact token ids; holds its answer back until ``answer_turn``,
    searching filler words meanwhile (a long episode)."""

    env_hints = ("oracle_action",)

    def __init__(self, model, tokenizer, *, answer_turn: int = 0) -> None:
        super().__init__(model, tokenizer, name="oracle-tokens")
        self.answer_turn = answer_turn

    async def agenerate(self, requests, sampling):
        out = []
        for request in requests:
            turn = sum(message["role"] == "assistant" for message in request.messages)
            text = request.hints["oracle_action"]
            if text.startswith("<answer>") and turn < self.answer_turn:
                text = f"<search>{FILLERS[turn % len(FILLERS)]} {turn}</search>"
            ids = self.tokenizer.encode(text, add_special_tokens=False) + [self.tokenizer.eos_token_id]
            out.append(Generation(text, ids, [-1.0] * len(ids), list(request.prompt_token_ids)))
        return out


@pytest.fixture(scope="module")
def tokenizer():
    return llama3_style_tokenizer()


def test_64_turns_of_retrieved_text_stay_out_of_the_loss_mask(world_kwargs, tokenizer):
    policy = OracleTokens(tiny_model(tokenizer), tokenizer, answer_turn=63)
    task = Task("search/MultiHop-v0", 4, {**world_kwargs, "turn_budget": 64})
    config = RolloutConfig(max_context_chars=200_000)
    [trajectory] = rollout(policy, [task], config, progress=False).trajectories
    assert trajectory.error is None and trajectory.success and len(trajectory.turns) == 64
    assert trajectory.token_exact and trajectory.turns[-1].info["answer"] == trajectory.metadata["reference_answer"]
    searches = trajectory.turns[-1].info["searches"]
    assert searches == 63 and sum(len(t.info["retrieved"]) > 0 for t in trajectory.turns) >= 60

    ids, mask = trajectory.token_ids, trajectory.loss_mask()
    text = tokenizer.decode(ids[trajectory.prompt_length:])  # the prompt's instructions name the tags too
    assert text.count("<information>") == text.count("</information>") == searches
    generated = tokenizer.decode([token for token, bit in zip(ids, mask) if bit])
    assert "<information>" not in generated and "Title:" not in generated
    assert sum(mask) == trajectory.generated_tokens
    observed = 0
    for index, turn in enumerate(trajectory.turns):
        start, end = turn.action_span
        assert all(mask[start:end]) and "<information>" not in tokenizer.decode(ids[start:end])
        if turn.observation_span is not None:
            start, end = turn.observation_span
            assert not any(mask[start:end])
            block = tokenizer.decode(ids[start:end])
            observed += block.count("<information>")
            # the documents this turn retrieved arrived as observation tokens, one line each
            assert len(re.findall(r"Doc \d\(Title: ", block)) == len(turn.info["retrieved"])
            assert trajectory.turns[index + 1].observation in block
    assert observed == searches and trajectory.turns[-1].observation_span is None
    # The whole episode fits the context budget: nothing was dropped (that would break the prefix).
    assert sum(len(str(m["content"])) for m in trajectory.messages) < config.max_context_chars
    assert not any(t.info.get("context_overflow") for t in trajectory.turns)


def test_igpo_information_gain_runs_on_a_search_trajectory(world_kwargs, tokenizer):
    model = tiny_model(tokenizer)
    policy = OracleTokens(model, tokenizer)
    tasks = [Task("search/MultiHop-v0", seed, dict(world_kwargs)) for seed in (0, 1)]
    trajectories = rollout(policy, tasks, RolloutConfig(), progress=False).trajectories
    for trajectory in trajectories:
        assert trajectory.token_exact and trajectory.success
        assert trajectory.metadata["reference_answer"] == trajectory.turns[-1].info["answer"]
        assert trajectory.metadata["answer_stub"] == "<answer>"
    scores = InformationGainReward(model, tokenizer, mode="log_prob_diff").score(trajectories)
    for trajectory, values in zip(trajectories, scores):
        beliefs = trajectory.metadata["answer_log_probs"]
        assert len(beliefs) == len(trajectory.turns) and all(math.isfinite(v) and v < 0 for v in beliefs)
        assert values[-1] is None
        assert values[:-1] == pytest.approx([after - before for before, after in zip(beliefs, beliefs[1:])])
