"""A responder that errs can leave no thing consistent with its answers (the things still
possible follow the responder): the game, its dense reward and its oracle go on all the same."""

from __future__ import annotations

from agentgym.envs.games.twenty_questions import QUESTIONS, TwentyQuestions
from agentgym.policies.base import Generation, Policy


class AlwaysYes(Policy):
    """A responder policy that says yes to everything (wrong about most things)."""

    name = "always-yes"

    async def agenerate(self, requests, sampling):
        return [Generation("Yes.") for _ in requests]


def _contradicted(**kwargs) -> TwentyQuestions:
    """An episode whose answers so far leave no candidate."""
    env = TwentyQuestions("easy", responder=AlwaysYes(), **kwargs)
    env.reset(seed=0)
    for question in ("Is it made by people?", "Is it made mostly of metal?", "Can it fly?"):
        env.step(question)
    assert env.remaining.bit_count() == 1
    env.step(f"guess: {env.candidates[env.remaining.bit_length() - 1]}")
    assert env.remaining == 0 and env.episode_active
    return env


def test_a_question_after_contradictory_answers_is_answered_with_dense_reward():
    env = _contradicted(dense_reward=True)
    observation, reward, terminated, _, info = env.step("Can it fly?")
    assert info["error"] is None and observation.startswith("Can it fly? Yes.")
    assert info["reward_components"]["progress"] == 0.0 and not terminated


def test_the_oracle_keeps_playing_after_contradictory_answers():
    env = _contradicted()
    asked_before = env.asked
    for _ in range(QUESTIONS):
        if not env.episode_active:
            break
        env.step(env.oracle_action())
    assert not env.episode_active and env.asked == QUESTIONS > asked_before



class Closable(AlwaysYes):
    closed = 0

    def close(self):
        self.closed += 1


def test_closing_the_game_closes_a_responder_that_owns_its_policy():
    """Like the QuestBench environments, TwentyQuestions closes its responder when it closes,
    so that a PolicyResponder(owns_policy=True) closes its policy."""
    from agentgym.responders import PolicyResponder

    policy = Closable()
    env = TwentyQuestions("easy", responder=PolicyResponder(policy, owns_policy=True))
    env.reset(seed=0)
    env.close()
    assert policy.closed == 1
