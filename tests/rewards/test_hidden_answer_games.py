"""Every game with a hidden answer exposes it, and its stub, to information-gain rewards."""

import pytest

import agentgym
from agentgym.policies.scripted import OraclePolicy
from agentgym.rewards.info_gain import answer_block
from agentgym.rollout import RolloutConfig, Task, rollout

from .tiny_lm import tiny_tokenizer

HIDDEN_ANSWER_GAMES = [info.id for info in agentgym.list_envs(tags=["hidden-answer"])]


def test_the_five_hidden_answer_games_are_tagged():
    assert {name.split("/")[1].split("-")[0] for name in HIDDEN_ANSWER_GAMES} >= {
        "GuessTheNumber", "Wordle", "Mastermind", "Hangman", "TwentyQuestions"}


def _easiest_and_hardest(env_id):
    levels = agentgym.make(env_id).unwrapped.difficulties
    return [(env_id, levels[0]), (env_id, levels[-1])] if len(levels) > 1 else [(env_id, levels[0])]


@pytest.mark.parametrize("env_id, difficulty", [case for env_id in HIDDEN_ANSWER_GAMES
                                                for case in _easiest_and_hardest(env_id)])
def test_reference_answer_and_stub_tokenise(env_id, difficulty):
    env = agentgym.make(env_id, difficulty=difficulty)
    answers = set()
    for seed in range(3):
        env.reset(seed=seed)
        answer, stub = env.unwrapped.reference_answer, env.unwrapped.answer_stub
        assert isinstance(answer, str) and answer.strip() and isinstance(stub, str) and stub.strip()
        ids, answer_length = answer_block(tiny_tokenizer(), stub, answer)
        assert 1 <= answer_length < len(ids)
        assert tiny_tokenizer().decode(ids[-answer_length:]).strip() == answer.strip()
        answers.add(answer)
    assert len(answers) > 1, "the answer should depend on the seed"


@pytest.mark.parametrize("env_id", HIDDEN_ANSWER_GAMES)
def test_the_rollout_engine_records_this_episodes_answer(env_id):
    (trajectory,) = rollout(OraclePolicy(), [Task(env_id, 7)], RolloutConfig(max_turns=3), progress=False).trajectories
    env = agentgym.make(env_id)
    env.reset(seed=7)
    assert trajectory.metadata["reference_answer"] == env.unwrapped.reference_answer
    assert trajectory.metadata["answer_stub"] == env.unwrapped.answer_stub
