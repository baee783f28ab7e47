"""``SyntheticEnv`` (``synthetic/Experience-v0``): the agentgym and Gymnasium contracts, the
real task at reset, predicted steps that agree word for word with the real game when the
experience model knows its rules, the oracle, every failure of the experience model (truncated,
never raised), the turn budget, the argument forms a configuration uses, the search family in
its text format, and rollouts through the engine without leaked threads."""

from __future__ import annotations

import asyncio
import random
import threading
import time

import gymnasium
import pytest

import agentgym
from agentgym.core import ConfigError, ResetNeeded
from agentgym.policies.base import Generation, Policy
from agentgym.policies.random import RandomPolicy
from agentgym.policies.scripted import OraclePolicy, ScriptedPolicy
from agentgym.retrieval.simulated import SimulatedSearchEngine
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.synthetic import ExperienceModel, ReplayBuffer, SyntheticEnv, TaskGenerator
from agentgym.synthetic.env import experience_model_from
from agentgym.testing import check_llm_env, hostile_actions
from tests.synthetic.conftest import EASY, GUESS_ENV_ID
from tests.synthetic.world_models import GuessTheNumberRules, SearchRules
from tests.synthetic_search.writers import DocumentWriter

SYNTHETIC = "synthetic/Experience-v0"


def _rules() -> ExperienceModel:
    return ExperienceModel(GuessTheNumberRules(), max_history_turns=64)


def _guess_env(buffer=None, **kwargs) -> SyntheticEnv:
    kwargs.setdefault("experience_model", _rules())
    kwargs.setdefault("reveal_answer", True)
    return agentgym.make(SYNTHETIC, env_id=GUESS_ENV_ID, env_kwargs=EASY, buffer=buffer, **kwargs)


class _Counting(Policy):
    def __init__(self, reply: str) -> None:
        self.reply, self.calls = reply, 0

    async def agenerate(self, requests, sampling):
        self.calls += 1
        return [Generation(self.reply) for _ in requests]


# ------------------------------------------------------------------ contracts
def test_registered_and_made_by_gymnasium(guess_buffer):
    info = agentgym.env_info(SYNTHETIC)
    assert info.family == "synthetic" and info.max_turns is None and "synthetic" in info.tags
    env = gymnasium.make(SYNTHETIC, env_id=GUESS_ENV_ID, env_kwargs=EASY, experience_model=_rules(),
                         buffer=guess_buffer, reveal_answer=True)
    observation, _ = env.reset(seed=0)
    assert observation.startswith("Guess a number between 1 and 20")
    env.close()


def test_agentgym_and_gymnasium_contracts_hold(guess_buffer):
    env = _guess_env(guess_buffer)
    check_llm_env(env, hostile=120)
    env.close()


def test_reset_gives_the_real_task(guess_buffer):
    real = agentgym.make(GUESS_ENV_ID, **EASY)
    env = _guess_env(guess_buffer)
    for seed in (0, 5, 17):
        real_observation, real_info = real.reset(seed=seed)
        observation, info = env.reset(seed=seed)
        assert observation == real_observation
        assert info["instructions"] == real_info["instructions"] and info["tools"] == []
        assert info["task_id"] == info["real_task_id"] == real_info["task_id"]
        assert env.unwrapped.reference_answer == real.unwrapped.reference_answer
    # unseeded resets continue the real environment's own stream
    real.reset(seed=3)
    env.reset(seed=3)
    assert [real.reset()[1]["task_id"] for _ in range(2)] == [env.reset()[1]["task_id"] for _ in range(2)]
    assert real.unwrapped.reference_answer == env.unwrapped.reference_answer
    # without reveal_answer the model is not told the secret and the environment exposes none
    hidden = _guess_env(guess_buffer, reveal_answer=False, experience_model=_Counting("Observation: ok"))
    hidden.reset(seed=0)
    assert hidden.unwrapped.reference_answer is None
    real.close(), env.close(), hidden.close()


