"""Rubric judges: a scripted judge policy that grades by rule from its prompt, the score parser
on many reply shapes (and fuzzed), weights, episode and turn scope, recorded failures."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentgym.core import ConfigError
from agentgym.policies.base import Generation, Policy
from agentgym.rewards import AnswerMatchReward, CombinedReward, Criterion, RubricJudge, parse_scores
from agentgym.trajectory import Trajectory, Turn

CRITERIA = [Criterion("correctness", "The final answer names the right condition.", 2.0),
            Criterion("brevity", "The agent needed few turns.", 1.0)]


class RuleJudge(Policy):
    """Grades from the prompt alone: correctness 10/10 when the last action shown contains the
    reference answer (0/10 otherwise, or without one), brevity 0.8 for at most two turns shown,
    else 0.5. Every call's requests are kept."""

    name = "rule-judge"

    def __init__(self) -> None:
        self.calls: list[list] = []

    async def agenerate(self, requests, sampling):
        self.calls.append(list(requests))
        return [Generation(self.reply(request.messages[-1]["content"])) for request in requests]

    @staticmethod
    def reply(prompt: str) -> str:
        reference = re.search(r"Reference answer \(for you only; the agent never saw it\): (.*)", prompt)
        actions = re.findall(r"The agent did:\n(.*)", prompt)
        correct = bool(reference and actions and reference.group(1).lower() in actions[-1].lower())
        turns = len(re.findall(r"^## Turn ", prompt, flags=re.MULTILINE))
        return (f"The agent {'got it right' if correct else 'missed it'}.\n"
                f"correctness: {10 if correct else 0}/10\nbrevity: {0.8 if turns <= 2 else 0.5}")


class FixedJudge(Policy):
    """Replies with the given texts in order (or the given generations); ``raises`` makes it fail."""

    name = "fixed-judge"

    def __init__(self, replies=(), raises: Exception | None = None) -> None:
        self.replies, self.raises = list(replies), raises

    async def agenerate(self, requests, sampling):
        if self.raises is not None:
            raise self.raises
        return [r if isinstance(r, Generation) else Generation(r) for r in self.replies[: len(requests)]]


def episode(*actions: str, answer: str | None = "measles", task_id: str = "case") -> Trajectory:
    turns = [Turn(i, f"Patient says something {i}.", action) for i, action in enumerate(actions)]
    metadata = {} if answer is None else {"reference_answer": answer}
    return Trajectory(task_id=task_id, instructions="Diagnose the patient. Ask questions, then answer.",
                      turns=turns, metadata=metadata)


def components(trajectory: Trajectory, name: str = "judge") -> list:
    return [turn.reward_components.get(name) for turn in trajectory.turns]


# ------------------------------------------------------------------ episode and turn scope

def test_episode_scope_one_batched_judgement_per_trajectory_on_its_final_turn():
    policy = RuleJudge()
    right = episode("Any rash?", "Diagnosis: Measles")
    wrong = episode("Any fever?", "Any cough?", "Diagnosis: flu")
    RubricJudge(policy, CRITERIA)([right, wrong])
    assert len(policy.calls) == 1 and len(policy.calls[0]) == 2  # one agenerate for the whole batch
    assert components(right) == [None, pytest.approx((2 * 1.0 + 1 * 0.8) / 3)]
    assert components(wrong) == [None, None, pytest.approx((2 * 0.0 + 1 * 0.5) / 3)]
    record = right.turns[-1].info["judge"]
    assert record == {"judge": "rule-judge", "scope": "episode", "text": RuleJudge.reply(
        policy.calls[0][0].messages[-1]["content"]), "scores": {"correctness": 1.0, "brevity": 0.8},
        "score": pytest.approx(2.8 / 3), "error": None}
    assert "judge" not in right.turns[0].info
    json.dumps(right.to_dict())  # the record is JSON-ready


