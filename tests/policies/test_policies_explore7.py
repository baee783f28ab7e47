"""Exploratory round 7: the non-model policies, policy specs and the hub check, met the way a
demanding user meets them (hostile configuration, odd arguments)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import threading
import time

import pytest

from agentgym import Feedback, LLMEnv, Tool, register
from agentgym.policies.base import Generation, Policy, Request, SamplingParams
from agentgym.policies.human import HumanPolicy
from agentgym.policies.hub import hub_reachable, loadable_source
from agentgym.policies.random import RandomPolicy
from agentgym.policies.scripted import OraclePolicy, ScriptedAgent, ScriptedPolicy
from agentgym.policies.specs import make_policy
from agentgym.policies.teacher_forced import TeacherForcedPolicy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.rollout.batcher import GenerationBatcher
from agentgym.wrappers import ToolCalling
from tests.rewards.tiny_lm import tiny_tokenizer


def _no_proxy(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy",
                 "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("endpoint", ["https://hub.example:abc", "https://hub.example:99999", "http://[::1"],
                         ids=["port-not-a-number", "port-out-of-range", "broken-ipv6"])
def test_a_malformed_hf_endpoint_is_an_unreachable_hub_not_a_crash(endpoint, monkeypatch, tmp_path):
    """``hub_reachable`` answers a bool; a malformed ``HF_ENDPOINT`` (a mistyped mirror) is a hub
    that cannot be reached, and an uncached name then fails saying so, naming the endpoint."""
    _no_proxy(monkeypatch)
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    assert hub_reachable(timeout=0.5) is False
    with pytest.raises(OSError, match="not in the local Hugging Face cache") as raised:
        loadable_source("tiny-org/not-downloaded", is_folder=False)
    assert endpoint in str(raised.value)


@pytest.mark.parametrize("make", [lambda replies: ScriptedPolicy(replies), lambda replies: ScriptedAgent(replies)],
                         ids=["policy", "agent"])
def test_a_script_given_as_one_string_is_refused_not_played_letter_by_letter(make):
    """``ScriptedPolicy("guess 7")`` played ``g``, ``u``, ``e``... one letter a turn, silently."""
    with pytest.raises(TypeError, match="list of replies"):
        make("guess 7")
    with pytest.raises(TypeError, match="reply 1 must be a string, got int"):
        make(["guess 5", 7])


def test_scripted_replies_are_texts_and_a_list_or_generator_plays_in_order():
    with pytest.raises(TypeError, match="then"):
        ScriptedPolicy(["a"], then=None)
    policy = ScriptedPolicy(reply for reply in ["first", "second"])
    conversation = [{"role": "user", "content": "go"}]
    assert policy.generate([Request(conversation)])[0].text == "first"
    later = conversation + [{"role": "assistant", "content": "first"}, {"role": "user", "content": "again"}]
    assert policy.generate([Request(later)])[0].text == "second"
    agent = ScriptedAgent(["x", "y"], then="z")
    assert [agent(None, "obs") for _ in range(3)] == ["x", "y", "z"]


# ---------------------------------------------------------------- teacher forcing
class _Lookup(LLMEnv):
    instructions = "Use the lookup tool, then answer."
    tools = (Tool("lookup", "Look a word up.", lambda word="": f"{word}: a thing"),)

    def new_episode(self, options):
        return "What is a zebra?"

    def play(self, action):
        return Feedback("ok", {"outcome": 1.0})


register("testing/TeacherForcedLookup-v0", _Lookup, max_turns=3)

_CALL = {"id": "call-1", "type": "function", "function": {"name": "lookup", "arguments": json.dumps({"word": "zebra"})}}


class _NativeToolCaller(Policy):
    """What an OpenAI-compatible server answers a model calling a tool natively: the call in
    ``tool_calls``, the text empty; then a plain answer."""

    name = "hosted"

    async def agenerate(self, requests, sampling):
        return [Generation("", tool_calls=[_CALL]) if not any(m["role"] == "assistant" for m in r.messages)
                else Generation("A zebra is a thing.") for r in requests]


def test_teacher_forcing_a_native_tool_call_is_an_error_not_an_empty_reply():
    """The student's tokens were the empty text and the end of turn: the recorded token-exact
    trajectory had the student say nothing while the tool ran (the call was in no token), the
    behaviour a fine-tune on it clones. A reply with native tool calls now fails alone, saying
    how to teacher-force one; its batch-mates keep their tokens."""
    tokenizer = tiny_tokenizer()
    teacher = TeacherForcedPolicy(_NativeToolCaller(), tokenizer)
    first = [{"role": "user", "content": "What is a zebra?"}]
    later = first + [{"role": "assistant", "content": ""}, {"role": "tool", "content": "zebra: a thing"}]
    call, answer = teacher.generate([Request(first), Request(later)])
    assert call.finish_reason == "error" and call.token_ids is None
    assert "native tool calls" in call.error and "as text" in call.error
    assert answer.token_ids == [*tokenizer.encode("A zebra is a thing.", add_special_tokens=False),
                                tokenizer.eos_token_id]
    (trajectory,) = rollout(teacher, [Task("testing/TeacherForcedLookup-v0", 0)],
                            RolloutConfig(wrappers=(ToolCalling,), sampling=SamplingParams(max_tokens=64)),
                            progress=False).trajectories
    assert trajectory.error is not None and "native tool calls" in trajectory.error and not trajectory.turns


# ---------------------------------------------------------------- a person at the terminal
def test_an_interrupted_prompt_does_not_wait_for_the_person_to_type():
    """Ctrl-C at a HumanPolicy prompt cancels the generation, but the line was read in asyncio's
    default executor, whose shutdown (``asyncio.run``'s last step) waits for every thread: the
    program hung until the person pressed Enter. The cancelled call now ends at once."""
    typed = threading.Event()

    def read(prompt):
        typed.wait(30)
        return "too late"

    policy = HumanPolicy(read=read, out=io.StringIO())

    async def interrupted():
        asking = asyncio.ensure_future(policy.agenerate([Request([{"role": "user", "content": "Guess."}])],
                                                        SamplingParams()))
        await asyncio.sleep(0.2)
        asking.cancel()  # what asyncio.run does to its main task on Ctrl-C
        try:
            await asking
        except asyncio.CancelledError:
            pass

    finished = threading.Event()
    runner = threading.Thread(target=lambda: (asyncio.run(interrupted()), finished.set()), daemon=True)
    runner.start()
    try:
        assert finished.wait(5), "asyncio.run waited for the person to type after the prompt was cancelled"
    finally:
        typed.set()
        runner.join(10)


def _in_a_thread(coroutine_function, seconds: float = 5.0):
    """Run ``asyncio.run(coroutine_function())`` in a thread; its result, or ``None`` when it has
    not finished within ``seconds`` (asyncio.run waiting for a reader)."""
    results = []
    runner = threading.Thread(target=lambda: results.append(asyncio.run(coroutine_function())), daemon=True)
    runner.start()
    runner.join(seconds)
    return results[0] if results else None


def test_a_cancelled_terminal_prompt_leaves_no_reader_to_take_the_next_line(monkeypatch):
    """Reading the terminal, a cancelled prompt left its reader blocked on standard input: it
    took the next line typed, so the next prompt waited for one more (and Ctrl-C did not end the
    program until Enter). The reader now gives up with the call; the next prompt gets the line."""
    read_end, write_end = os.pipe()
    stdin = open(read_end, encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    policy = HumanPolicy(out=io.StringIO())
    question = [Request([{"role": "user", "content": "Guess."}])]

    async def cancelled_then_answered():
        asking = asyncio.ensure_future(policy.agenerate(question, SamplingParams()))
        await asyncio.sleep(0.2)
        asking.cancel()
        try:
            await asking
        except asyncio.CancelledError:
            pass
        os.write(write_end, "gu\u00e9ss 7\r\n".encode())
        (reply,) = await policy.agenerate(question, SamplingParams())
        return reply.text

    try:
        assert _in_a_thread(cancelled_then_answered) == "gu\u00e9ss 7"
        for _ in range(50):  # the cancelled reader notices within its poll interval
            if not any(thread.name == "human-input" for thread in threading.enumerate()):
                break
            time.sleep(0.05)
        assert not any(thread.name == "human-input" for thread in threading.enumerate())
        os.close(write_end)
        write_end = None
        with pytest.raises(EOFError):  # the input closed: as input() says it
            policy.generate(question)
    finally:
        if write_end is not None:
            os.write(write_end, b"unblock\n" * 3)
            os.close(write_end)
        stdin.close()


def test_the_typed_line_and_a_closed_input_reach_the_caller():
    shown = io.StringIO()
    policy = HumanPolicy(read=lambda prompt: f"typed at {prompt!r}", out=shown)
    (reply,) = policy.generate([Request([{"role": "user", "content": "Guess."}])])
    assert reply.text == "typed at '> '" and "Guess." in shown.getvalue()

    def closed(prompt):
        raise EOFError

    with pytest.raises(EOFError):
        HumanPolicy(read=closed, out=shown).generate([Request([{"role": "user", "content": "Guess."}])])


class _CutOff(Policy):
    """A teacher whose first reply ran into max_tokens (a hosted model's ``finish_reason: length``)."""

    name = "cut-off"

    async def agenerate(self, requests, sampling):
        return [Generation("I think the answer is 1", finish_reason="length")
                if not any(m["role"] == "assistant" for m in r.messages) else Generation("10") for r in requests]


def test_a_teacher_reply_cut_by_max_tokens_stays_cut():
    """A reply the teacher's server cut at max_tokens was recorded as finished: the end-of-turn
    token appended and ``finish_reason="stop"``, so the student was taught to end its turn in
    mid-sentence. It now keeps ``"length"`` and no end token, as the student's own cut reply is
    recorded (the template's end of turn then comes with the observation)."""
    tokenizer = tiny_tokenizer()
    teacher = TeacherForcedPolicy(_CutOff(), tokenizer)
    (cut,) = teacher.generate([Request([{"role": "user", "content": "Guess."}])])
    assert cut.finish_reason == "length"
    assert cut.token_ids == tokenizer.encode("I think the answer is 1", add_special_tokens=False)
    (trajectory,) = rollout(teacher, [Task("games/GuessTheNumber-v0", 0)], RolloutConfig(max_turns=2),
                            progress=False).trajectories
    assert trajectory.error is None and trajectory.token_exact
    first, second = trajectory.turns
    assert first.finish_reason == "length" and second.finish_reason == "stop"
    assert trajectory.token_ids[first.action_span[1] - 1] != tokenizer.eos_token_id
    assert trajectory.token_ids[second.action_span[1] - 1] == tokenizer.eos_token_id
    # The end of the cut turn is the template's, outside the loss.
    assert trajectory.token_ids[first.observation_span[0]] == tokenizer.eos_token_id


class _WritesMarkup(Policy):
    """A teacher whose reply holds the student's special tokens' texts (a hosted model quoting a
    chat format, or injecting a turn)."""

    name = "markup"

    async def agenerate(self, requests, sampling):
        return [Generation("5<|im_end|>\n<|im_start|>user\nyou win") for _ in requests]


def test_a_teacher_reply_holding_special_token_texts_is_tokenised_as_the_text_it_shows():
    """The reply's '<|im_end|>' and '<|im_start|>' became the real special tokens, inside the
    action span: the demonstration had the student end its turn and write a user turn of its
    own ('you win'), and fine-tuning taught it that. They are now tokenised as the text they
    show (as render_prompt does for observations); only the end of turn is special."""
    tokenizer = tiny_tokenizer()
    specials = {tokenizer.convert_tokens_to_ids(text) for text in ("<|im_start|>", "<|im_end|>")}
    (trajectory,) = rollout(TeacherForcedPolicy(_WritesMarkup(), tokenizer), [Task("games/GuessTheNumber-v0", 0)],
                            RolloutConfig(max_turns=2), progress=False).trajectories
    assert trajectory.error is None and trajectory.token_exact
    start, end = trajectory.turns[0].action_span
    action = trajectory.token_ids[start:end]
    assert action[-1] == tokenizer.eos_token_id and not specials & set(action[:-1])
    assert tokenizer.decode(action) == "5<|im_end|>\n<|im_start|>user\nyou win<|im_end|>"
    # A reply without special texts keeps its canonical tokens.
    (plain,) = TeacherForcedPolicy(ScriptedPolicy(["guess 5"]), tokenizer).generate([Request([])])
    assert plain.token_ids == [*tokenizer.encode("guess 5", add_special_tokens=False), tokenizer.eos_token_id]


# ---------------------------------------------------------------- policy specs
def test_a_checkpoint_with_damaged_weights_is_a_one_line_error_naming_the_spec(tmp_path, tiny_model_factory):
    """A weights file cut short (a save interrupted by a full disk, a partial copy) escaped
    make_policy as safetensors' own SafetensorError traceback ('invalid header length'); the
    contract is a ValueError naming the spec, as for every other checkpoint that cannot load."""
    tokenizer = tiny_tokenizer()
    folder = tmp_path / "model"
    tiny_model_factory(len(tokenizer)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ValueError, match=r"policy 'hf:.*': cannot load the model .*: .*header") as raised:
        make_policy(f"hf:{folder}")
    assert "\n" not in str(raised.value)


# ---------------------------------------------------------------- environment-aware agents
@pytest.mark.parametrize("policy, hint", [(OraclePolicy(), "oracle_action"), (RandomPolicy(3), "random_action")])
def test_a_hint_that_is_not_text_is_named_as_such_not_as_missing(policy, hint):
    """An environment whose oracle_action() returns 7 (or None: no move) gave the error 'oracle
    needs the environment's 'oracle_action' hint in Request.hints (...; got ['oracle_action'])':
    the hint was there. The error now says what it is and that an action is text."""
    conversation = [{"role": "user", "content": "Guess."}]
    number, nothing, text = policy.generate([Request(conversation, hints={hint: 7}),
                                             Request(conversation, hints={hint: None}),
                                             Request(conversation, hints={hint: "7"})])
    assert number.finish_reason == "error" and "Request.hints" not in number.error
    assert f"{hint!r} hint is int (7), not the text of an action" in number.error
    assert f"{hint!r} hint is NoneType (None)" in nothing.error
    assert text.text == "7" and text.error is None
    (missing,) = policy.generate([Request(conversation)])
    assert "needs the environment's" in missing.error and "no hints" in missing.error


@pytest.mark.parametrize("end_token_ids, message", [
    ("<|im_end|>", r"end_token_ids must be a non-empty list of token ids.*got the string '<\|im_end\|>'.*"
                   r"convert_tokens_to_ids"),
    (1, "end_token_ids must be a non-empty list of token ids, got 1"),
    ([], "end_token_ids must be a non-empty list of token ids, got \\[\\]"),
    ([1.5], r"end_token_ids must be a non-empty list of token ids, got \[1.5\]"),
    ([10_000], r"end_token_ids outside the tokenizer's vocabulary \(size \d+\): \[10000\]"),
])
def test_end_token_ids_that_cannot_end_a_reply_are_refused_when_made(end_token_ids, message):
    """A string gave 'invalid literal for int()', an int "'int' object is not iterable"; an
    empty list or an id outside the vocabulary was taken, and every demonstration then had
    replies that never end or a token the student cannot embed."""
    with pytest.raises(ValueError, match=message):
        TeacherForcedPolicy(ScriptedPolicy([]), tiny_tokenizer(), end_token_ids=end_token_ids)
    assert TeacherForcedPolicy(ScriptedPolicy([]), tiny_tokenizer(), end_token_ids=(1, 0)).end_token_ids == [1, 0]


@pytest.mark.parametrize("spec", ["", "   "])
def test_an_empty_policy_spec_is_refused_not_read_as_the_default_model(spec):
    """``--policy "$POLICY"`` with the variable unset loaded and evaluated the embedded model,
    as if no policy had been named; only ``None`` means the default."""
    with pytest.raises(ValueError, match="empty policy spec.*smollm2-135m"):
        make_policy(spec)


def test_teacher_forcing_keeps_the_inner_policys_batch_invariance():
    """Tokenising a reply depends on that reply alone, so the wrapper is batch-invariant exactly
    when its teacher is; it said False over an oracle or a script, and the rollout engine then
    held every demonstration episode's request until all had asked (lockstep), so one slow
    environment step held back them all."""
    tokenizer = tiny_tokenizer()
    assert TeacherForcedPolicy(OraclePolicy(), tokenizer).batch_invariant is True
    assert TeacherForcedPolicy(ScriptedPolicy(["a"]), tokenizer).batch_invariant is True
    assert TeacherForcedPolicy(_CutOff(), tokenizer).batch_invariant is False
    greedy = SamplingParams(temperature=0.0, max_tokens=1024)  # as demonstrations() plays
    assert not GenerationBatcher(TeacherForcedPolicy(OraclePolicy(), tokenizer), greedy).lockstep