def test_predicted_steps_agree_with_the_real_game_word_for_word(guess_buffer):
    env = _guess_env(guess_buffer, compare_real=True)
    rng = random.Random(0)
    compared = 0
    for seed in range(6):
        env.reset(seed=seed)
        while True:
            choice = rng.random()
            action = (env.unwrapped.random_action(rng) if choice < 0.6 else env.unwrapped.oracle_action()
                      if choice < 0.8 else rng.choice(["", "seven", "99", "0", "-3", "🙂 4 🙂"]))
            observation, reward, terminated, truncated, info = env.step(action)
            real = info["real"]
            assert (observation, reward, terminated) == (real["observation"], real["reward"], real["terminated"])
            assert info["experience_model"]["examples"] == 3 and info["experience_model"]["error"] is None
            assert info["experience_model"]["text"].startswith("Observation: ")
            compared += 1
            if terminated or truncated:
                break
    assert compared > 20
    env.close()


def test_the_oracle_wins_the_synthetic_game(guess_buffer):
    env = _guess_env(guess_buffer)
    for seed in range(4):
        env.reset(seed=seed)
        for _ in range(8):
            _, reward, terminated, truncated, info = env.step(env.unwrapped.oracle_action())
            if terminated:
                break
        assert terminated and info["success"] and reward == 1.0


# ------------------------------------------------------------------ failures
class _Blocks(Policy):
    def __init__(self):
        self.release = threading.Event()

    async def agenerate(self, requests, sampling):
        self.release.wait(30)
        return [Generation("Observation: late") for _ in requests]


class _Raises(Policy):
    async def agenerate(self, requests, sampling):
        raise RuntimeError("the simulator crashed")


@pytest.mark.parametrize("model, reason", [
    (ScriptedPolicy([], then="garbage without any field"), "no Observation field"),
    (ScriptedPolicy([], then=""), "the reply is empty"),
    (_Raises(), "raised RuntimeError: the simulator crashed"),
], ids=["garbage", "empty", "raises"])
def test_a_failing_experience_model_truncates_the_episode(model, reason):
    env = _guess_env(None, experience_model=model, reveal_answer=False)
    env.reset(seed=0)
    observation, reward, terminated, truncated, info = env.step("10")
    assert truncated and not terminated and reward == 0.0 and not info["success"]
    assert "could not answer" in observation and reason in observation
    assert reason in info["experience_error"] and info["experience_model"]["error"] == info["experience_error"]
    with pytest.raises(ResetNeeded):
        env.step("11")
    env.reset(seed=1)  # the next episode starts normally
    env.close()


def test_a_hanging_experience_model_times_out():
    model = _Blocks()
    env = _guess_env(None, experience_model=model, reveal_answer=False, timeout=0.3)
    env.reset(seed=0)
    started = time.perf_counter()
    observation, _, terminated, truncated, info = env.step("10")
    assert time.perf_counter() - started < 10
    assert truncated and "did not answer within 0.3 s" in info["experience_error"]
    model.release.set()
    env.close()


def test_hostile_actions_and_an_empty_buffer():
    model = _Counting("Observation: The secret number is higher than 1.\nReward: 0\nDone: no")
    env = _guess_env(None, experience_model=model, reveal_answer=False, turn_budget=1_000)
    env.reset(seed=0)
    before = model.calls
    for action in ["a" * 30_000, 7, None]:  # refused by the core, as the real game refuses them
        observation, _, _, truncated, info = env.step(action)
        assert observation.startswith("Invalid action") and info["error"] and not truncated
    assert model.calls == before
    for action in hostile_actions(60, seed=1):
        observation, _, _, truncated, info = env.step(action)
        assert isinstance(observation, str) and not truncated
        assert info["error"] or info["experience_model"]["examples"] == 0
    assert model.calls >= 55
    env.close()


def test_the_turn_budget_truncates():
    env = _guess_env(None, experience_model=ScriptedPolicy([], then="Observation: keep going\nReward: 0\nDone: no"),
                     reveal_answer=False, turn_budget=3)
    env.reset(seed=0)
    results = [env.step(str(n)) for n in (1, 2, 3)]
    assert [r[3] for r in results] == [False, False, True] and results[-1][4]["out_of_turns"]
    # the default budget is the real environment's registered one
    assert _guess_env(None, experience_model=ScriptedPolicy([])).unwrapped.turn_budget == \
        agentgym.env_info(GUESS_ENV_ID).max_turns


