"""TwentyQuestions on the responder abstraction: the rules answer as before, a policy can play
the one who thinks of the secret, its failures cost nothing, and every answer is recorded."""

from __future__ import annotations

import pytest

from agentgym.core import ConfigError
from agentgym.envs.games.twenty_questions import QUESTIONS, TwentyQuestions, candidates_for, yes_or_no
from agentgym.policies.base import Generation, Policy
from agentgym.policies.scripted import OraclePolicy, ScriptedPolicy
from agentgym.responders import PolicyResponder, RuleResponder
from agentgym.rollout import RolloutConfig, Task, rollout


def _env(secret: str = "penguin", difficulty: str = "hard", **kwargs) -> TwentyQuestions:
    env = TwentyQuestions(difficulty, **kwargs)
    env.reset(seed=0)
    env.secret = secret
    return env


class Recording(Policy):
    """Answers from a script and keeps every request it was sent."""

    name = "recording"

    def __init__(self, replies):
        self.replies = list(replies)
        self.requests = []

    async def agenerate(self, requests, sampling):
        self.requests.extend(requests)
        return [Generation(self.replies[len(self.requests) - 1]) for _ in requests]


def test_the_default_is_the_rule_responder_and_each_question_is_recorded():
    env = _env()
    assert isinstance(env.responder, RuleResponder)
    observation, _, _, _, info = env.step("Hmm. Does it live in the sea?")
    assert observation == f"Is it found in or on water? Yes. {QUESTIONS - 1} questions left."
    assert info["responder"] == {"responder": "rules", "question": "Does it live in the sea?",
                                 "answer": "Is it found in or on water? Yes.", "facts": ["found_in_water"],
                                 "error": None}
    # a guess is judged by the environment: no responder record
    observation, _, _, _, info = env.step("Is it a duck?")
    assert observation.startswith("No, it is not a duck.") and "responder" not in info


def test_the_knowledge_holds_one_fact_per_attribute_with_todays_reply():
    env = _env("penguin")
    knowledge = env.knowledge
    assert [fact.key for fact in knowledge.facts] == list(env.catalogue.attributes)
    swims, flies = knowledge["found_in_water"], knowledge["can_fly"]
    assert (swims.statement, swims.value) == ("Is it found in or on water? Yes.", True)
    assert (flies.statement, flies.value) == ("Can it fly? No.", False)
    assert "sea" in swims.phrases and "penguin" in knowledge.persona
    env.secret = "refrigerator"  # the facts follow the secret
    assert env.knowledge["uses_electricity"].value is True and "refrigerator" in env.knowledge.persona


def test_a_policy_answers_and_its_yes_or_no_is_what_the_agent_sees():
    policy = Recording(["Yes, it certainly can!", "Nope, not at all.", "Yes."])
    env = _env("penguin", responder=policy)
    assert isinstance(env.responder, PolicyResponder)
    observation, _, _, _, info = env.step("Can it fly?")  # the policy errs: the reply follows it
    assert observation.startswith("Can it fly? Yes.") and env.asked == 1
    assert info["responder"]["responder"] == "policy:recording"
    assert info["responder"]["answer"] == "Yes, it certainly can!" and info["responder"]["facts"] == ["can_fly"]
    flying = sum("can_fly" in env.catalogue.yes[t] for t in env.candidates)
    assert env.remaining.bit_count() == flying
    observation, *_ = env.step("Is it an animal?")
    assert observation.startswith("Is it an animal? No.")
    system = policy.requests[0].messages[0]["content"]
    assert "a penguin" in system and "Can it fly? No." in system
    # the second request carries the first question and the policy's own answer
    assert [m["content"] for m in policy.requests[1].messages[1:]] == [
        "Can it fly?", "Yes, it certainly can!", "Is it an animal?"]


