"""The experience model: its prompt (task, examples, history, hidden answer only when revealed),
the reply parser on well-formed, sloppy and hostile replies, and every way a policy can fail
(raise, error generation, wrong count, block past the timeout)."""

from __future__ import annotations

import math
import threading
import time

import pytest

from agentgym.core import ConfigError
from agentgym.policies.base import Generation, Policy, SamplingParams
from agentgym.policies.scripted import ScriptedPolicy
from agentgym.synthetic import Context, EpisodeContext, ExperienceModel, Transition, parse_reply

CONTEXT = EpisodeContext("games/GuessTheNumber-v0", "GuessTheNumber-easy-3-0", "Guess a number.",
                         "Guess a number between 1 and 20.", (("10", "The secret number is lower than 10.", 0.0),),
                         "5", None)


# ------------------------------------------------------------------ parsing
@pytest.mark.parametrize("text, expected", [
    ("Observation: lower than 5\nReward: 0\nDone: no", ("lower than 5", 0.0, False, ())),
    ("observation: you won\nreward: 1.0\ndone: YES", ("you won", 1.0, True, ())),
    ("Let me think: the secret is 3.\n\n**Observation:** line one\nline two\n**Reward:** 0.5\n**Done:** no",
     ("line one\nline two", 0.5, False, ())),
    ("Observation: a\nReward: 0\nDone: no\nObservation: b\nReward: 1\nDone: yes", ("b", 1.0, True, ())),
    ("Observation: ok", ("ok", 0.0, False, ("reward missing", "done missing"))),
    ("Observation: ok\nReward: high\nDone: maybe", ("ok", 0.0, False, ("reward not a number", "done unreadable"))),
    ("Observation: ok\nReward: information\nDone: true", ("ok", 0.0, True, ("reward not a number",))),
    ("Observation: ok\nReward: 7\nDone: 1", ("ok", 1.0, True, ("reward 7 clipped",))),
    ("Observation: ok\nReward: -1e308\nDone: false", ("ok", -1.0, False, ("reward -1e308 clipped",))),
    ("Observation: ok\nReward: inf\nDone: no", ("ok", 1.0, False, ("reward inf clipped",))),
    ("Observation: ok\nReward: nan\nDone: no", ("ok", 0.0, False, ("reward not a number",))),
    ("Observation: 🙂 \ud800 ünïcode\nReward: 0\nDone: no", ("🙂 \ud800 ünïcode", 0.0, False, ())),
])
def test_replies_are_parsed_robustly(text, expected):
    prediction = parse_reply(text)
    assert prediction.error is None
    assert (prediction.observation, prediction.reward, prediction.done, prediction.notes) == expected
    assert prediction.text == text


@pytest.mark.parametrize("text, reason", [
    ("", "empty"),
    ("   \n ", "empty"),
    ("I think the answer is 7.", "no Observation"),
    ("Reward: 1\nDone: yes", "no Observation"),
    ("Observation:\nReward: 1\nDone: yes", "empty Observation"),
    ("\x00\x1b[31m{}" * 100, "no Observation"),
])
def test_unparseable_replies_are_errors(text, reason):
    prediction = parse_reply(text)
    assert prediction.error is not None and reason in prediction.error
    assert prediction.observation == "" and prediction.reward == 0.0 and not prediction.done


def test_reward_range_and_default_are_configurable():
    assert parse_reply("Observation: x\nReward: 5", reward_range=(0.0, 10.0)).reward == 5.0
    assert parse_reply("Observation: x", default_reward=-0.5).reward == -0.5
    assert parse_reply(None).error  # type: ignore[arg-type]


