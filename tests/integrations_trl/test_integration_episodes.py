"""The trainer-neutral part of the adapters: tasks in prompts, playing them in order and in
groups, episodes as tokens; and that importing agentgym imports no trainer."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agentgym.integrations.episodes import TokenEpisode, play, task_from_prompt, task_prompt
from agentgym.policies.base import SamplingParams
from agentgym.policies.random import RandomPolicy
from agentgym.rollout import RolloutConfig, Task
from agentgym.trajectory import Trajectory, Turn

GUESS = "games/GuessTheNumber-v0"


def test_a_task_travels_in_a_prompt_and_back():
    task = Task(GUESS, 7, {"difficulty": "hard", "dense_reward": True})
    prompt = task_prompt(task)
    assert task_from_prompt(prompt) == task
    assert task_from_prompt([{"role": "system", "content": "x"}, {"role": "user", "content": prompt}]) == task


@pytest.mark.parametrize("prompt, words", [
    ("What is 2 + 2?", "names no agentgym task"),
    ([{"role": "user", "content": "hello"}], "names no agentgym task"),
    ("agentgym-task {not json", "malformed"),
    ('agentgym-task {"env_id": "games/GuessTheNumber-v0"}', "malformed"),
    ('agentgym-task {"env_id": "games/GuessTheNumber-v0", "seed": "3"}', "seed an integer"),
    ('agentgym-task {"env_id": "games/GuessTheNumber-v0", "seed": true}', "seed an integer"),
])
def test_a_prompt_that_names_no_task_is_refused_with_the_prompt_shown(prompt, words):
    with pytest.raises(ValueError, match=words):
        task_from_prompt(prompt)


def test_task_arguments_that_are_not_json_are_refused():
    with pytest.raises(ValueError, match="JSON"):
        task_prompt(Task(GUESS, 0, {"difficulty": object()}))


def test_play_keeps_the_callers_order_and_plays_equal_tasks_as_one_group():
    a, b = Task(GUESS, 1, {"difficulty": "easy"}), Task(GUESS, 2, {"difficulty": "easy"})
    tasks = [a, b, a, a, b, a]  # a four times, b twice: two group sizes
    config = RolloutConfig(max_turns=2, sampling=SamplingParams(seed=5))
    trajectories = play(RandomPolicy(seed=0), tasks, config)
    assert [t.seed for t in trajectories] == [1, 2, 1, 1, 2, 1]
    groups = {}
    for task, trajectory in zip(tasks, trajectories):
        groups.setdefault(task.seed, []).append(trajectory)
    for seed, members in groups.items():
        assert len({t.group_id for t in members}) == 1  # one GRPO group per task
        assert sorted(t.metadata["rollout_index"] for t in members) == list(range(len(members)))
    # same environment seed, different rollouts: the random agent's moves differ within a group
    assert len({tuple(turn.action for turn in t.turns) for t in groups[1]}) > 1
    # the environment's secret is shared by the group
    assert len({t.metadata["reference_answer"] for t in groups[1]}) == 1


def _trajectory(**fields) -> Trajectory:
    turns = [Turn(0, "obs", "5", reward=0.25, action_span=(3, 5), observation_span=(5, 8), logprobs=[-0.1, -0.2]),
             Turn(1, "obs", "7", reward=1.0, action_span=(8, 9), logprobs=[-0.3])]
    return Trajectory(**{"env_id": GUESS, "seed": 0, "turns": turns, "token_ids": list(range(10, 19)),
                         "prompt_length": 3, **fields})


def test_a_token_exact_trajectory_is_cut_into_prompt_and_masked_completion():
    episode = TokenEpisode.from_trajectory(_trajectory(), placeholder_token_id=0)
    assert episode.trainable and episode.reward == 1.25 and episode.num_turns == 2
    assert episode.prompt_ids == [10, 11, 12]
    assert episode.completion_ids == [13, 14, 15, 16, 17, 18]
    assert episode.completion_mask == [1, 1, 0, 0, 0, 1]
    assert episode.logprobs == [-0.1, -0.2, 0.0, 0.0, 0.0, -0.3]


@pytest.mark.parametrize("fields, reason", [
    ({"error": "environment raised RuntimeError: boom"}, "failed"),
    ({"token_mismatches": 1}, "not token-exact"),
    ({"token_ids": None}, "text-only"),
])
def test_an_episode_that_cannot_be_trained_on_becomes_a_masked_placeholder(fields, reason):
    episode = TokenEpisode.from_trajectory(_trajectory(**fields), placeholder_token_id=99)
    assert not episode.trainable and reason in episode.reason
    assert episode.reward is None and episode.completion_ids == [99] and episode.completion_mask == [0]
    assert episode.prompt_ids  # never empty: a trainer pads and stacks it


def test_importing_agentgym_and_its_adapters_imports_no_trainer():
    code = ("import sys, agentgym, agentgym.integrations, agentgym.integrations.trl, agentgym.integrations.verl; "
            "print(sorted(m for m in ('trl', 'verl', 'ray', 'datasets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
