"""Hostile inputs for the reward providers: values that are not finite numbers, settings that
are NaN, huge episodes (linear time), half-written batches."""

from __future__ import annotations

import math
import time

import pytest

from agentgym.rewards import (
    CombinedReward,
    FormatPenalty,
    RedundancyPenalty,
    RetrievalRedundancyPenalty,
    RewardProvider,
    SearchCost,
    SearchFormatReward,
    ToolCallCost,
    ToolRLReward,
    ToolUseShaping,
    write_component,
)
from agentgym.rewards.search import answer_in_growing_text, answer_in_text
from agentgym.trajectory import Trajectory, Turn


class Fixed(RewardProvider):
    """Returns ``values`` for every trajectory (one list per trajectory, given as is)."""

    def __init__(self, values, name: str = "fixed") -> None:
        self.values, self.name = values, name

    def score(self, trajectories):
        return [list(self.values) for _ in trajectories]


def episode(turns: int = 2) -> Trajectory:
    return Trajectory(task_id="t", turns=[Turn(i, "obs", "act", reward=0.0) for i in range(turns)])


# ------------------------------------------------------------------ values a provider writes

@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "0.5", True, [1.0]])
def test_a_provider_value_that_is_not_a_finite_number_is_refused_naming_the_component_and_turn(bad):
    batch = [episode(), episode()]
    with pytest.raises(ValueError, match=r"fixed: trajectory 0, turn 1: .* not a finite number"):
        Fixed([0.5, bad])(batch)
    assert all(turn.reward == 0.0 and not turn.reward_components for t in batch for turn in t.turns)


def test_a_weight_times_a_value_that_overflows_is_refused():
    with pytest.raises(ValueError, match="not a finite number"):
        write_component([episode(1)], "big", [[1e308]], weight=10.0)


def test_per_turn_values_that_are_not_a_list_are_refused_naming_the_trajectory():
    class NoneForSecond(RewardProvider):
        name = "broken"

        def score(self, trajectories):
            return [[0.1, 0.1], None]

    with pytest.raises(ValueError, match=r"broken: trajectory 1: .*list of per-turn values"):
        NoneForSecond()([episode(), episode()])


def test_combined_reward_writes_nothing_when_one_provider_returns_garbage():
    batch = [episode(), episode()]
    with pytest.raises(ValueError, match="second"):
        CombinedReward([Fixed([0.1, 0.2], name="first"), Fixed([0.1, math.nan], name="second")])(batch)
    assert all(turn.reward == 0.0 and not turn.reward_components for t in batch for turn in t.turns)
    assert all("reward_weights" not in t.metadata for t in batch)


# ------------------------------------------------------------------ settings

@pytest.mark.parametrize("make", [
    lambda: ToolCallCost(math.nan), lambda: ToolCallCost(0.1, costs={"search": math.nan}),
    lambda: RedundancyPenalty(math.nan), lambda: FormatPenalty(math.nan), lambda: FormatPenalty(math.inf),
    lambda: RetrievalRedundancyPenalty(math.nan), lambda: SearchCost(math.nan),
    lambda: SearchCost(0.1, unnecessary_penalty=math.nan), lambda: SearchCost("0.1"),
    lambda: ToolUseShaping(failed=math.nan), lambda: ToolUseShaping(succeeded=math.inf),
    lambda: SearchFormatReward(1, retrieve_reward=math.nan), lambda: SearchFormatReward(format_penalty=math.nan),
    lambda: ToolRLReward(error_penalty=math.nan), lambda: ToolRLReward(format_reward=math.inf),
])
def test_a_setting_that_is_not_a_finite_number_is_refused_when_built(make):
    # NaN < 0 is False: these were accepted and wrote NaN into every reward
    with pytest.raises(ValueError):
        make()


# ------------------------------------------------------------------ search cost in linear time