def test_the_prompt_holds_task_transcript_criteria_and_reference_only_when_asked():
    t = episode("Any rash?", "Diagnosis: measles")
    system, user = RubricJudge(RuleJudge(), CRITERIA).messages(t)
    assert system["role"] == "system" and "from 0 (not met at all) to 10" in system["content"]
    content = user["content"]
    for part in ("Diagnose the patient.", "Patient says something 0.", "Any rash?", "Diagnosis: measles",
                 "- correctness (weight 2): The final answer names the right condition.",
                 "Reference answer", "measles", "correctness: <score>/10\nbrevity: <score>/10"):
        assert part in content
    hidden = RubricJudge(RuleJudge(), CRITERIA, show_reference=False).messages(t)[1]["content"]
    assert "Reference answer" not in hidden
    policy = RuleJudge()  # without the reference the rule judge cannot say "correct"
    RubricJudge(policy, CRITERIA, show_reference=False)([t])
    assert t.turns[-1].info["judge"]["scores"]["correctness"] == 0.0
    custom = RubricJudge(RuleJudge(), CRITERIA, template="Grade this.\n{transcript}{criteria}")
    assert custom.messages(t)[1]["content"].startswith("Grade this.\nThe conversation:\n## Turn 1")


def test_long_texts_are_clipped():
    t = episode("x" * 5000 + "THE END")
    content = RubricJudge(RuleJudge(), CRITERIA, max_chars=100).messages(t)[1]["content"]
    assert "[... 4907 characters cut ...]" in content and "THE END" in content and "x" * 60 not in content


def test_turn_scope_judges_every_turn_in_one_batch():
    policy = RuleJudge()
    a, b = episode("Diagnosis: measles"), episode("Any cough?", "Any rash?", "measles!")
    RubricJudge(policy, CRITERIA, scope="turn", history_turns=1, name="turn_judge")([a, b])
    assert len(policy.calls) == 1 and len(policy.calls[0]) == 4
    # Each prompt shows the judged turn after at most one earlier turn (so brevity is 0.8).
    assert components(a, "turn_judge") == [pytest.approx(2.8 / 3)]
    assert components(b, "turn_judge") == [pytest.approx(0.8 / 3), pytest.approx(0.8 / 3), pytest.approx(2.8 / 3)]
    assert all(turn.info["turn_judge"]["scope"] == "turn" for turn in a.turns + b.turns)
    prompt = policy.calls[0][3].messages[-1]["content"]
    assert "## Turn 2\n" in prompt and "## Turn 3 (the turn to judge)" in prompt and "## Turn 1" not in prompt


def test_weights_including_zero():
    replies = ["correctness: 6/10\nbrevity: 3/10\nstyle: 10/10"]
    rubric = [Criterion("correctness", "", 3.0), Criterion("brevity", "", 1.0), Criterion("style", "", 0.0)]
    t = episode("measles")
    RubricJudge(FixedJudge(replies), rubric)([t])
    assert components(t) == [pytest.approx((3 * 0.6 + 1 * 0.3) / 4)]  # style is graded, not counted
    assert t.turns[0].info["judge"]["scores"] == {"correctness": 0.6, "brevity": 0.3, "style": 1.0}
    t2 = episode("measles")
    RubricJudge(FixedJudge(["helpful: 9/10"]), [("helpful", "Is it helpful?")])([t2])  # a tuple criterion
    assert components(t2) == [pytest.approx(0.9)]


def test_combined_with_an_answer_reward():
    t = episode("Any rash?", "measles")
    t.turns[-1].info["answer"] = "measles"
    CombinedReward([(RubricJudge(RuleJudge(), CRITERIA), 0.5), AnswerMatchReward("em")])([t])
    assert t.turns[-1].reward_components == pytest.approx({"judge": 0.5 * 2.8 / 3, "answer_em": 1.0})
    assert t.episode_return == pytest.approx(1.0 + 0.5 * 2.8 / 3)


def test_sync_call_inside_an_event_loop_is_refused_and_acall_works():
    t = episode("measles")
    judge = RubricJudge(RuleJudge(), CRITERIA)

    async def inside():
        with pytest.raises(RuntimeError, match="await judge.acall"):
            judge([t])
        await judge.acall([t])

    asyncio.run(inside())
    assert components(t) == [pytest.approx(2.8 / 3)]


# ------------------------------------------------------------------ failures are recorded, never raised

def test_unparsable_reply_gives_no_component_and_keeps_the_text():
    t = episode("Any rash?", "measles")
    RubricJudge(FixedJudge(["I think it is quite good overall."]), CRITERIA)([t])
    record = t.turns[-1].info["judge"]
    assert components(t) == [None, None] and t.turns[-1].reward == 0.0
    assert record["text"] == "I think it is quite good overall." and record["score"] is None
    assert record["error"] == "unparsable judgement: no valid score for 'correctness', 'brevity'"


