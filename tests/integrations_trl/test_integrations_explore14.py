"""Exploratory tests (round 14) of the TRL adapter: a step that can learn nothing says so."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import pytest

pytest.importorskip("trl", reason="TRL is not installed; pip install trl")

from agentgym.integrations.trl import agentgym_rollout  # noqa: E402
from agentgym.policies.base import Generation, Policy  # noqa: E402
from tests.integrations_trl.tiny_chat_model import chat_tokenizer  # noqa: E402

ARGS = SimpleNamespace(temperature=1.0, top_p=1.0, top_k=0, min_p=None, repetition_penalty=1.0,
                       generation_kwargs=None, seed=0, max_completion_length=4, chat_template_kwargs=None)


class Broken(Policy):
    """A token-level policy whose every generation is an error (a server gone, say)."""

    name = "broken"

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    async def agenerate(self, requests, sampling):
        return [Generation("", finish_reason="error", error="the server is gone") for _ in requests]


def test_a_step_whose_episodes_all_became_placeholders_warns_that_it_learns_nothing():
    """Every episode failed (its policy's errors here): TRL got one-token placeholders with
    mask 0 and trained on nothing, and nothing said so."""
    tokenizer = chat_tokenizer()
    trainer = SimpleNamespace(args=ARGS, processing_class=tokenizer, model=None)
    rollout = agentgym_rollout("games/GuessTheNumber-v0", max_turns=1, policy_factory=lambda t: Broken(tokenizer))
    with pytest.warns(UserWarning, match=r"none of the 2 episodes of this step can be trained on, so the step learns "
                                         r"nothing: episode failed: policy error: the server is gone \(2x\)"):
        out = rollout(rollout.dataset([0, 1])["prompt"], trainer)
    assert out["env_mask"] == [[0], [0]] and out["agentgym_return"] == [None, None]


def test_a_step_with_a_trainable_episode_does_not_warn():
    tokenizer = chat_tokenizer()

    class Answers(Broken):
        async def agenerate(self, requests, sampling):
            ids = tokenizer.encode("50", add_special_tokens=False) + [tokenizer.eos_token_id]
            return [Generation("50", ids, [-1.0] * len(ids), list(r.prompt_token_ids)) for r in requests]

    trainer = SimpleNamespace(args=ARGS, processing_class=tokenizer, model=None)
    rollout = agentgym_rollout("games/GuessTheNumber-v0", max_turns=1, policy_factory=lambda t: Answers(tokenizer))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = rollout(rollout.dataset([0])["prompt"], trainer)
    assert out["env_mask"][0] and 1 in out["env_mask"][0]
