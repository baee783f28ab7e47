"""Format, tool-use, redundancy and cost rewards on trajectories from the rollout engine."""

import copy

import pytest

import agentgym
from agentgym import Feedback, InvalidAction, LLMEnv, Tool, ToolError
from agentgym.policies.scripted import ScriptedPolicy
from agentgym.rewards import (
    CombinedReward,
    FormatPenalty,
    RedundancyPenalty,
    ToolCallCost,
    ToolUseShaping,
    action_error_kind,
)
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.trajectory import Trajectory
from agentgym.wrappers import AnswerFormat, ToolCalling

CAPITALS = {"capital of france": "Paris", "capital of italy": "Rome"}


def lookup(query: str) -> str:
    try:
        return CAPITALS[" ".join(query.lower().split())]
    except KeyError:
        raise ToolError(f"nothing found for {query!r}") from None


class CapitalQuiz(LLMEnv):
    instructions = "Use the lookup tool to find the capital of France, then reply with the city."
    tools = (Tool("lookup", "Look up a fact.", lookup,
                  {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}),)

    def new_episode(self, options):
        return "What is the capital of France?"

    def play(self, action):
        if not action.strip():
            raise InvalidAction("reply with a city name.")
        won = action.strip().lower() == "paris"
        return Feedback("Correct." if won else "Wrong.", {"outcome": float(won)}, terminated=True, success=won)


agentgym.register("testing/RewardsCapitalQuiz-v0", CapitalQuiz, max_turns=10)


def call(name: str, arguments: str) -> str:
    return f'<tool_call>{{"name": "{name}", "arguments": {arguments}}}</tool_call>'


SCRIPT = [
    call("lookup", '{"query": "capital of France"}'),                                        # 0: succeeds
    call("lookup", '{"query": "  Capital of   FRANCE "}'),                                   # 1: same query again
    call("lookup", '{"query": "capital of Mars"}') + call("search", '{"query": "Mars"}'),   # 2: two failures
    '<tool_call>{"name": "lookup", "arguments": </tool_call>',                                # 3: malformed markup
    "   ",                                                                                    # 4: refused move
    "Paris",                                                                                  # 5: the answer
]


@pytest.fixture(scope="module")
def quiz_trajectory_dict():
    config = RolloutConfig(wrappers=(ToolCalling,))
    (trajectory,) = rollout(ScriptedPolicy(SCRIPT), [Task("testing/RewardsCapitalQuiz-v0", 0)], config,
                            progress=False).trajectories
    assert len(trajectory.turns) == 6 and trajectory.success
    return trajectory.to_dict()


@pytest.fixture
def quiz(quiz_trajectory_dict):
    return Trajectory.from_dict(copy.deepcopy(quiz_trajectory_dict))


def components(trajectory, name):
    return [turn.reward_components.get(name) for turn in trajectory.turns]


def test_error_kinds_follow_what_the_wrappers_reported(quiz):
    assert [action_error_kind(turn) for turn in quiz.turns] == [None, None, "tool", "format", "invalid", None]


def test_error_kinds_are_read_from_info_error_kind_before_any_marker(quiz):
    recorded = [turn.info.get("error_kind") for turn in quiz.turns]
    assert recorded == [None, None, "tool", "format", "invalid", None]  # as the wrappers and env set it
    # An environment's own kind wins over the old markers (a tool result beside a format error).
    quiz.turns[2].info["error_kind"] = "format"
    quiz.turns[4].info["error_kind"] = "tool"
    assert [action_error_kind(turn) for turn in quiz.turns] == [None, None, "format", "format", "tool", None]
    for turn in quiz.turns:  # a record written before error_kind existed
        turn.info.pop("error_kind", None)
    assert [action_error_kind(turn) for turn in quiz.turns] == [None, None, "tool", "format", "invalid", None]


