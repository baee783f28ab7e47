"""Exploratory round 14 of the reward providers: hostile and unusual inputs."""

from __future__ import annotations

import warnings

import pytest
import torch

from agentgym import Feedback, LLMEnv, Tool
from agentgym.rewards import RedundancyPenalty, ToolRLReward
from agentgym.rewards.redundancy import tool_call_keys
from agentgym.rewards.answer_scoring import AnswerQuery, answer_log_probs, answer_log_probs_brute_force
from agentgym.rewards.judge import Criterion, parse_scores
from agentgym.rewards.toolrl import correctness_reward
from agentgym.trajectory import Trajectory, Turn, json_safe
from agentgym.wrappers import ToolCalling
from tests.credit.builders import build_trajectory


class _Tools(LLMEnv):
    """Two tools: ``stop``, taking no arguments, and ``add``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.tools = (Tool("stop", "Stop.", lambda: "stopped", {"type": "object", "properties": {}}),
                      Tool("add", "Add two numbers.", lambda a, b: a + b,
                           {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                            "required": ["a", "b"]}))

    def new_episode(self, options):
        return "Stop."

    def play(self, action):
        return Feedback("Done.", {"outcome": 0.0}, terminated=True)


def _tool_turn(action: str, index: int = 0, **wrapper_options) -> Turn:
    """The turn ToolCalling records for ``action``."""
    env = ToolCalling(_Tools(), **wrapper_options)
    env.reset(seed=0)
    _, _, _, _, info = env.step(action)
    turn = build_trajectory([0.0], text_only=True).turns[0]
    turn.index = index
    turn.info = json_safe({k: v for k, v in info.items() if k not in ("reward_components", "error")})
    return turn


def _tool_trajectory(action: str, gold):
    return Trajectory(turns=[_tool_turn(action)], metadata={"gold_tool_calls": gold})


@pytest.mark.parametrize("arguments", ['[1]', r'"\"now\""', '7'], ids=["array", "string", "number"])
def test_toolrl_arguments_that_are_not_an_object_do_not_match_gold_calls(arguments):
    # stop() called with arguments [1]: the tool refused them, and ToolRL read them as no arguments,
    # an exact match of the gold stop() (R_max 3, the same reward as the right call).
    gold = [{"name": "stop", "arguments": {}}]
    wrong = _tool_trajectory(f'<tool_call>{{"name": "stop", "arguments": {arguments}}}</tool_call>', gold)
    assert wrong.turns[0].info["tool_results"][0]["ok"] is False
    right = _tool_trajectory('<tool_call>{"name": "stop", "arguments": {}}</tool_call>', gold)
    reward = ToolRLReward()
    assert reward.score([right]) == [[pytest.approx(1.0 + 3.0)]]
    # r_name 1, no key or value matched, S_max 2: R_correct = 6 * 1/2 - 3 = 0
    assert reward.score([wrong]) == [[pytest.approx(1.0 + 0.0)]]
    assert correctness_reward(gold, [{"name": "stop", "arguments": [1]}]) == pytest.approx(0.0)
    # absent or null arguments are no arguments, as ToolCalling reads them
    assert correctness_reward(gold, [{"name": "stop"}]) == 3.0
    assert correctness_reward(gold, [{"name": "stop", "arguments": None}]) == 3.0


@pytest.mark.parametrize("written", ["0,8", "1,000", "1e3", "2.5E2", "8.5.1", "−1"])
def test_a_score_is_never_read_from_part_of_the_number_written(written):
    # 'correctness: 0,8' (a decimal comma) read 0 and '1,000' or '1e3' read 1 (0.1), a full
    # judgement from part of the number; '−1' (a minus sign) read 1. They are refused instead.
    parsed = parse_scores(f"Correctness: {written}\nclarity: 9/10", [Criterion("correctness", "c"),
                                                                   Criterion("clarity", "k")])
    assert parsed.scores == {"clarity": pytest.approx(0.9)}
    assert parsed.missing == ("correctness",)
    assert parsed.problems and repr(written) in parsed.problems[0]
    single = parse_scores(written, ["correctness"])
    assert single.missing == ("correctness",)
    assert parse_scores(f'{{"correctness": "{written}"}}', ["correctness"]).missing == ("correctness",)


@pytest.mark.parametrize("reply, expected", [
    ("correctness: 8/10, clarity: 7/10", (0.8, 0.7)),
    ("correctness: 0.8. clarity: 7.", (0.8, 0.7)),
    ("correctness: 80%, clarity: 7 out of 10", (0.8, 0.7)),
])
def test_scores_followed_by_punctuation_still_read(reply, expected):
    parsed = parse_scores(reply, ["correctness", "clarity"])
    assert (parsed.scores["correctness"], parsed.scores["clarity"]) == pytest.approx(expected)


def test_calls_refused_past_the_cap_are_not_queries_repeated_by_the_next_refusal():
    # ToolCalling records the calls past max_calls_per_action as one result named after the first
    # refused call, with arguments {}: six distinct additions over two turns cost a repeat.
    def add(a, b):
        return f'<tool_call>{{"name": "add", "arguments": {{"a": {a}, "b": {b}}}}}</tool_call>'

    turns = [_tool_turn(add(1, 2) + add(3, 4) + add(5, 6), 0, max_calls_per_action=2),
             _tool_turn(add(7, 8) + add(9, 10) + add(11, 12), 1, max_calls_per_action=2)]
    assert turns[1].info["tool_calls_refused"] == 1
    assert RedundancyPenalty(1.0).score([Trajectory(turns=turns)]) == [[0.0, 0.0]]
    # a query that ran and is sent again still costs the penalty
    again = [turns[0], _tool_turn(add(1, 2) + add(13, 14) + add(15, 16), 1, max_calls_per_action=2)]
    assert RedundancyPenalty(1.0).score([Trajectory(turns=again)]) == [[0.0, -1.0]]
    assert [key[0] for key in tool_call_keys(turns[0])] == ["add", "add"]


def _alibi_model(kind: str):
    import transformers

    config, model = {
        "bloom": (lambda: transformers.BloomConfig(vocab_size=300, hidden_size=64, n_layer=2, n_head=4,
                                                   initializer_range=0.3), "BloomForCausalLM"),
        "mpt": (lambda: transformers.MptConfig(vocab_size=300, d_model=64, n_layers=2, n_heads=4,
                                               initializer_range=0.3), "MptForCausalLM"),
        "falcon-alibi": (lambda: transformers.FalconConfig(vocab_size=300, hidden_size=64, num_hidden_layers=2,
                                                           num_attention_heads=4, alibi=True, initializer_range=0.3),
                         "FalconForCausalLM"),
    }[kind]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return getattr(transformers, model)(config()).eval()


@pytest.mark.parametrize("kind", ["bloom", "mpt", "falcon-alibi"])
def test_alibi_models_are_scored_right_or_not_at_all(kind):
    # ALiBi models take their positions from a 2D attention mask: the block pass raised a bare
    # 'too many values to unpack' (Bloom, Falcon with alibi) or, for MPT, returned log-probs off
    # by up to 0.16 nats in silence. They are scored by brute force, with a warning.
    model = _alibi_model(kind)
    queries = [AnswerQuery(list(range(10, 30)), [3, 10, 20], [5, 6, 7], 2),
               AnswerQuery(list(range(40, 50)), [10, 1], [8, 9], 1)]
    with pytest.warns(UserWarning, match="ALiBi"):
        values = answer_log_probs(model, queries, batch_size=2)
    one_by_one = [answer_log_probs_brute_force(model, [query], batch_size=1)[0] for query in queries]
    assert [len(v) for v in values] == [3, 2]
    for got, expected in zip(values, one_by_one):
        assert got == pytest.approx(expected, abs=1e-5)


def test_gpt_neo_local_attention_is_scored_like_brute_force():
    # GPT-Neo's local layers keep the keys within window_size cache slots of the query: the
    # block pass's copies, placed after the whole prefix, lost their context (0.7 nats off, in
    # silence). Global-only GPT-Neo still takes the block pass.
    from transformers import GPTNeoConfig, GPTNeoForCausalLM

    queries = [AnswerQuery(list(range(10, 30)), [3, 10, 20], [5, 6, 7], 2),
               AnswerQuery(list(range(40, 50)), [10, 1], [8, 9], 1)]
    for layers, warned in (([[["global", "local"], 1]], True), ([[["global"], 2]], False)):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = GPTNeoForCausalLM(GPTNeoConfig(vocab_size=300, hidden_size=64, num_layers=2, num_heads=4,
                                                   attention_types=layers, window_size=4,
                                                   initializer_range=0.3)).eval()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            values = answer_log_probs(model, queries, batch_size=2)
        assert any("local attention" in str(w.message) for w in caught) is warned
        one_by_one = [answer_log_probs_brute_force(model, [query], batch_size=1)[0] for query in queries]
        for got, expected in zip(values, one_by_one):
            assert got == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("reply", [
    "| Criterion | Weight | Score |\n|---|---|---|\n| correctness | 2 | 8/10 |\n| clarity | 1 | 7/10 |",
    "| **Criterion** | **Weight** | **Score (0-10)** |\n|:--|:-:|--:|\n| Correctness (weight 2) | 2 | 8 |\n"
    "| Clarity | 1 | 7 |\n\nOverall the answer is right.",
    "| Criterion | Score | Weight |\n| --- | --- | --- |\n| correctness | 8/10 | 2 |\n| clarity | 7/10 | 1 |",
], ids=["weight before score", "markup and asides", "weight after score"])
def test_a_table_with_a_weight_column_is_read_from_its_score_column(reply):
    # The prompt lists each criterion with its weight, and a judge that answered in a table with a
    # Weight column had the weight read as the score: correctness 2 -> 0.2 instead of 8/10.
    parsed = parse_scores(reply, [Criterion("correctness", "c", 2.0), Criterion("clarity", "k")])
    assert parsed.scores == pytest.approx({"correctness": 0.8, "clarity": 0.7})
    assert parsed.ok


@pytest.mark.parametrize("reply", [
    "correctness, weight 2: 8/10\nclarity, weight 1: 7/10",
    "Correctness — weight 2 — 8/10\nClarity — weight: 1 — 7/10",
    "correctness (weight 2): 8/10\nclarity weight=1.5 score 7/10",
])
def test_a_weight_echoed_before_the_score_is_not_the_score(reply):
    # The prompt lists '- correctness (weight 2): ...'; echoed without the brackets, the weight
    # was read as the score (correctness 2 -> 0.2 instead of 8/10).
    parsed = parse_scores(reply, [Criterion("correctness", "c", 2.0), Criterion("clarity", "k", 1.5)])
    assert parsed.scores == pytest.approx({"correctness": 0.8, "clarity": 0.7})
