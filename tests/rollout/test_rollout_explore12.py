"""Exploratory tests, twelfth round: the rollout engine and its token transcript at the edges
of their contracts (a context budget with a token-level policy, ...)."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

import agentgym
from agentgym import Feedback, LLMEnv
from agentgym.policies.base import Generation, Policy, SamplingParams
from agentgym.policies.scripted import ScriptedPolicy
from agentgym.rollout import RolloutConfig, Task, arollout, rollout
from tests.rewards.tiny_lm import tiny_tokenizer


class Chatty(LLMEnv):
    """Long observations, never done: a context budget soon drops turns."""

    def new_episode(self, options):
        self.turn = 0
        return "Say a number. " + "Long introduction. " * 5

    def play(self, action):
        self.turn += 1
        return Feedback(f"Turn {self.turn}: " + "more words " * 10, {"outcome": 0.0})


agentgym.register("explore12/Chatty-v0", Chatty, max_turns=20)


class TokenScript(Policy):
    """A token-level policy: replies "7" as exact token ids, continuing the prompt it was given;
    keeps every prompt it was handed (as text)."""

    name = "token-script"

    def __init__(self):
        self.tokenizer = tiny_tokenizer()
        self.prompts: list[str] = []

    async def agenerate(self, requests, sampling):
        out = []
        for request in requests:
            self.prompts.append(self.tokenizer.decode(request.prompt_token_ids))
            ids = self.tokenizer.encode("7", add_special_tokens=False) + [self.tokenizer.eos_token_id]
            out.append(Generation("7", ids, [-0.5] * len(ids), list(request.prompt_token_ids)))
        return out


def test_a_context_budget_with_a_token_level_policy_counts_the_dropped_turns_as_mismatches():
    """RolloutConfig's docstring: with a token-level policy a dropped turn breaks the token prefix
    and is counted as a mismatch. The first turn the budget dropped failed the episode instead
    ('policy error: ...chat template or tokenizer failed on the conversation: IndexError: list
    index out of range'), its token ids lost."""
    policy = TokenScript()
    config = RolloutConfig(max_turns=6, max_context_chars=600)
    trajectory = rollout(policy, [Task("explore12/Chatty-v0", 0)], config, progress=False).trajectories[0]
    assert trajectory.error is None and len(trajectory.turns) == 6 and trajectory.truncated
    assert trajectory.token_mismatches >= 1 and not trajectory.token_exact
    # The policy was given the budgeted conversation, as a text-mode policy is.
    assert "earlier turns omitted to fit the context budget" in policy.prompts[-1]
    assert "Turn 1:" not in policy.prompts[-1] and "Turn 5:" in policy.prompts[-1]
    assert trajectory.token_ids == policy.tokenizer.encode(policy.prompts[-1], add_special_tokens=False) + \
        policy.tokenizer.encode("7", add_special_tokens=False) + [policy.tokenizer.eos_token_id]


def test_after_a_dropped_turn_every_recorded_span_lies_within_the_token_ids():
    """The turns before the budget dropped one kept their spans, positions in the tokens the
    transcript had before it fell back to the rewritten conversation's: loss_mask() (and so
    to_parquet) raised 'turn 2: action_span (397, 399) lies outside the 365 recorded tokens'."""
    policy = TokenScript()
    config = RolloutConfig(max_turns=6, max_context_chars=600)
    trajectory = rollout(policy, [Task("explore12/Chatty-v0", 0)], config, progress=False).trajectories[0]
    assert trajectory.token_mismatches >= 1
    reply = policy.tokenizer.encode("7", add_special_tokens=False) + [policy.tokenizer.eos_token_id]
    spans = [turn.action_span for turn in trajectory.turns if turn.action_span is not None]
    assert spans and trajectory.turns[-1].action_span == spans[-1]
    for start, end in spans:  # what is left is what the policy sampled, where it sampled it
        assert 0 <= start <= end <= len(trajectory.token_ids) and trajectory.token_ids[start:end] == reply
    assert sum(trajectory.loss_mask()) == len(spans) * len(reply) == trajectory.generated_tokens


class TokenForms(TokenScript):
    """Replies "7" with its token ids (and the prompt's) in the form ``shape`` gives them."""

    def __init__(self, shape):
        super().__init__()
        self.shape = shape

    async def agenerate(self, requests, sampling):
        return [Generation(g.text, self.shape(g.token_ids), g.logprobs, self.shape(g.prompt_token_ids))
                for g in await super().agenerate(requests, sampling)]


@pytest.mark.parametrize("shape", [np.array, tuple, lambda ids: np.array(ids, dtype=np.int32)],
                         ids=["numpy", "tuple", "int32"])
def test_token_ids_as_an_array_or_a_tuple_are_taken_as_the_token_ids_they_are(shape):
    """A policy giving its token ids as a NumPy array failed every episode, blamed on the chat
    template ('...failed on the conversation: ValueError: The truth value of an array...') or,
    for the prompt's ids, on the environment ('environment raised ValueError'); as a tuple, every
    turn counted a broken prefix. They are lists of ints now, as NumPy log-probs already were."""
    expected = rollout(TokenScript(), [Task("explore12/Chatty-v0", 0)], RolloutConfig(max_turns=2),
                       progress=False).trajectories[0]
    trajectory = rollout(TokenForms(shape), [Task("explore12/Chatty-v0", 0)], RolloutConfig(max_turns=2),
                         progress=False).trajectories[0]
    assert trajectory.error is None and trajectory.token_exact and len(trajectory.turns) == 2
    assert trajectory.token_ids == expected.token_ids and all(type(i) is int for i in trajectory.token_ids)
    json.dumps(trajectory.to_dict())


@pytest.mark.parametrize("bad", [[-1], ["7"], [7.0], [True], "77", 7])
def test_token_ids_that_are_no_token_ids_are_the_policys_error(bad):
    """A generation's token ids that are not non-negative integers (a negative id, a string, a
    float) were recorded in a trajectory counted token-exact, for a trainer to index its
    embeddings with; a string or a number in place of the list failed in the tokenizer."""
    trajectory = rollout(TokenForms(lambda ids: bad if len(ids) < 10 else ids), [Task("explore12/Chatty-v0", 0)],
                         RolloutConfig(max_turns=2), progress=False).trajectories[0]
    assert trajectory.error_kind == "policy" and not trajectory.turns
    assert trajectory.error.startswith("policy error: token-script returned a Generation whose token_ids")


class CancelledCall(Policy):
    """Its second call raises CancelledError of its own (a back-end aborting the request, as
    vLLM's engine does), not because the rollout was cancelled."""

    name = "aborting"

    def __init__(self):
        self.calls = 0

    async def agenerate(self, requests, sampling):
        self.calls += 1
        if self.calls == 2:
            raise asyncio.CancelledError("request aborted by the engine")
        return [Generation("5") for _ in requests]


@pytest.mark.parametrize("seed", [None, 0], ids=["lingering", "lockstep"])
def test_a_policy_call_raising_cancelled_error_fails_its_episodes_and_the_rollout_goes_on(seed):
    """The batcher's serving task died with the policy's CancelledError: every episode then waited
    forever for its generation, and the rollout never returned."""
    tasks = [Task("games/GuessTheNumber-v0", s) for s in range(3)]
    config = RolloutConfig(max_turns=3, sampling=SamplingParams(seed=seed))
    result = asyncio.run(asyncio.wait_for(arollout(CancelledCall(), tasks, config, progress=False), 20))
    errors = [t.error for t in result.trajectories if t.error]
    assert errors and all(e.startswith("policy error: CancelledError") for e in errors), errors
    assert result.stats["error_kinds"] == {"policy": len(errors)}
    assert len(result.trajectories) == 3


class SilentError(Policy):
    """Reports an error generation without saying why."""

    name = "silent"

    async def agenerate(self, requests, sampling):
        return [Generation("", finish_reason="error", error=None if request.seed % 2 else "") for request in requests]


def test_an_error_generation_without_a_message_is_told_as_such():
    """The trajectory's error read 'policy error: None' (or 'policy error: ' for an empty error)."""
    tasks = [Task("games/GuessTheNumber-v0", 0)]
    result = rollout(SilentError(), tasks, RolloutConfig(group_size=2, sampling=SamplingParams(seed=1)), progress=False)
    for trajectory in result.trajectories:
        assert trajectory.error == ("policy error: silent returned an error Generation (finish_reason 'error') "
                                    "without saying why (its error is empty)"), trajectory.error
    assert result.stats["error_kinds"] == {"policy": 2}


class Failing(Policy):
    """Every call raises: each batch's requests get error generations."""

    name = "failing"

    def __init__(self):
        self.batch_sizes: list[int] = []

    async def agenerate(self, requests, sampling):
        self.batch_sizes.append(len(requests))
        raise ConnectionError("server down")


def test_the_mean_batch_size_counts_the_requests_of_each_policy_call():
    """stats['mean_batch_size'] divided the turns played by the policy calls: 4 requests in one
    failed call were 'a mean batch size of 0.0'."""
    policy = Failing()
    tasks = [Task("games/GuessTheNumber-v0", s) for s in range(4)]
    result = rollout(policy, tasks, RolloutConfig(sampling=SamplingParams(seed=0)), progress=False)
    assert policy.batch_sizes == [4] and result.stats["policy_calls"] == 1
    assert result.stats["mean_batch_size"] == 4.0


@pytest.mark.parametrize("seed", [-1, np.int64(-3)])
def test_a_negative_task_seed_is_refused_when_the_task_is_made(seed):
    """Task(..., seed=-1) was taken, and every episode of it then failed with 'environment raised
    ConfigError: ....reset: seed must be at least 0', counted as the environment's error."""
    with pytest.raises(ValueError, match=r"Task seed must be a non-negative integer .*got -\d"):
        Task("games/GuessTheNumber-v0", seed)
    assert Task("games/GuessTheNumber-v0", 0).seed == 0


def test_a_request_with_an_image_cancelled_while_it_waits_is_forgotten_and_the_others_wait_on():
    """An episode cancelled while its request waited for a batch (its episode timeout, a rollout
    stopping) was looked up in the waiting list by equality: requests holding images compared
    their arrays, which raised 'ValueError: The truth value of an array ... is ambiguous' in
    place of the cancellation (the episode failed as 'environment raised ValueError', its
    request left waiting)."""
    from agentgym.policies.base import Request
    from agentgym.rollout.batcher import GenerationBatcher

    def request():
        image = np.zeros((4, 4, 3), dtype=np.uint8)
        return Request([{"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "image", "image": image}]}])

    async def scenario():
        batcher = GenerationBatcher(ScriptedPolicy(["a"]), SamplingParams(seed=0), lockstep=True)
        for _ in range(3):  # three live episodes: the third is busy with its environment, no batch yet
            batcher.episode_started()
        first = asyncio.create_task(batcher.generate(request()))
        second = asyncio.create_task(batcher.generate(request()))
        await asyncio.sleep(0)
        second.cancel()
        outcome = (await asyncio.gather(second, return_exceptions=True))[0]
        waiting = len(batcher._pending)
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        return outcome, waiting

    outcome, waiting = asyncio.run(scenario())
    assert isinstance(outcome, asyncio.CancelledError), repr(outcome)
    assert waiting == 1


async def _async_callback(trajectory):
    raise AssertionError("never called")


@pytest.mark.parametrize("on_episode, named", [(_async_callback, "coroutine function"), ("log", "'log'")])
def test_an_on_episode_that_cannot_be_called_with_a_trajectory_is_refused_before_any_episode(tmp_path, on_episode,
                                                                                              named):
    """An async on_episode was called and its coroutine never awaited: it never ran (a
    RuntimeWarning aside) and the rollout went on as if it had; one that is not callable stopped
    the rollout when the first episode ended ('str' object is not callable)."""
    path = tmp_path / "t.jsonl"
    with pytest.raises(TypeError, match=f"on_episode must be a function .*{named}"):
        rollout(ScriptedPolicy([], then="5"), [Task("games/GuessTheNumber-v0", 0)], progress=False,
                on_episode=on_episode, trajectories_path=path)
    assert not path.exists()


class Picture(LLMEnv):
    """Shows only an image: its observations are ``{"image": array}``, with no text."""

    def new_episode(self, options):
        return {"image": np.zeros((4, 4, 3), np.uint8)}

    def play(self, action):
        return Feedback({"image": np.full((4, 4, 3), 9, np.uint8)}, {"outcome": 1.0}, terminated=True, success=True)


agentgym.register("explore12/Picture-v0", Picture, max_turns=3)


def test_an_observation_of_an_image_without_text_is_played_as_the_chat_history_shows_it():
    """The chat history shows an observation without "text" as an empty text beside the image;
    the engine read observation["text"] and failed the episode with 'environment raised
    KeyError: 'text''."""
    trajectory = rollout(ScriptedPolicy([], then="a cat"), [Task("explore12/Picture-v0", 0)],
                         progress=False).trajectories[0]
    assert trajectory.error is None and trajectory.success and len(trajectory.turns) == 1
    turn = trajectory.turns[0]
    assert turn.observation == "" and turn.observation_image.shape == (4, 4, 3)
    assert trajectory.messages[1]["content"][1]["type"] == "image"


@pytest.mark.parametrize("policy, advice", [("random", r"make_policy\('random'\)"), (None, "None"),
                                            (len, "built-in function len")])
def test_a_policy_that_is_no_policy_is_a_type_error_naming_it(tmp_path, policy, advice):
    """rollout('random', tasks) (a policy spec, as the command line takes) raised
    "AttributeError: 'str' object has no attribute 'tokenizer'"."""
    path = tmp_path / "t.jsonl"
    with pytest.raises(TypeError, match=f"policy must be a Policy .*{advice}"):
        rollout(policy, [Task("games/GuessTheNumber-v0", 0)], progress=False, trajectories_path=path)
    assert not path.exists()
