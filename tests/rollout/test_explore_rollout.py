"""Token-level rollouts over hostile conversations: a chat template that raises is the policy's
error (its tokenizer's), not the environment's; text that is not valid unicode (a lone surrogate
in an observation) is tokenised as U+FFFD instead of failing the episode."""

from __future__ import annotations

import pytest

import agentgym
from agentgym import Feedback, LLMEnv
from agentgym.info import ErrorKind
from agentgym.policies.base import Generation, Policy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.rollout.transcript import TokenTranscript, encode_text
from tests.byte_bpe import byte_level_bpe

from .chat_tokenizers import CORPUS, LLAMA3_SPECIALS, LLAMA3_STYLE_TEMPLATE, llama3_style_tokenizer

_TURN = ("{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] + '<|eot_id|>' }}")
_GENERATION_PROMPT = "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
# Gemma-style: no system role.
NO_SYSTEM_TEMPLATE = ("{% for message in messages %}{% if message['role'] == 'system' %}"
                      "{{ raise_exception('System role not supported') }}{% endif %}" + _TURN + "{% endfor %}"
                      + _GENERATION_PROMPT)
# A template that gives up once the conversation has an assistant turn.
SINGLE_TURN_TEMPLATE = ("{% for message in messages %}{% if message['role'] == 'assistant' %}"
                        "{{ raise_exception('Multi-turn conversations are not supported') }}{% endif %}"
                        + _TURN + "{% endfor %}" + _GENERATION_PROMPT)


def tokenizer_with(template: str):
    return byte_level_bpe(CORPUS * 20, vocab_size=600, special_tokens=LLAMA3_SPECIALS, bos_token="<|begin_of_text|>",
                          eos_token="<|eot_id|>", chat_template=template)


class EndOfTurn(Policy):
    """A token-level policy that ends every turn at once: it samples the end-of-turn token."""

    name = "end-of-turn"

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer

    async def agenerate(self, requests, sampling):
        eos = self.tokenizer.eos_token_id
        return [Generation("", token_ids=[eos], logprobs=[-0.5], prompt_token_ids=list(r.prompt_token_ids))
                for r in requests]


class BrokenText(LLMEnv):
    """Observations holding lone surrogates, as a JSON file with a broken ``\\ud800`` escape gives."""

    instructions = "Reply with anything."

    def new_episode(self, options):
        return "a question with a broken \ud800 escape"

    def play(self, action):
        return Feedback("and an observation \udfff too", {"outcome": 0.0})


agentgym.register("testing/ExploreBrokenText-v0", BrokenText, max_turns=3)


@pytest.mark.parametrize("template, turns", [(NO_SYSTEM_TEMPLATE, 0), (SINGLE_TURN_TEMPLATE, 1)])
def test_a_failing_chat_template_is_a_policy_error(template, turns):
    policy = EndOfTurn(tokenizer_with(template))
    result = rollout(policy, [Task("games/GuessTheNumber-v0", 0)], RolloutConfig(max_turns=3), progress=False)
    trajectory = result.trajectories[0]
    assert trajectory.error_kind == ErrorKind.POLICY_ERROR.value
    assert trajectory.error.startswith("policy error: end-of-turn's chat template or tokenizer failed")
    assert "not supported" in trajectory.error
    # Gemma's refusal of the default system prompt says how to do without one; the other, nothing.
    assert ("RolloutConfig(system_prompt=None)" in trajectory.error) == (template is NO_SYSTEM_TEMPLATE)
    assert len(trajectory.turns) == turns
    assert result.stats["error_kinds"] == {"policy": 1}


def test_lone_surrogates_in_observations_are_tokenised_as_replacement_characters():
    tokenizer = llama3_style_tokenizer()
    result = rollout(EndOfTurn(tokenizer), [Task("testing/ExploreBrokenText-v0", 0)], RolloutConfig(max_turns=2),
                     progress=False)
    trajectory = result.trajectories[0]
    assert trajectory.error is None and len(trajectory.turns) == 2
    assert trajectory.token_exact and trajectory.token_mismatches == 0
    text = tokenizer.decode(trajectory.token_ids)
    assert "a broken \ufffd escape" in text and "an observation \ufffd too" in text


def test_encode_text_replaces_lone_surrogates_and_keeps_pairs():
    tokenizer = llama3_style_tokenizer()
    assert encode_text(tokenizer, "x \ud800 y") == tokenizer.encode("x \ufffd y", add_special_tokens=False)
    # A high and a low surrogate that follow each other are one character.
    assert encode_text(tokenizer, "\ud83d\ude00") == tokenizer.encode("\U0001F600", add_special_tokens=False)
    transcript = TokenTranscript(tokenizer, [{"role": "user", "content": "\udc80"}])
    assert tokenizer.decode(transcript.token_ids).count("\ufffd") == 1
    assert LLAMA3_STYLE_TEMPLATE  # the family the transcript renders with