def test_search_cost_is_linear_in_the_episode_text():
    def searched(turns: int, chars: int) -> Trajectory:
        text = "lorem ipsum dolor sit amet " * (chars // 27)
        return Trajectory(instructions="Find the zebra's owner.", metadata={"reference_answer": "Norway"},
                          turns=[Turn(i, text, "<search>x</search>", info={"retrieved": ["d1"]})
                                 for i in range(turns)])

    def seconds(trajectory: Trajectory) -> float:
        start = time.perf_counter()
        SearchCost().score([trajectory])
        return time.perf_counter() - start

    small, large = seconds(searched(20, 20_000)), seconds(searched(160, 20_000))
    # 8x the turns: 8x the work when linear, 64x when every turn renormalises the whole context
    assert large < 20 * max(small, 1e-3), (small, large)


def test_search_cost_finds_the_answer_across_observation_boundaries_as_before():
    turns = [Turn(0, "The capital of", "<search>a</search>", info={"retrieved": ["d"]}),
             Turn(1, "New", "<search>b</search>", info={"retrieved": ["d"]}),
             Turn(2, "Zealand, is it?", "<search>c</search>", info={"retrieved": ["d"]}),
             Turn(3, "", "<search>d</search>", info={"retrieved": ["d"]})]
    given = Trajectory(instructions="Q", turns=turns, metadata={"reference_answer": "New Zealand"})
    assert SearchCost(0.1, unnecessary_penalty=1.0).score([given]) == [
        [pytest.approx(-0.1), pytest.approx(-0.1), pytest.approx(-1.1), pytest.approx(-1.1)]]
    for k in range(len(turns)):  # the reference definition: the whole context, normalised at once
        context = "\n".join(["Q", *(turn.observation for turn in turns[:k + 1])])
        assert answer_in_text(["New Zealand"], context) == (k >= 2)


@pytest.mark.parametrize("seed", range(30))
def test_answer_in_growing_text_agrees_with_normalising_each_whole_context(seed):
    import random

    rng = random.Random(seed)
    words = ["New", "Zealand", "the", "A", "new-zealand", "Zealand.", "", "\n", "an", "NEW", ",", "zea", "land", "Σ"]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 4))) for _ in range(rng.randint(1, 8))]
    answers = rng.choice([["New Zealand"], ["the New Zealand", "zealand new"], ["a"], ["land"], ["Σ zea"]])
    expected = [answer_in_text(answers, "\n".join(texts[:k + 1])) for k in range(len(texts))]
    assert answer_in_growing_text(answers, texts) == expected, (texts, answers)


# ------------------------------------------------------------------ ToolRL gold calls

@pytest.mark.parametrize("gold", [
    [{"arguments": {"q": 1}}],                                   # no name: was KeyError: 'name'
    ["search"],                                                  # was AttributeError on 'str'
    [[{"name": "search", "arguments": {}}], {"name": "t", "arguments": {}}],   # per-turn and flat mixed
    [{"name": ["search"], "arguments": {}}],                     # was TypeError: unhashable type: 'list'
])
def test_malformed_gold_calls_are_refused_naming_the_metadata_key_and_trajectory(gold):
    done = Turn(0, "o", "a", info={"tool_results": [{"name": "search", "arguments": {}, "ok": True}]})
    batch = [Trajectory(turns=[done]), Trajectory(turns=[done], metadata={"gold_tool_calls": gold})]
    with pytest.raises(ValueError, match=r"trajectory 1: metadata\['gold_tool_calls'\]"):
        ToolRLReward().score(batch)


# ------------------------------------------------------------------ CombinedReward's arguments

def test_combined_reward_takes_numpy_weights_and_refuses_bools():
    import numpy as np

    batch = [episode(2)]
    CombinedReward([(Fixed([1.0, 2.0], name="a"), np.float32(0.5))])(batch)  # was "must be finite, got 0.5"
    assert [turn.reward_components["a"] for turn in batch[0].turns] == [0.5, 1.0]
    with pytest.raises(ValueError, match="weight"):
        CombinedReward([(Fixed([1.0, 2.0]), True)])


@pytest.mark.parametrize("item", [lambda trajectories: None, (Fixed([1.0]), 1.0, "extra"), "format",
                                  (1.0, Fixed([1.0]))])
def test_combined_reward_refuses_what_is_not_a_provider_or_a_provider_and_weight(item):
    # was AttributeError: 'function' object has no attribute 'name', or an unpacking error
    with pytest.raises(ValueError, match=r"providers\[0\]"):
        CombinedReward([item])


# ------------------------------------------------------------------ the final answer in linear time

def test_final_answer_of_a_degenerate_repetition_is_found_in_linear_time():
    from agentgym.rewards.search import final_answer

    def seconds(n: int) -> float:
        trajectory = Trajectory(turns=[Turn(0, "o", "<answer>" * n)])  # an unclosed tag repeated
        start = time.perf_counter()
        assert final_answer(trajectory) is None
        return time.perf_counter() - start

    small, large = seconds(2_000), seconds(16_000)
    # 8x the text: 8x the time when linear; the lazy regex retried every start: 64x (and 13 s)
    assert large < 20 * max(small, 1e-3), (small, large)


@pytest.mark.parametrize("action", [
    "<answer>A</answer></answer>", "<answer>A<answer>B</answer>", "x <answer> a </answer> y <answer>\nb\n</answer>",
    "<answer></answer>", "<answer>a</answer><answer>", "</answer><answer>q</answer>", "no tags", "<answer>open",
])
def test_final_answer_keeps_the_last_block_as_the_regex_found_it(action):
    import re

    from agentgym.rewards.search import final_answer

    blocks = re.findall(r"<answer>(.*?)</answer>", action, re.DOTALL)
    expected = blocks[-1].strip() if blocks else None
    assert final_answer(Trajectory(turns=[Turn(0, "o", action)])) == expected