@pytest.mark.parametrize("reply", ["I'm not sure what you mean.", "", "Maybe?", "🙂" * 10])
def test_a_reply_without_yes_or_no_is_an_error_that_costs_nothing(reply):
    env = _env("penguin", responder=ScriptedPolicy([reply], then="yes"))
    observation, reward, terminated, _, info = env.step("Can it swim?")
    assert info["error"] and info["error_kind"] == "other" and "neither yes nor no" in observation
    assert env.asked == 0 and reward == 0.0 and not terminated and env.remaining == env._all
    # the question was about the water; an empty reply revealed nothing (PolicyResponder)
    assert info["responder"]["facts"] == ([] if not reply else ["found_in_water"])
    observation, *_ = env.step("Can it swim?")  # the episode goes on
    assert observation.startswith("Is it found in or on water? Yes.") and env.asked == 1


def test_a_failing_policy_is_an_error_that_costs_nothing():
    class Broken(Policy):
        name = "broken"

        async def agenerate(self, requests, sampling):
            raise ConnectionError("model server down")

    env = _env("penguin", responder=Broken())
    observation, _, terminated, _, info = env.step("Is it alive?")
    assert "model server down" in observation and info["error_kind"] == "other" and not terminated
    assert info["responder"]["error"].startswith("ConnectionError") and env.asked == 0
    # guesses do not need the responder
    _, reward, terminated, _, info = env.step("guess: penguin")
    assert terminated and info["success"] and reward == 1.0


def test_yes_or_no_reads_the_first_answer_word():
    assert yes_or_no("Yes!") is True and yes_or_no("nope") is False
    assert yes_or_no("Well... no, yes") is False and yes_or_no("That's correct.") is True
    assert yes_or_no("I don't know") is None and yes_or_no("\x00\ud800") is None


def test_a_bad_responder_argument_is_a_config_error():
    with pytest.raises(ConfigError, match="responder must be"):
        TwentyQuestions("easy", responder="gpt-4")


def test_a_rollout_keeps_the_responder_records_in_turn_info():
    tasks = [Task("games/TwentyQuestions-v0", seed, {"difficulty": "easy"}) for seed in (0, 1)]
    result = rollout(OraclePolicy(), tasks, RolloutConfig(), progress=False)
    for trajectory in result.trajectories:
        assert trajectory.success and trajectory.error is None
        *questions, guess = trajectory.turns
        assert questions and "responder" not in guess.info
        for turn, after in zip(questions, trajectory.turns[1:]):  # a turn's observation came before it
            record = turn.info["responder"]
            assert record["responder"] == "rules" and len(record["facts"]) == 1
            assert record["question"] == turn.action
            assert record["answer"].endswith(("Yes.", "No.")) and after.observation.startswith(record["answer"])


def test_a_rollout_with_a_policy_responder_records_its_answers():
    agent = ScriptedPolicy(["Is it alive?", "Can it fly?", "guess: penguin"])
    thinker = ScriptedPolicy(["Yes, it is alive.", "Hmm, let me think."], then="No.")
    task = Task("games/TwentyQuestions-v0", 0, {"difficulty": "easy", "responder": thinker})
    [trajectory] = rollout(agent, [task], RolloutConfig(max_turns=6), progress=False).trajectories
    first, second = trajectory.turns[:2]
    assert first.info["responder"]["responder"] == "policy:scripted"
    assert first.info["responder"]["answer"] == "Yes, it is alive." and first.error is None
    assert second.info["responder"]["answer"] == "Hmm, let me think." and second.error is not None
    assert all(turn.info.get("responder") is None or turn.info["responder"]["facts"] for turn in trajectory.turns)


@pytest.mark.parametrize("difficulty", ["easy", "medium"])
def test_the_oracle_still_wins_every_episode_with_the_rules(difficulty):
    for secret in candidates_for(difficulty)[::4]:
        env = _env(secret, difficulty)
        terminated = False
        while not terminated:
            _, _, terminated, _, info = env.step(env.oracle_action())
            assert info["error"] is None and info.get("responder", {"facts": ["x"]})["facts"]
        assert info["success"]
