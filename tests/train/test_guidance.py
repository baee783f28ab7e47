"""Guidance (agentgym.train.guidance): failed groups, the hint ladder, hint-free rebuilds."""

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

import agentgym
from agentgym.policies.base import SamplingParams
from agentgym.policies.hf import HFPolicy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.train.guidance import HintLadder, HintStripError, failed_groups, strip_hints
from agentgym.trajectory import Trajectory, Turn
from agentgym.wrappers import WrapperSpec
from policies.scripted import ScriptedPolicy
from tests.rollout.chat_tokenizers import llama3_style_tokenizer

GAME = "games/GuessTheNumber-v0"


def _trajectory(group, success, reward):
    return Trajectory(group_id=group, success=success, turns=[Turn(0, "o", "a", reward=reward)])


def test_failed_groups_are_those_where_nobody_succeeded_or_scored():
    batch = [_trajectory("a", False, 0.0), _trajectory("a", False, 0.0), _trajectory("b", False, 0.0),
             _trajectory("b", True, 1.0), _trajectory("c", False, 0.5), _trajectory("c", False, -1.0)]
    assert failed_groups(batch) == ["a"]
    assert failed_groups(batch, threshold=0.5) == ["a", "c"]


def test_the_ladder_climbs_with_patience_and_starts_over_once_solved():
    ladder = HintLadder(levels=(1, 2, 3), patience=2)
    seen = []
    for _ in range(6):
        seen.append(ladder.level_for("t"))
        ladder.failed_with_hints("t")
    assert seen == [1, 1, 2, 2, 3, 3] and ladder.level_for("other") == 1
    ladder.solved("t")
    assert ladder.level_for("t") == 1
    ladder.load_state({"t": 2})
    assert ladder.level_for("t") == 2 and ladder.state() == {"t": 2}


@pytest.mark.parametrize("bad", [dict(levels=()), dict(levels=(2, 1)), dict(levels=(4,)), dict(patience=0)])
def test_the_ladder_refuses_bad_settings(bad):
    with pytest.raises(ValueError, match="HintLadder"):
        HintLadder(**bad)


class ScriptedTokens(HFPolicy):
    """Replies with a fixed script, as token ids with log-probs (what a sampler returns)."""

    def __init__(self, model, tokenizer, replies):
        super().__init__(model, tokenizer, name="scripted-tokens")
        self.script = ScriptedPolicy(replies)

    async def agenerate(self, requests, sampling):
        texts = await self.script.agenerate(requests, sampling)
        out = []
        for request, text in zip(requests, texts):
            ids = self.tokenizer.encode(text.text, add_special_tokens=False) + [self.tokenizer.eos_token_id]
            logprobs = [-0.5 - 0.01 * i for i in range(len(ids))]
            out.append(type(text)(text.text, ids, logprobs, list(request.prompt_token_ids)))
        return out


def _oracle_moves(seed):
    env = agentgym.make(GAME)
    env.reset(seed=seed)
    moves, done = [], False
    while not done:
        moves.append(env.unwrapped.oracle_action())
        *_, terminated, truncated, _ = env.step(moves[-1])
        done = terminated or truncated
    env.close()
    return moves


def _played(tokenizer, moves, seed, wrappers=()):
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32,
                                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1))
    config = RolloutConfig(wrappers=tuple(wrappers), sampling=SamplingParams(max_tokens=16))
    policy = ScriptedTokens(model.eval(), tokenizer, moves)
    return rollout(policy, [Task(GAME, seed)], config, progress=False).trajectories[0]


@pytest.mark.parametrize("level", [1, 3])
def test_a_hinted_episode_rebuilt_without_hints_is_the_episode_played_without_them(level):
    tokenizer = llama3_style_tokenizer()
    moves = _oracle_moves(seed=7)
    assert len(moves) >= 3
    hinted = _played(tokenizer, moves, 7, [WrapperSpec("Hinted", {"level": level})])
    plain = _played(tokenizer, moves, 7)
    assert hinted.token_exact and plain.token_exact and hinted.success
    assert "Hint: " in tokenizer.decode(hinted.token_ids)
    stripped = strip_hints(hinted, tokenizer)
    assert stripped.token_ids == plain.token_ids  # token for token, what the policy sees without hints
    assert stripped.messages == plain.messages and stripped.prompt_length == plain.prompt_length
    for ours, theirs, original in zip(stripped.turns, plain.turns, hinted.turns):
        assert (ours.action_span, ours.observation_span) == (theirs.action_span, theirs.observation_span)
        assert ours.observation == theirs.observation and ours.logprobs == original.logprobs
        start, end = ours.action_span
        assert stripped.token_ids[start:end] == hinted.token_ids[slice(*original.action_span)]
    assert stripped.metadata["hints_stripped"] and "hints_stripped" not in hinted.metadata


def test_what_cannot_be_rebuilt_is_refused():
    with pytest.raises(HintStripError, match="text-only"):
        strip_hints(Trajectory(turns=[Turn(0, "o", "a")]), llama3_style_tokenizer())


def test_every_process_keeps_the_ladder_one_process_would(monkeypatch):
    """Under torch.distributed each process sees its share of the groups; each kept a ladder of
    its own (and only rank 0's was checkpointed). The ladder's moves are now gathered: a task
    solved on one process and failing even with hints on another climbs on both, as it does
    for one process playing both groups. (Two "processes" as threads; the gather is the glue.)"""
    import threading

    import agentgym.train.distributed as distributed
    from agentgym.train.config import GuidanceSection
    from agentgym.train.guidance import Guide

    shares: list = [None, None]
    barrier = threading.Barrier(2)
    rank_of = threading.local()

    def gather(value):  # all_gather_object between the two threads, in rank order
        if not hasattr(rank_of, "rank"):  # the one process playing every group
            return [value]
        shares[rank_of.rank] = value
        barrier.wait()
        gathered = list(shares)
        barrier.wait()
        return gathered

    monkeypatch.setattr(distributed, "gather", gather)
    monkeypatch.setattr(Guide, "_guided", lambda self, failed, by_group, step: (
        {}, 0, [by_group[group].label for group in failed]))  # every hinted replay fails again
    section = GuidanceSection(enabled=True, levels=[1, 2], patience=1)
    tasks = [Task(GAME, 0), Task(GAME, 1)]
    groups = {0: [_trajectory(f"{GAME}#0", False, 0.0)], 1: [_trajectory(f"{GAME}#1", True, 1.0)]}

    def one_process(*shares_of_groups):
        guide = Guide(section, play=None, tokenizer=None)
        for share in shares_of_groups:
            guide([t for rank in share for t in groups[rank]], tasks, 0, {})
        return guide.ladder.state()

    alone = one_process([0, 1])  # solved on seed 1, failing with hints on seed 0: one step up
    assert alone == {GAME: 1}
    ladders = [None, None]

    def rank(index):
        rank_of.rank = index
        ladders[index] = one_process([index])

    threads = [threading.Thread(target=rank, args=(index,)) for index in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert ladders == [alone, alone]