def test_async_api(guess_buffer):
    env = _guess_env(guess_buffer)

    async def play():
        observation, _ = await env.unwrapped.areset(seed=2)
        return observation, await env.unwrapped.astep(env.unwrapped.oracle_action())

    observation, step = asyncio.run(play())
    assert observation.startswith("Guess") and step[4]["experience_model"]["error"] is None
    env.close()


# ------------------------------------------------------------------ arguments as data
def test_string_forms_are_resolved_once_per_process(guess_jsonl):
    spec = "tests.synthetic.world_models:find_the_word_rules"
    first = SyntheticEnv(env_id=GUESS_ENV_ID, env_kwargs=EASY, experience_model=spec, buffer=str(guess_jsonl))
    second = SyntheticEnv(env_id=GUESS_ENV_ID, env_kwargs=EASY, experience_model=spec, buffer=[guess_jsonl])
    assert first.model is second.model is experience_model_from(spec)
    assert first.buffer is second.buffer and len(first.buffer) == len(ReplayBuffer.from_jsonl(guess_jsonl))
    first.close(), second.close()


@pytest.mark.parametrize("kwargs, message", [
    ({"experience_model": "no.such_module:factory"}, "cannot import"),
    ({"experience_model": "tests.synthetic.world_models:WORDS"}, "not a Policy"),
    ({"experience_model": "not-a-policy-spec"}, "unknown policy"),
    ({"experience_model": 5}, "experience_model must be"),
    ({"buffer": 5}, "buffer must be"),
    ({"buffer": "/nonexistent/real.jsonl"}, "no such trajectory file"),
    ({"env_id": SYNTHETIC}, "not another synthetic one"),
    ({"env_kwargs": "easy"}, "env_kwargs must be a dict"),
    ({"env_kwargs": {"colour": "red"}}, "colour"),
    ({"k": -1}, "k must be"),
    ({"curriculum": TaskGenerator("games/Wordle-v0")}, "the curriculum is for"),
    ({"reveal_answer": "yes"}, "reveal_answer"),
])
def test_bad_arguments_are_config_errors(kwargs, message):
    arguments = {"env_id": GUESS_ENV_ID, "experience_model": ScriptedPolicy([]), **kwargs}
    with pytest.raises(ConfigError, match=message):
        SyntheticEnv(**arguments)