def test_partial_and_out_of_range_scores_are_failures_with_what_was_parsed():
    t = episode("measles")
    RubricJudge(FixedJudge(["correctness: 14/10\nbrevity: 7/10"]), CRITERIA, failure_value=0.0)([t])
    record = t.turns[0].info["judge"]
    assert components(t) == [0.0]  # failure_value
    assert record["scores"] == {"brevity": 0.7} and record["score"] is None
    assert "no valid score for 'correctness'" in record["error"] and "'14/10' is outside [0, 1]" in record["error"]


def test_policy_errors_are_recorded_for_every_judgement():
    batch = [episode("a"), episode("b"), episode()]  # the last has no turns: nothing to judge
    RubricJudge(FixedJudge(raises=ConnectionError("judge server down")), CRITERIA)(batch)
    for t in batch[:2]:
        assert components(t) == [None]
        assert t.turns[0].info["judge"]["error"] == "the judge failed: ConnectionError: judge server down"
    one_bad = [episode("a"), episode("b")]
    replies = [Generation("", finish_reason="error", error="HTTP 500"), Generation("correctness: 1\nbrevity: 1.0")]
    RubricJudge(FixedJudge(replies), CRITERIA)(one_bad)
    assert one_bad[0].turns[0].info["judge"]["error"] == "the judge failed: HTTP 500"
    assert components(one_bad[1]) == [pytest.approx((2 * 0.1 + 1.0) / 3)]  # bare 1 is 1/10; 1.0 is a fraction
    short = [episode("a"), episode("b")]
    RubricJudge(FixedJudge(["correctness: 1/1\nbrevity: 1/1"]), CRITERIA)(short)  # one generation for two
    assert all("1 generations for 2 requests" in t.turns[0].info["judge"]["error"] for t in short)


def test_bad_configuration_is_refused_clearly():
    with pytest.raises(ConfigError, match="needs a Policy"):
        RubricJudge(lambda messages: "7/10", CRITERIA)
    with pytest.raises(ConfigError, match="scope"):
        RubricJudge(RuleJudge(), CRITERIA, scope="step")
    with pytest.raises(ConfigError, match=r"unknown fields \['answer'\]"):
        RubricJudge(RuleJudge(), CRITERIA, template="{answer}")
    with pytest.raises(ConfigError, match="names must differ"):
        RubricJudge(RuleJudge(), [Criterion("final answer", ""), Criterion("Final_Answer", "")])
    with pytest.raises(ConfigError, match="weight > 0"):
        RubricJudge(RuleJudge(), [Criterion("a", "", 0.0)])
    with pytest.raises(ConfigError, match="at least one criterion"):
        RubricJudge(RuleJudge(), [])
    for name, weight in (("", 1.0), ("a: b", 1.0), ("ok", -1.0), ("ok", float("nan")), ("ok", True)):
        with pytest.raises(ConfigError):
            Criterion(name, "", weight)
    for kwargs in ({"scale": 0}, {"history_turns": -1}, {"max_chars": 3}, {"failure_value": float("inf")}):
        with pytest.raises(ConfigError):
            RubricJudge(RuleJudge(), CRITERIA, **kwargs)


# ------------------------------------------------------------------ the parser

SHAPES = [
    ("correctness: 7/10\nbrevity: 0.4", {"correctness": 0.7, "brevity": 0.4}),
    ("- **Correctness** (weight 2): 7 / 10\n- **Brevity** (weight 1): 4/10", {"correctness": 0.7, "brevity": 0.4}),
    ("1. Correctness = 70%\n2. Brevity = 40 %", {"correctness": 0.7, "brevity": 0.4}),
    ("Correctness: 7 out of 10. Brevity: 4 out of 10.", {"correctness": 0.7, "brevity": 0.4}),
    ("CORRECTNESS - 7\nBREVITY - 4", {"correctness": 0.7, "brevity": 0.4}),
    ("correctness score: 7.5\nbrevity score: 0.25", {"correctness": 0.75, "brevity": 0.25}),
    ('```json\n{"correctness": 7, "brevity": "4/10"}\n```', {"correctness": 0.7, "brevity": 0.4}),
    ('{"scores": {"Correctness": {"score": 0.7}, "BREVITY": 4}}', {"correctness": 0.7, "brevity": 0.4}),
    ("The correctness criterion matters most.\ncorrectness: 7/10\nbrevity: 4/10\nI weighed correctness 2 times.",
     {"correctness": 0.7, "brevity": 0.4}),  # a scoring line beats a number in prose
    ("correctness: 2/10\nOn reflection:\ncorrectness: 7/10\nbrevity: 4/10", {"correctness": 0.7, "brevity": 0.4}),
    ("correctness: [7/10]\nbrevity: *4*/10", {"correctness": 0.7, "brevity": 0.4}),
    ("correctness: 10/10\nbrevity: 0/10", {"correctness": 1.0, "brevity": 0.0}),
]


