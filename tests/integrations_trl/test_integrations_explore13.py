"""Exploratory tests (round 13) of the trainer adapters, driven the way a demanding user drives
them: options that would otherwise fail every episode, or be ignored, are refused up front."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from agentgym.integrations.trl import agentgym_rollout

GUESS = "games/GuessTheNumber-v0"


@pytest.mark.parametrize("env_kwargs, words", [
    ({"difficultly": "easy"}, "no constructor argument 'difficultly' .*did you mean difficulty"),
    ([("difficulty", "easy")], "env_kwargs must be a dict"),
    ("difficulty=easy", "env_kwargs must be a dict"),
])
def test_env_kwargs_every_episode_would_fail_on_are_refused_at_construction(env_kwargs, words):
    # not at each training step, where every episode became an untrainable placeholder (reward
    # None): a run that trained on nothing
    with pytest.raises(ValueError, match=words):
        agentgym_rollout(GUESS, env_kwargs=env_kwargs)


def test_chat_template_kwargs_of_grpo_config_are_refused_not_ignored():
    # e.g. {"enable_thinking": False} for a Qwen3 model: agentgym renders every turn with the
    # tokenizer's plain template, so the model would have played in thinking mode regardless.
    # GRPOConfig's fields (TRL 1.16 defaults) stand in for the config and a tokenizer's for the
    # tokenizer: the refusal comes before either is used.
    args = SimpleNamespace(temperature=1.0, top_p=1.0, top_k=0, min_p=None, repetition_penalty=1.0,
                           generation_kwargs=None, seed=42, max_completion_length=8,
                           chat_template_kwargs={"enable_thinking": False})
    rollout = agentgym_rollout(GUESS, max_turns=1)
    tokenizer = SimpleNamespace(chat_template="{{ messages }}", eos_token_id=0)
    trainer = SimpleNamespace(args=args, processing_class=tokenizer, model=None)
    with pytest.raises(ValueError, match=r"GRPOConfig.chat_template_kwargs=\{'enable_thinking': False\}"):
        rollout(rollout.dataset([0])["prompt"], trainer)
    assert rollout.calls == 0 and rollout.last_trajectories == []


@pytest.mark.parametrize("options, words", [
    ({"env_kwargs": ["difficulty", "easy"]}, r"^env_kwargs must be a dict .*got \['difficulty', 'easy'\]"),
    ({"env_kwargs": "difficulty=easy"}, r"^env_kwargs must be a dict .*got 'difficulty=easy'"),
    ({"wrappers": "AnswerFormat"}, r"^wrappers must be a list .*got 'AnswerFormat'"),  # was "unknown wrapper 'A'"
    ({"wrappers": {"name": "AnswerFormat"}}, r"^wrappers must be a list"),
])
def test_verl_loop_options_of_the_wrong_shape_are_refused_before_the_file_is_written(tmp_path, options, words):
    # written, they failed in each of verl's workers (dict(['difficulty', 'easy']) at the loop's
    # construction) or said 'unknown wrapper' about the first letter of a wrapper's name
    from agentgym.integrations.verl import LoopOptions, agent_loop_config

    path = tmp_path / "agentgym_loop.yaml"
    with pytest.raises(ValueError, match=words):
        agent_loop_config(path, **options)
    assert not path.exists()
    with pytest.raises(ValueError, match=words):
        LoopOptions(**options).rollout_config(64)


@pytest.mark.parametrize("fields", ['{"env_id": "games/GuessTheNumber-v0", "seed": 1, "kwargs": []}',
                                    '{"env_id": "games/GuessTheNumber-v0", "seed": 1, "kwargs": 0}',
                                    '{"env_id": "games/GuessTheNumber-v0", "seed": 1, "kwargs": ""}'])
def test_a_task_prompt_whose_kwargs_are_not_an_object_is_malformed_not_read_as_no_arguments(fields):
    from agentgym.integrations.episodes import task_from_prompt

    with pytest.raises(ValueError, match="malformed agentgym task prompt .*kwargs an object"):
        task_from_prompt("agentgym-task " + fields)


@pytest.mark.parametrize("fields", ['["games/GuessTheNumber-v0", 1]', '"games/GuessTheNumber-v0"', "3"])
def test_a_task_prompt_that_is_not_a_json_object_says_so(fields):
    # it said "list indices must be integers or slices, not str" / "string indices must be integers"
    from agentgym.integrations.episodes import task_from_prompt

    with pytest.raises(ValueError, match=r"malformed agentgym task prompt .*: not a JSON object"):
        task_from_prompt("agentgym-task " + fields)


def test_a_task_prompt_without_kwargs_or_with_null_ones_has_none():
    from agentgym.integrations.episodes import task_from_prompt
    from agentgym.rollout import Task

    for fields in ('{"env_id": "games/GuessTheNumber-v0", "seed": 1}',
                   '{"env_id": "games/GuessTheNumber-v0", "seed": 1, "kwargs": null}'):
        assert task_from_prompt("agentgym-task " + fields) == Task(GUESS, 1, {})


@pytest.mark.parametrize("seeds", [512, "12", None])
def test_dataset_seeds_that_are_not_a_collection_of_integers_are_refused_by_name(seeds):
    # 512 said "'int' object is not iterable"; "12" said "seeds must be integers, got '1'"
    words = rf"^seeds must be an iterable of integers \(e.g. range\(512\)\), got {seeds!r}$"
    with pytest.raises(ValueError, match=words):
        agentgym_rollout(GUESS).dataset(seeds)


@pytest.mark.parametrize("wrappers", ["AnswerFormat", "EpisodeStatistics"])
def test_a_lone_wrapper_name_is_refused_as_not_a_list_not_read_letter_by_letter(wrappers):
    # it said "every item of wrappers must be a wrapper class ..., got 'A'"
    with pytest.raises(ValueError, match=rf"^wrappers must be a list of wrappers .*got {wrappers!r}"):
        agentgym_rollout(GUESS, wrappers=wrappers)


def test_a_policy_factory_that_is_not_callable_is_refused_at_construction():
    # e.g. a policy passed where a factory is asked for: it failed at the first training step
    # with "'ScriptedPolicy' object is not callable"
    from agentgym.policies.scripted import ScriptedPolicy

    with pytest.raises(ValueError, match=r"^policy_factory must be a callable policy_factory\(trainer\) -> Policy"):
        agentgym_rollout(GUESS, policy_factory=ScriptedPolicy(["5"]))
