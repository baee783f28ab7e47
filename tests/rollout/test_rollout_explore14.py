"""Round-14 probes of the rollout engine (token-level policies' contracts)."""

from __future__ import annotations

import numpy as np
import pytest

import agentgym
from agentgym import Feedback, LLMEnv
from agentgym.policies.base import Generation, Policy
from agentgym.rollout import RolloutConfig, Task, rollout
from tests.rewards.tiny_lm import tiny_tokenizer


class Counting(LLMEnv):
    """Never done: asks for a number each turn."""

    def new_episode(self, options):
        return "Say a number."

    def play(self, action):
        return Feedback("Another one.", {"outcome": 0.0})


agentgym.register("explore14/Counting-v0", Counting, max_turns=20)


class LogprobCount(Policy):
    """A token-level policy replying "7" as exact token ids (continuing its prompt), with
    ``count(n)`` log-probs for its ``n`` tokens (``count=None``: no log-probs)."""

    name = "logprob-count"

    def __init__(self, count):
        self.tokenizer = tiny_tokenizer()
        self.count = count

    async def agenerate(self, requests, sampling):
        ids = self.tokenizer.encode("7", add_special_tokens=False) + [self.tokenizer.eos_token_id]
        logprobs = None if self.count is None else [-0.5] * self.count(len(ids))
        return [Generation("7", ids, logprobs, list(r.prompt_token_ids)) for r in requests]


@pytest.mark.parametrize("count", [lambda n: n - 1, lambda n: n + 2, lambda n: 0], ids=["fewer", "more", "none"])
def test_log_probs_that_do_not_match_the_token_ids_are_the_policys_error(count):
    """A generation with more or fewer log-probs than token ids was recorded in a trajectory
    counted token-exact; the transcript's log-probs then ran out of step with its tokens, and
    the trainer refused the trajectory saying it 'lacks its sampling log-probs'."""
    trajectory = rollout(LogprobCount(count), [Task("explore14/Counting-v0", 0)], RolloutConfig(max_turns=2),
                         progress=False).trajectories[0]
    assert trajectory.error_kind == "policy" and not trajectory.turns
    assert "log-probs" in trajectory.error and "token ids" in trajectory.error, trajectory.error


def test_log_probs_one_per_token_or_none_are_taken():
    for policy in (LogprobCount(lambda n: n), LogprobCount(None)):
        trajectory = rollout(policy, [Task("explore14/Counting-v0", 0)], RolloutConfig(max_turns=2),
                             progress=False).trajectories[0]
        assert trajectory.error is None and trajectory.token_exact and len(trajectory.turns) == 2
        spans = [turn.action_span[1] - turn.action_span[0] for turn in trajectory.turns]
        assert [None if t.logprobs is None else len(t.logprobs) for t in trajectory.turns] == \
            ([None, None] if policy.count is None else spans)


class Picture(LLMEnv):
    """Observations with an image: a ``{"text", "image"}`` observation each turn."""

    def new_episode(self, options):
        return {"text": "What colour is it?", "image": np.zeros((8, 8, 3), np.uint8)}

    def play(self, action):
        return Feedback({"text": "Look again.", "image": np.zeros((8, 8, 3), np.uint8)}, {"outcome": 0.0})


agentgym.register("explore14/Picture-v0", Picture, max_turns=3)


def test_an_image_conversation_for_a_text_only_tokenizer_says_so():
    """A token-level policy with a text-only tokenizer whose template cannot take image parts,
    given a conversation with images, failed with only 'TypeError: can only concatenate str (not
    "list") to str' from inside the chat template; the episode's error now says what is wrong
    and what to use instead. (A text tokenizer whose template draws image placeholders still
    renders them: tests/vlm/test_vlm_transcript.py.)"""
    trajectory = rollout(LogprobCount(lambda n: n), [Task("explore14/Picture-v0", 0)], RolloutConfig(max_turns=2),
                         progress=False).trajectories[0]
    assert trajectory.error_kind == "policy" and not trajectory.turns
    assert "the conversation holds images, which this text-only tokenizer's chat template cannot render" \
        in trajectory.error and "HFVisionPolicy" in trajectory.error
