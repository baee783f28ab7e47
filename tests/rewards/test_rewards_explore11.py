"""Exploratory round 11 of the reward providers: hostile and unusual inputs."""

from __future__ import annotations

import pytest

from agentgym import Feedback, LLMEnv, Tool
from agentgym.core import ConfigError
from agentgym.policies.scripted import ScriptedPolicy
from agentgym.rewards import RubricJudge, ToolCallCost, ToolRLReward, ToolUseShaping
from agentgym.rewards.judge import Criterion, parse_scores
from agentgym.rewards.shapley import ShapleyInformationGain, shapley_monte_carlo
from agentgym.trajectory import json_safe
from agentgym.wrappers import ToolCalling
from tests.credit.builders import build_trajectory


@pytest.mark.parametrize("reply, expected", [
    ("style: 5/10\nstyle consistency: 8/10", {"style": 0.5, "style consistency": 0.8}),
    ("Style: 5/10\nStyle-consistency: 9/10", {"style": 0.5, "style consistency": 0.9}),
    ("The style is 5/10 and the style consistency is 9/10.", {"style": 0.5, "style consistency": 0.9}),
], ids=["lines", "spelt apart", "prose"])
def test_a_criterion_named_inside_a_longer_one_reads_its_own_score(reply, expected):
    # 'style' matched the start of 'style consistency: 8/10' too, and the last match won: in the
    # order the judge is asked to reply, style took style consistency's score.
    criteria = [Criterion("style", "s"), Criterion("style consistency", "c")]
    parsed = parse_scores(reply, criteria)
    assert parsed.scores == pytest.approx(expected)
    assert parsed.ok


def test_a_score_is_not_read_across_another_criterions_name():
    # The judge declined to grade accuracy, and accuracy took clarity's 8/10 (a full judgement).
    criteria = [Criterion("accuracy", "a"), Criterion("clarity", "c")]
    parsed = parse_scores("accuracy: not graded; clarity: 8/10", criteria)
    assert parsed.scores == {"clarity": pytest.approx(0.8)}
    assert parsed.missing == ("accuracy",)


class _Adder(LLMEnv):
    """One tool, ``add``; any answer ends the episode."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.tools = (Tool("add", "Add two numbers.", lambda a, b: a + b,
                           {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                            "required": ["a", "b"]}),)

    def new_episode(self, options):
        return "Add things."

    def play(self, action):
        return Feedback("Done.", {"outcome": 0.0}, terminated=True)


def _tool_turn(action: str, **wrapper_options):
    env = ToolCalling(_Adder(), **wrapper_options)
    env.reset(seed=0)
    _, _, _, _, info = env.step(action)
    trajectory = build_trajectory([0.0], text_only=True)
    trajectory.turns[0].info = json_safe({k: v for k, v in info.items() if k not in ("reward_components", "error")})
    return trajectory


def test_tool_call_cost_prices_every_call_past_the_per_action_cap():
    # ToolCalling records the calls past max_calls_per_action as one refused result: 10 calls
    # under a cap of 2 cost 3 calls, so spamming calls past the cap was nearly free.
    call = '<tool_call>{"name": "add", "arguments": {"a": 1, "b": 2}}</tool_call>'
    trajectory = _tool_turn(call * 10, max_calls_per_action=2)
    assert trajectory.turns[0].info["tool_calls_refused"] == 8
    assert ToolCallCost(0.1).score([trajectory]) == [[pytest.approx(-1.0)]]
    assert ToolCallCost(0.1, costs={"add": 0.5}).score([trajectory]) == [[pytest.approx(-1.5 - 0.7)]]
    within_cap = _tool_turn(call * 2, max_calls_per_action=2)
    assert ToolCallCost(0.1).score([within_cap]) == [[pytest.approx(-0.2)]]


@pytest.mark.parametrize("max_exact", [16, 1], ids=["exact", "monte carlo"])
def test_shapley_belief_is_called_once_per_coalition(max_exact):
    # The documented 2^n calls were 2^n + 2: v(∅) and v(all facts) were asked again for
    # metadata['shapley_belief'] (a belief that queries a model paid twice more per episode).
    calls = []

    def belief(revealed, answer, trajectory):
        calls.append(frozenset(revealed))
        return len(revealed) / 4

    trajectory = build_trajectory([0.0, 0.0], text_only=True)
    trajectory.metadata["reference_answer"] = "A"
    trajectory.turns[0].info["revealed"] = {"x": 1}
    trajectory.turns[1].info["revealed"] = {"y": 2, "z": 3}
    values = ShapleyInformationGain(belief, max_exact=max_exact, permutations=50).score([trajectory])
    assert values == [[pytest.approx(0.25), pytest.approx(0.5)]]
    assert len(calls) == len(set(calls)) == 8
    assert trajectory.metadata["shapley_belief"] == {"before": 0.0, "after": 0.75}


def test_tool_use_shaping_and_toolrl_count_every_call_past_the_per_action_cap_as_a_failure():
    # The refused calls were one failed call, whatever their number: 10 calls under a cap of 2
    # scored 2 successes and 1 failure, and ToolRL's error penalty was paid once.
    call = '<tool_call>{"name": "add", "arguments": {"a": 1, "b": 2}}</tool_call>'
    trajectory = _tool_turn(call * 10, max_calls_per_action=2)
    shaping = ToolUseShaping(called=1.0, succeeded=10.0, failed=-100.0)
    assert shaping.score([trajectory]) == [[pytest.approx(10 * 1.0 + 2 * 10.0 + 8 * -100.0)]]
    trajectory.metadata["gold_tool_calls"] = [{"name": "add", "arguments": {"a": 1, "b": 2}}]
    no_penalty = ToolRLReward().score([trajectory])[0][0]
    assert ToolRLReward(error_penalty=0.5).score([trajectory]) == [[pytest.approx(no_penalty - 8 * 0.5)]]


@pytest.mark.parametrize("options, named", [
    ({"sampling": {"max_tokens": 64, "temperature": 0.0}}, "sampling"),
    ({"instructions": None}, "instructions"),
], ids=["sampling as a dict", "instructions None"])
def test_rubric_judge_refuses_settings_of_the_wrong_type_when_built(options, named):
    # A dict for sampling was taken, and every judgement then failed at generation ("the judge
    # failed: AttributeError: 'dict' object has no attribute 'max_tokens'"): recorded, never
    # raised, so training ran without the judge's reward. instructions=None: AttributeError.
    with pytest.raises(ConfigError, match=named):
        RubricJudge(ScriptedPolicy(["correctness: 7/10"]), [Criterion("correctness", "c")], **options)


@pytest.mark.parametrize("seed", [None, [1]], ids=["None", "list"])
def test_shapley_seed_must_be_an_integer(seed):
    # seed=None drew the Monte-Carlo orderings from the OS (a different reward on every call,
    # though the estimate is documented as seeded); seed=[1] was taken and raised TypeError
    # only when an episode first revealed more than max_exact facts.
    with pytest.raises(ValueError, match="seed"):
        ShapleyInformationGain(lambda revealed, answer, trajectory: 0.0, seed=seed)
    with pytest.raises(ValueError, match="seed"):
        shapley_monte_carlo(["a", "b"], len, seed=seed)