# ------------------------------------------------------------------ the prompt
def test_the_prompt_is_a_few_shot_chat():
    example = Transition(Context("games/GuessTheNumber-v0", "t", (("12", "lower than 12"),), "4"),
                         "The secret number is higher than 4.", 0.0, False)
    model = ExperienceModel(ScriptedPolicy([]), reward_range=(0.0, 1.0))
    messages = model.messages(CONTEXT, [example])
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    system = messages[0]["content"]
    for part in ("Reward: <a number between 0 and 1>", "Environment: games/GuessTheNumber-v0",
                 "Episode: GuessTheNumber-easy-3-0", "Task given to the agent:\nGuess a number.",
                 "First observation:\nGuess a number between 1 and 20."):
        assert part in system, part
    assert "Hidden answer" not in system
    assert messages[1]["content"] == ("Example from a real episode of this environment:\nEarlier action: 12\n"
                                      "Earlier observation: lower than 12\nAction: 4")
    assert messages[2]["content"] == "Observation: The secret number is higher than 4.\nReward: 0\nDone: no"
    assert messages[3]["content"] == "This episode:\nAction: 10"
    assert messages[4]["content"] == "Observation: The secret number is lower than 10.\nReward: 0\nDone: no"
    assert messages[5]["content"] == "Action: 5"
    assert parse_reply(messages[2]["content"]).observation == "The secret number is higher than 4."
    revealed = EpisodeContext(**{**CONTEXT.__dict__, "reference": "3", "history": (), "action": ""})
    first_step = model.messages(revealed)
    assert "Hidden answer of this episode (never tell it unless the rules reveal it): 3" in first_step[0]["content"]
    assert first_step[1:] == [{"role": "user", "content": "This episode:\nAction: (empty action)"}]


def test_the_prompt_stays_bounded():
    long_history = tuple((f"{i}", "x" * 10_000, 0.0) for i in range(50))
    context = EpisodeContext("e", "t", "i" * 10_000, "f", long_history, "\ud800" + "a" * 100_000)
    model = ExperienceModel(ScriptedPolicy([]), max_history_turns=4, max_chars=200)
    messages = model.messages(context)
    assert len(messages) == 1 + 2 * 4 + 1
    assert messages[1]["content"] == "This episode (46 earlier turns not shown):\nAction: 46"
    text = "".join(m["content"] for m in messages)
    assert len(text) < 4_000 and "\ud800" not in text
    text.encode("utf-8")  # sendable


def test_arguments_are_checked():
    for bad in ({"policy": object()}, {"policy": ScriptedPolicy([]), "reward_range": (1.0, 0.0)},
                {"policy": ScriptedPolicy([]), "reward_range": (0.0, math.inf)},
                {"policy": ScriptedPolicy([]), "timeout": 0}, {"policy": ScriptedPolicy([]), "sampling": {}}):
        with pytest.raises(ConfigError):
            ExperienceModel(**bad)


# ------------------------------------------------------------------ failing policies
class _Raises(Policy):
    async def agenerate(self, requests, sampling):
        raise RuntimeError("server down")


class _ErrorGeneration(Policy):
    async def agenerate(self, requests, sampling):
        return [Generation("", finish_reason="error", error="out of memory") for _ in requests]


class _TooMany(Policy):
    async def agenerate(self, requests, sampling):
        return [Generation("Observation: a"), Generation("Observation: b")]


class _Blocks(Policy):
    """Blocks its thread (no await) until released."""

    def __init__(self):
        self.release = threading.Event()

    async def agenerate(self, requests, sampling):
        self.release.wait(30)
        return [Generation("Observation: late\nReward: 0\nDone: no") for _ in requests]


@pytest.mark.parametrize("policy, reason", [
    (_Raises(), "raised RuntimeError: server down"),
    (_ErrorGeneration(), "the model failed: out of memory"),
    (_TooMany(), "returned 2 generation(s) for 1 request(s)"),
    (ScriptedPolicy([], then="no format at all"), "no Observation field"),
    (ScriptedPolicy([], then=""), "the reply is empty"),
])
def test_a_failing_policy_gives_an_error_prediction(policy, reason):
    prediction = ExperienceModel(policy).predict(CONTEXT)
    assert prediction.error is not None and reason in prediction.error
    assert prediction.observation == ""


def test_a_blocking_policy_times_out_and_its_thread_ends_when_released():
    policy = _Blocks()
    model = ExperienceModel(policy, timeout=0.3)
    started = time.perf_counter()
    prediction = model.predict(CONTEXT)
    assert time.perf_counter() - started < 5
    assert prediction.error == "the model did not answer within 0.3 s"
    hung = [t for t in threading.enumerate() if t.name == "agentgym-policy-call"]
    assert hung and all(t.daemon for t in hung)
    policy.release.set()
    for thread in hung:
        thread.join(10)
    assert not any(t.is_alive() for t in hung)