def test_format_penalty_hits_unreadable_actions_and_optionally_refused_moves(quiz):
    FormatPenalty(0.25)([quiz])
    assert components(quiz, "format") == [0.0, 0.0, 0.0, -0.25, 0.0, 0.0]
    FormatPenalty(0.25, invalid_actions=True)([quiz])
    assert components(quiz, "format") == [0.0, 0.0, 0.0, -0.25, -0.25, 0.0]
    assert [turn.reward for turn in quiz.turns] == [0.0, 0.0, 0.0, -0.25, -0.25, 1.0]


def test_format_penalty_replaces_the_answer_format_wrappers_own_penalty():
    policy = ScriptedPolicy(["10", "<answer>10</answer>"], then="<answer>11</answer>")
    config = RolloutConfig(wrappers=(AnswerFormat,), max_turns=3)
    (trajectory,) = rollout(policy, [Task("games/GuessTheNumber-v0", 0)], config, progress=False).trajectories
    assert trajectory.turns[0].reward_components == {"format": -0.1}  # AnswerFormat's default penalty
    FormatPenalty(0.5)([trajectory])
    assert trajectory.turns[0].reward_components == {"format": -0.5} and trajectory.turns[0].reward == -0.5
    assert trajectory.turns[1].reward_components["format"] == 0.0


def test_tool_use_shaping_counts_calls_successes_and_failures(quiz):
    ToolUseShaping(called=0.01, succeeded=0.1, failed=-0.2)([quiz])
    assert components(quiz, "tool_use") == pytest.approx([0.11, 0.11, 0.02 - 0.4, 0.0, 0.0, 0.0])


def test_redundancy_penalty_catches_the_same_query_written_differently(quiz):
    RedundancyPenalty(0.3)([quiz])
    assert components(quiz, "redundancy") == [0.0, -0.3, 0.0, 0.0, 0.0, 0.0]


def test_redundancy_penalty_takes_any_notion_of_a_query():
    policy = ScriptedPolicy(["10", "15", " 10 ", "10", "12"])
    (trajectory,) = rollout(policy, [Task("games/GuessTheNumber-v0", 0)], RolloutConfig(max_turns=5),
                            progress=False).trajectories
    RedundancyPenalty(1.0, key=lambda turn: [turn.action.strip()])([trajectory])
    assert components(trajectory, "redundancy") == [0.0, 0.0, -1.0, -1.0, 0.0]


def test_tool_call_cost_charges_every_call_at_its_tools_price(quiz):
    ToolCallCost(0.01, costs={"lookup": 0.05})([quiz])
    assert components(quiz, "tool_cost") == pytest.approx([-0.05, -0.05, -0.06, 0.0, 0.0, 0.0])


def test_combined_reward_logs_weighted_components_and_sums_them(quiz):
    rewards = CombinedReward([(ToolUseShaping(called=0.0, succeeded=1.0, failed=-1.0), 0.5),
                              (ToolCallCost(0.1), 2.0), RedundancyPenalty(1.0)])
    rewards([quiz])
    assert components(quiz, "tool_use") == pytest.approx([0.5, 0.5, -1.0, 0.0, 0.0, 0.0])
    assert components(quiz, "tool_cost") == pytest.approx([-0.2, -0.2, -0.4, 0.0, 0.0, 0.0])
    assert components(quiz, "redundancy") == [0.0, -1.0, 0.0, 0.0, 0.0, 0.0]
    expected = [0.3, -0.7, -1.4, 0.0, 0.0, 1.0]  # the outcome stays on the last turn
    assert [turn.reward for turn in quiz.turns] == pytest.approx(expected)
    assert quiz.metadata["reward_weights"] == {"tool_use": 0.5, "tool_cost": 2.0, "redundancy": 1.0}
    rewards([quiz])  # writing again replaces, never adds
    assert [turn.reward for turn in quiz.turns] == pytest.approx(expected)
    assert quiz.episode_return == pytest.approx(sum(expected))


@pytest.mark.parametrize("make", [lambda: FormatPenalty(-1), lambda: RedundancyPenalty(-1),
                                  lambda: ToolCallCost(-0.1), lambda: ToolCallCost(0.1, costs={"lookup": -1})])
def test_negative_penalties_are_refused(make):
    with pytest.raises(ValueError, match=">= 0"):
        make()