def test_tasks_may_be_any_iterable_and_are_each_played():
    from agentgym.policies.scripted import OraclePolicy

    tasks = (Task("games/GuessTheNumber-v0", seed) for seed in range(3))  # used to play nothing: 0 episodes
    result = rollout(OraclePolicy(), tasks, RolloutConfig(group_size=2), progress=False)
    assert result.stats["episodes"] == 6 and result.stats["success_rate"] == 1.0
    assert [t.seed for t in result.trajectories] == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize("tasks, message", [
    (["games/GuessTheNumber-v0"], r"tasks\[0\] must be a Task\(env_id, seed, kwargs\), got 'games/GuessTheNumber-v0'"),
    (Task("games/GuessTheNumber-v0", 0), r"tasks must be a list of Task, got Task\("),
])
def test_tasks_that_are_not_tasks_are_refused_naming_them(tasks, message):
    from agentgym.policies.scripted import OraclePolicy

    with pytest.raises(TypeError, match=message):
        rollout(OraclePolicy(), tasks, progress=False)


def test_a_scripted_policy_keeps_its_order_when_the_context_budget_drops_turns():
    from agentgym.policies.scripted import ScriptedPolicy

    script = ["50", "25", "12", "6", "3", "1", "2", "4"]
    config = RolloutConfig(max_context_chars=400, max_turns=8)  # drops the oldest turns from the third on
    trajectory = rollout(ScriptedPolicy(script), [Task("games/GuessTheNumber-v0", 0)], config,
                         progress=False).trajectories[0]
    assert any("earlier turns omitted" in m["content"] for m in trajectory.messages if m["role"] == "user")
    assert [turn.action for turn in trajectory.turns] == script  # it replayed "25" from the third turn on