def test_a_working_policy_gets_its_reply_parsed_with_the_request_seed():
    seen = []

    class Echo(Policy):
        async def agenerate(self, requests, sampling):
            seen.append((requests[0].seed, sampling))
            return [Generation("Observation: The secret number is higher than 5.\nReward: 0\nDone: no")]

    sampling = SamplingParams(max_tokens=64, temperature=0.0, logprobs=False)
    prediction = ExperienceModel(Echo(), sampling=sampling).predict(CONTEXT, seed=11)
    assert prediction.error is None and prediction.observation == "The secret number is higher than 5."
    assert prediction.seconds > 0 and seen == [(11, sampling)]


# ------------------------------------------------------------------ batching concurrent predictions
class _Echoes(Policy):
    """Answers each request with its last message, and records the batch sizes it was sent."""

    def __init__(self, fail_on: str | None = None):
        self.sizes, self.fail_on = [], fail_on

    async def agenerate(self, requests, sampling):
        self.sizes.append(len(requests))
        if self.fail_on and any(self.fail_on in r.messages[-1]["content"] for r in requests):
            raise RuntimeError("bad batch")
        return [Generation(f"{r.messages[-1]['content']} @{sampling.max_tokens}") for r in requests]


def test_batching_policy_gathers_concurrent_requests_from_threads():
    from agentgym.policies.base import Request
    from agentgym.synthetic import BatchingPolicy

    inner = _Echoes()
    batching = BatchingPolicy(inner, window=0.2, max_batch=8)
    results: dict[int, str] = {}
    start = threading.Barrier(12)

    def ask(i: int) -> None:
        start.wait()
        sampling = SamplingParams(max_tokens=16 if i % 3 else 32)
        [generation] = batching.generate([Request([{"role": "user", "content": f"q{i}"}])], sampling)
        results[i] = generation.text

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == {i: f"q{i} @{16 if i % 3 else 32}" for i in range(12)}
    assert sum(inner.sizes) == 12 and max(inner.sizes) > 1 and max(inner.sizes) <= 8
    assert batching.batches == inner.sizes
    worker = batching._thread
    batching.close()
    assert not worker.is_alive()
    with pytest.raises(RuntimeError, match="closed"):
        batching.generate([Request([{"role": "user", "content": "late"}])])


def test_a_failed_batch_fails_each_request_and_the_model_reports_it():
    from agentgym.synthetic import BatchingPolicy

    batching = BatchingPolicy(_Echoes(fail_on="5"), window=0.0)
    prediction = ExperienceModel(batching).predict(CONTEXT)
    assert prediction.error == "the model raised RuntimeError: bad batch"
    ok = ExperienceModel(batching).predict(EpisodeContext("e", "t", "", "", (), "7"))
    assert ok.error == "the reply has no Observation field"  # it answered, in no format
    batching.close()


def test_predict_many_keeps_order_and_seeds():
    seen = []

    class Numbered(Policy):
        async def agenerate(self, requests, sampling):
            seen.append([r.seed for r in requests])
            return [Generation(f"Observation: {r.messages[-1]['content'][-1]}\nReward: 0\nDone: no") for r in requests]

    model = ExperienceModel(Numbered())
    contexts = [(EpisodeContext("e", "t", "", "", (), str(i)), []) for i in range(5)]
    predictions = model.predict_many(contexts, seeds=[10, 11, 12, 13, 14])
    assert [p.observation for p in predictions] == ["0", "1", "2", "3", "4"] and seen == [[10, 11, 12, 13, 14]]
    assert model.predict_many([]) == []
    with pytest.raises(ConfigError, match="seeds"):
        model.predict_many(contexts, seeds=[1])
    failing = ExperienceModel(_Raises()).predict_many(contexts)
    assert len(failing) == 5 and all("server down" in p.error for p in failing)