# ------------------------------------------------------------------ the search family, text mode
def test_search_questions_in_tags_format(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTGYM_CACHE", str(tmp_path))
    engine = SimulatedSearchEngine(DocumentWriter())  # the real environment's back-end (for the oracle)
    env = agentgym.make(SYNTHETIC, env_id="search/MultiHop-v0", experience_model=SearchRules(), reveal_answer=True,
                        env_kwargs={"size": 300, "seed": 1, "kinds": "single", "retriever": engine})
    observation, info = env.reset(seed=4)
    assert observation.startswith("Question: ") and "<search>" in info["instructions"]
    question_answer = env.unwrapped.reference_answer
    assert question_answer and question_answer.lower() not in observation.lower()
    observation, reward, terminated, _, _ = env.step("<search>who founded it</search>")
    assert observation.startswith("<information>Doc 1") and reward == 0.0 and not terminated
    observation, _, _, _, info = env.step("I will just talk.")
    assert "format error" in observation
    for _ in range(5):
        observation, reward, terminated, _, info = env.step(env.unwrapped.oracle_action())
        if terminated:
            break
    assert terminated and info["success"] and reward == 1.0
    wrong = env.reset(seed=4)
    _, reward, terminated, _, info = env.step("<answer>certainly not this</answer>")
    assert terminated and reward == 0.0 and not info["success"]
    env.close()
    tools = agentgym.make(SYNTHETIC, env_id="search/MultiHopTools-v0", experience_model=SearchRules(),
                          env_kwargs={"size": 300, "seed": 1, "retriever": engine})
    _, info = tools.reset(seed=0)
    assert {tool["function"]["name"] for tool in info["tools"]} == {"search", "open", "answer"}
    tools.close()
    assert wrong[0].startswith("Question: ")


# ------------------------------------------------------------------ through the rollout engine
def test_rollouts_of_synthetic_episodes_feed_the_buffer_and_leave_no_thread(guess_buffer):
    baseline = {t.ident for t in threading.enumerate()}
    kwargs = {"env_id": GUESS_ENV_ID, "env_kwargs": EASY, "experience_model": _rules(), "buffer": guess_buffer,
              "reveal_answer": True}
    tasks = [Task(SYNTHETIC, seed=s, kwargs=kwargs) for s in range(4)]
    oracle = rollout(OraclePolicy(), tasks, RolloutConfig(group_size=2), progress=False)
    assert all(t.success and t.error is None for t in oracle.trajectories)
    assert all(t.turns[0].info["experience_model"]["examples"] == 3 for t in oracle.trajectories)
    random_run = rollout(RandomPolicy(seed=3), tasks, RolloutConfig(group_size=2), progress=False)
    assert all(t.error is None and (t.terminated or t.truncated) for t in random_run.trajectories)
    synthetic = ReplayBuffer()
    synthetic.add(random_run.trajectories, source="synthetic")
    assert synthetic.counts()[f"env:{GUESS_ENV_ID}"] == sum(len(t.turns) for t in random_run.trajectories)
    deadline = time.monotonic() + 10
    while {t.ident for t in threading.enumerate()} - baseline and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [t.name for t in threading.enumerate() if t.ident not in baseline]


def test_sampling_as_a_dict_and_a_process_runtime_with_the_string_forms(guess_jsonl):
    kwargs = {"env_id": GUESS_ENV_ID, "env_kwargs": EASY, "experience_model": "tests.synthetic.world_models:guess_rules",
              "buffer": str(guess_jsonl), "reveal_answer": True,
              "sampling": {"max_tokens": 32, "temperature": 0.0, "stop": ["Done: no"]}}
    env = SyntheticEnv(**kwargs)
    assert env.model.sampling.max_tokens == 32 and env.model.sampling.stop == ("Done: no",)
    env.close()
    with pytest.raises(ConfigError, match="sampling"):
        SyntheticEnv(**{**kwargs, "sampling": {"max_tokens": 0}})
    # environments in child processes build their own model and buffer from the strings
    result = rollout(OraclePolicy(), [Task(SYNTHETIC, seed=s, kwargs=kwargs) for s in range(2)],
                     RolloutConfig(env_runtime="process"), progress=False)
    assert all(t.error is None and t.success for t in result.trajectories), [t.error for t in result.trajectories]
    assert all(t.turns[0].info["experience_model"]["examples"] == 3 for t in result.trajectories)


def test_the_web_shop_in_text_mode():
    import agentgym.envs.web.shop  # noqa: F401  (registers web/Shop-v0)

    model = ScriptedPolicy([], then="Observation: Page: Results\n[product] B0000 Sheets\nReward: 0\nDone: no")
    env = agentgym.make(SYNTHETIC, env_id="web/Shop-v0", env_kwargs={"size": 300}, experience_model=model,
                        compare_real=True)
    real = agentgym.make("web/Shop-v0", size=300)
    observation, info = env.reset(seed=1)
    real_observation, real_info = real.reset(seed=1)
    assert observation == real_observation and observation.startswith("Instruction: ")
    assert info["instructions"] == real_info["instructions"]
    bought = None
    for _ in range(8):
        observation, _, terminated, truncated, info = env.step(env.unwrapped.oracle_action())
        assert observation.startswith("Page: Results")  # predicted, whatever the real page was
        if info.get("real", {}).get("terminated"):
            bought = info["real"]
            break
    assert bought is not None and bought["reward"] == 1.0  # the oracle, replayed on the real shop, bought right
    env.close(), real.close()


def test_a_model_that_leaks_the_revealed_answer_is_flagged():
    from tests.synthetic.world_models import prompt_parts

    class Leaks(Policy):
        async def agenerate(self, requests, sampling):
            return [Generation(f"Observation: psst, it is {prompt_parts(r)[2]}\nReward: 0\nDone: no") for r in requests]

    env = _guess_env(None, experience_model=Leaks())
    env.reset(seed=0)
    secret = env.unwrapped.reference_answer
    _, _, _, _, info = env.step("0" if secret != "0" else "1")
    assert info["answer_in_observation"] is True
    _, _, _, _, info = env.step(secret)  # the agent said it first: no leak
    assert "answer_in_observation" not in info
    env.close()