def test_dropped_turns_reads_the_chat_historys_note():
    from agentgym.wrappers.chat_history import dropped_turns

    assert dropped_turns([{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]) == 0
    noted = "q\n\n[3 earlier turns omitted to fit the context budget]"
    assert dropped_turns([{"role": "system", "content": "s"}, {"role": "user", "content": noted}]) == 3
    parts = [{"type": "text", "text": "q"}, {"type": "text", "text": "\n\n[1 earlier turn omitted to fit the context budget]"}]
    assert dropped_turns([{"role": "user", "content": parts}]) == 1
    assert dropped_turns([]) == 0


class SlowStep(LLMEnv):
    """A step that runs until the test releases it (a browser waiting on a page, say)."""

    instructions = "Say anything."
    entered = None  # threading.Event set by the test
    release = None

    def new_episode(self, options):
        return "go"

    def play(self, action):
        SlowStep.entered.set()
        SlowStep.release.wait(10)
        return Feedback("done", {"outcome": 0.0}, terminated=True)


agentgym.register("testing/ExploreSlowStep-v0", SlowStep, max_turns=2)


def test_an_interrupted_rollout_does_not_warn_of_a_timeout():
    """Ctrl-C (the rollout cancelled) leaves the running step in its thread; that is no call that
    "outlasted its timeout", which the HungEnvironmentWarning said."""
    import asyncio
    import threading
    import warnings

    from agentgym.policies.scripted import ScriptedPolicy
    from agentgym.rollout import arollout

    SlowStep.entered, SlowStep.release = threading.Event(), threading.Event()

    async def interrupted() -> None:
        playing = asyncio.create_task(arollout(ScriptedPolicy(["go"]), [Task("testing/ExploreSlowStep-v0", 0)],
                                               RolloutConfig(step_timeout=30), progress=False))
        await asyncio.to_thread(SlowStep.entered.wait, 10)
        playing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await playing

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            asyncio.run(interrupted())
    finally:
        SlowStep.release.set()
    assert [str(w.message) for w in caught if "outlasted its timeout" in str(w.message)] == []


@pytest.mark.parametrize("option", ["max_concurrent_episodes", "max_context_chars", "group_size", "max_turns"])
def test_rollout_config_takes_numpy_counts_as_ints(option):
    """RolloutConfig accepted NumPy counts, and then the rollout failed: 'the slot limit must be a
    positive integer, got np.int64(2)', or ChatHistory's 'kwargs must be JSON data'."""
    import numpy as np

    from agentgym.policies.scripted import OraclePolicy

    config = RolloutConfig(**{option: np.int64(2000 if option == "max_context_chars" else 2)})
    assert type(getattr(config, option)) is int
    result = rollout(OraclePolicy(), [Task("games/GuessTheNumber-v0", 0)], config, progress=False)
    assert result.stats["errors"] == 0 and result.trajectories[0].turns


def test_numpy_seeds_of_tasks_and_of_the_random_policy():
    """Seeds from ``np.arange`` made the hint seed a NumPy integer, which the EnvHints spec could
    not carry as JSON: the rollout raised before any episode ('kwargs must be JSON data')."""
    import numpy as np

    from agentgym.policies.base import SamplingParams
    from agentgym.policies.random import RandomPolicy

    tasks = [Task("games/GuessTheNumber-v0", seed) for seed in np.arange(2)]
    for policy in (RandomPolicy(seed=np.int64(3)), RandomPolicy(seed=3)):
        result = rollout(policy, tasks, RolloutConfig(sampling=SamplingParams(seed=1)), progress=False)
        assert result.stats["errors"] == 0 and [t.seed for t in result.trajectories] == [0, 1]
    assert RandomPolicy(seed=np.int64(3)).name == "random:3"
    with pytest.raises(ValueError, match="RandomPolicy: seed must be an integer or None, got 'x'"):
        RandomPolicy(seed="x")


# Llama 3's own template trims each message's content (`message['content'] | trim`).
TRIMMING_TEMPLATE = LLAMA3_STYLE_TEMPLATE.replace("message['content'] +", "message['content'] | trim +")


@pytest.mark.parametrize("reply, with_eos", [("I guess 50\n", True), (" 50", True), ("\n\n50.\n\n", True), ("50 ", False)])
def test_a_template_that_trims_the_reply_keeps_the_transcript_token_exact(reply, with_eos):
    """The model's whitespace around its reply is in its sampled tokens; the template renders the
    reply trimmed. That is no rewritten history: the next prompt continues the sampled tokens
    with the template's end of turn and next message (it was counted as a mismatch, so every
    Llama-3 episode whose reply ended with a newline was refused by the trainer)."""
    assert TRIMMING_TEMPLATE != LLAMA3_STYLE_TEMPLATE
    tokenizer = tokenizer_with(TRIMMING_TEMPLATE)
    eot = tokenizer.convert_tokens_to_ids("<|eot_id|>")
    transcript = TokenTranscript(tokenizer, [{"role": "system", "content": "Play."}, {"role": "user", "content": "Guess."}])
    before = transcript.prompt_ids
    generated = tokenizer.encode(reply, add_special_tokens=False) + ([eot] if with_eos else [])
    action = transcript.add_generation(generated, None, reply)
    observation = transcript.add_observation([{"role": "user", "content": "Higher."}])
    assert transcript.mismatches == 0 and transcript.token_exact
    assert transcript.token_ids[: len(before)] == before and transcript.token_ids[action.start: action.end] == generated
    appended = tokenizer.decode(transcript.token_ids[observation.start: observation.end])
    assert appended == ("" if with_eos else "<|eot_id|>") + "<|start_header_id|>user<|end_header_id|>\n\nHigher.<|eot_id|>" \
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    # The next turn goes on from there, exactly.
    second = tokenizer.encode("75", add_special_tokens=False) + [eot]
    transcript.add_generation(second, None, "75")
    transcript.add_observation([{"role": "user", "content": "Lower."}])
    assert transcript.mismatches == 0


def test_rollout_inside_a_running_event_loop_says_to_await_arollout():
    """As in a notebook: asyncio.run's own error, plus a "coroutine 'arollout' was never
    awaited" warning, did not say what to do."""
    import asyncio
    import warnings

    from agentgym.policies.scripted import OraclePolicy

    async def in_a_notebook() -> None:
        rollout(OraclePolicy(), [Task("games/GuessTheNumber-v0", 0)], progress=False)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "never awaited" RuntimeWarning either
        with pytest.raises(RuntimeError, match=r"rollout\(\) was called inside a running event loop .*: "
                                               r"await arollout\(\.\.\.\) instead"):
            asyncio.run(in_a_notebook())


def test_task_kwargs_none_means_no_arguments_and_other_types_are_refused():
    """``Task(env_id, seed, None)`` (arguments read from data) failed the rollout with
    "'NoneType' object has no attribute 'values'"."""
    from agentgym.policies.scripted import OraclePolicy

    assert Task("games/GuessTheNumber-v0", 1, None).kwargs == {}
    result = rollout(OraclePolicy(), [Task("games/GuessTheNumber-v0", 1, None)], progress=False)
    assert result.stats["success_rate"] == 1.0
    with pytest.raises(TypeError, match=r"Task kwargs must be a dict of the environment's arguments, got \['easy'\]"):
        Task("games/GuessTheNumber-v0", 1, ["easy"])