@pytest.mark.parametrize("text, expected", SHAPES)
def test_reply_shapes(text, expected):
    parsed = parse_scores(text, CRITERIA)
    assert parsed.ok and parsed.error is None
    assert parsed.scores == pytest.approx(expected)
    assert parsed.weighted_mean(CRITERIA) == pytest.approx((2 * expected["correctness"] + expected["brevity"]) / 3)


@pytest.mark.parametrize("text, missing", [
    ("correctness: <score>/10\nbrevity: <score>/10", ("correctness", "brevity")),  # the format echoed
    ("correctness: 11/10\nbrevity: 4/10", ("correctness",)),
    ("correctness: -1\nbrevity: 4/10", ("correctness",)),
    ("correctness: 7/0\nbrevity: 4/10", ("correctness",)),
    ("correctness: 7/10", ("brevity",)),
    ("Score: 7/10", ("correctness", "brevity")),  # a bare score is only read for a single criterion
    ('{"correctness": true, "brevity": null}', ("correctness", "brevity")),
    ("", ("correctness", "brevity")),
])
def test_replies_that_do_not_score_everything(text, missing):
    parsed = parse_scores(text, CRITERIA)
    assert parsed.missing == missing and parsed.weighted_mean(CRITERIA) is None
    assert parsed.error.startswith("no valid score for")


@pytest.mark.parametrize("text", ["Score: 7/10", "Rating: 7", "7/10", " 0.7 ", "Final score: 70%",
                                  "quality: 7/10", "Good job.\nOverall: 7 out of 10"])
def test_single_criterion_reads_a_bare_score(text):
    assert parse_scores(text, [Criterion("quality", "")]).scores == {"quality": pytest.approx(0.7)}


def test_scale_is_the_judges_maximum():
    assert parse_scores("quality: 4", ["quality"], scale=5).scores == {"quality": 0.8}
    assert parse_scores("quality: 4/5", ["quality"], scale=100).scores == {"quality": 0.8}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.lists(
    st.sampled_from(["correctness", "Brevity", ":", "=", "-", "/", "%", "10", "7", "0.5", "-3", "{", "}", '"',
                     "scores", "\n", " ", "(", ")", "[", "out of", "score", "**", "1e999", "9" * 400]),
    max_size=40).map("".join))
def test_the_parser_never_raises(text):
    parsed = parse_scores(text, CRITERIA)
    assert set(parsed.scores) | set(parsed.missing) == {"correctness", "brevity"}
    assert not set(parsed.scores) & set(parsed.missing)
    assert all(0.0 <= value <= 1.0 for value in parsed.scores.values())
    mean = parsed.weighted_mean(CRITERIA)
    assert mean is None or 0.0 <= mean <= 1.0


SHAPES_OF_SEVEN = ["{k}/10", "{k} / 10", "{k} out of 10", "{p}%", "{k}", "0.{k}"]  # written for k = 7


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10), st.integers(0, 10), st.sampled_from(SHAPES_OF_SEVEN),
       st.sampled_from([": ", " = ", " - ", ":\t", " score: "]), st.booleans())
def test_written_scores_read_back(k1, k2, shape, separator, bold):
    if shape == "0.{k}":  # one decimal digit: 0.0 .. 0.9
        k1, k2 = min(k1, 9), min(k2, 9)

    def write(name, k):
        label = f"**{name}**" if bold else name
        return f"{label}{separator}{shape.format(k=k, p=10 * k)}"

    parsed = parse_scores(f"Fine work.\n{write('correctness', k1)}\n{write('brevity', k2)}\n", CRITERIA)
    assert parsed.scores == pytest.approx({"correctness": k1 / 10, "brevity": k2 / 10})
