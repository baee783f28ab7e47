"""ChatHistory: message structure, tool messages, images, and the context budget policies."""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pytest

import agentgym
from agentgym import Feedback, LLMEnv
from agentgym.tool_calls import message_text
from agentgym.wrappers import ChatHistory, ToolCalling
from agentgym.wrappers.chat_history import DEFAULT_SYSTEM_PROMPT

NOTE = re.compile(r"\[(\d+) earlier turns? omitted to fit the context budget\]$")
ELIDED = re.compile(r"…\[(\d+) characters elided\]…")


class LongEcho(LLMEnv):
    """Answers every action with a long observation that starts and ends with the turn number."""

    instructions = "Talk to me."

    def new_episode(self, options):
        self.turn = 0
        return "Hello."

    def play(self, action):
        self.turn += 1
        return Feedback(f"[{self.turn}] {'abcdefghij' * 50} end {self.turn}")


class Picture(LLMEnv):
    """A multimodal environment: text and an image each turn."""

    instructions = "Describe the picture."

    def new_episode(self, options):
        return {"text": "Look.", "image": np.zeros((4, 4, 3), np.uint8)}

    def play(self, action):
        return Feedback({"text": "Again.", "image": np.ones((4, 4, 3), np.uint8)})


def size(messages, measure=len) -> int:
    """The budget size of a conversation, as the docstring defines it."""
    total = 0
    for message in messages:
        text = message_text(message["content"])
        for call in message.get("tool_calls", []):
            text += call["function"]["name"] + call["function"]["arguments"]
        total += measure(text)
    return total


def play(env, actions, seed=0):
    _, info = env.reset(seed=seed)
    for action in actions:
        _, _, _, _, info = env.step(action)
    return info


def guess_env(**kwargs):
    return ChatHistory(agentgym.make("games/GuessTheNumber-v0", difficulty="easy", max_turns=None), **kwargs)


# --------------------------------------------------------------------- structure
def test_messages_are_system_then_instructions_with_observation_then_turns():
    env = guess_env()
    observation, info = env.reset(seed=0)
    instructions = env.unwrapped.instructions
    assert info["messages"] == [
        {"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
        {"role": "user", "content": f"{instructions}\n\n{observation}"},
    ]
    second, *_ = env.step("10")
    third, *_ = env.step("5")
    assert env.messages[2:] == [
        {"role": "assistant", "content": "10"},
        {"role": "user", "content": second},
        {"role": "assistant", "content": "5"},
        {"role": "user", "content": third},
    ]


def test_system_prompt_is_configurable_or_left_out():
    env = guess_env(system_prompt="Be brief.")
    _, info = env.reset(seed=0)
    assert info["messages"][0] == {"role": "system", "content": "Be brief."}
    env = guess_env(system_prompt=None)
    _, info = env.reset(seed=0)
    assert [m["role"] for m in info["messages"]] == ["user"]


def test_returned_lists_are_never_changed_later():
    env = ChatHistory(LongEcho(), max_context_chars=1500, overflow="elide")
    _, info = env.reset(seed=0)
    env.step("a")
    _, _, _, _, info = env.step("b")
    kept, snapshot = info["messages"], copy.deepcopy(info["messages"])
    for action in "cdefgh":
        _, _, _, _, info = env.step(action)
    assert kept == snapshot
    assert ELIDED.search(str(info["messages"])) and not ELIDED.search(str(kept))
    info["messages"][1]["content"] = "tampered"
    info["messages"].clear()
    assert env.messages[1]["content"].startswith("Talk to me.")


# ------------------------------------------------------------------ tool calling
def test_tool_steps_become_assistant_tool_calls_and_tool_messages(calculator):
    env = ChatHistory(ToolCalling(calculator))
    env.reset(seed=0)
    a, b = calculator.a, calculator.b
    calls = "".join(f"<tool_call>{json.dumps({'name': n, 'arguments': {'a': a, 'b': b}})}</tool_call>"
                    for n in ("mul", "add"))
    env.step(f"Let me work it out.\n{calls}")
    assistant, first, second = env.messages[2:]
    assert assistant == {
        "role": "assistant",
        "content": "Let me work it out.",
        "tool_calls": [
            {"id": f"call_{i}", "type": "function",
             "function": {"name": name, "arguments": json.dumps({"a": a, "b": b})}}
            for i, name in enumerate(("mul", "add"))
        ],
    }
    assert first == {"role": "tool", "tool_call_id": "call_0", "name": "mul", "content": str(a * b)}
    assert second == {"role": "tool", "tool_call_id": "call_1", "name": "add", "content": str(a + b)}
    env.step("<tool_call>{oops}</tool_call>")
    assert env.messages[-2] == {"role": "assistant", "content": "<tool_call>{oops}</tool_call>"}
    assert env.messages[-1]["role"] == "user" and env.messages[-1]["content"].startswith("Tool call error")
    env.step(str(a * b))
    assert env.messages[-2:] == [{"role": "assistant", "content": str(a * b)},
                                 {"role": "user", "content": "Correct!"}]


def test_openai_message_actions_keep_their_ids(calculator):
    env = ChatHistory(ToolCalling(calculator))
    env.reset(seed=0)
    env.step({"role": "assistant", "content": None, "tool_calls": [
        {"id": "xyz", "type": "function", "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'}}]})
    assert env.messages[-2]["tool_calls"][0]["id"] == "xyz" and env.messages[-2]["content"] == ""
    assert env.messages[-1] == {"role": "tool", "tool_call_id": "xyz", "name": "add", "content": "3"}


def test_image_observations_become_content_parts():
    env = ChatHistory(Picture())
    observation, info = env.reset(seed=0)
    text, image = info["messages"][1]["content"]
    assert text == {"type": "text", "text": "Describe the picture.\n\nLook."}
    assert image["type"] == "image" and image["image"] is observation["image"]
    env.step("A black square.")
    parts = env.messages[-1]["content"]
    assert parts[0] == {"type": "text", "text": "Again."} and parts[1]["image"].sum() == 4 * 4 * 3


# ------------------------------------------------------------------------ budget
def test_drop_removes_the_oldest_turns_and_leaves_a_note():
    actions = [f"guess {'x' * i}" for i in range(30)]  # invalid moves: the game goes on
    full = play(guess_env(), actions)["messages"]
    budget = 1200
    env = guess_env(max_context_chars=budget)
    info = play(env, actions)
    messages = info["messages"]
    assert size(full) > budget >= size(messages) and info["context_overflow"] is False
    assert messages[0] == full[0]
    assert messages[1]["content"].startswith(full[1]["content"])
    dropped = int(NOTE.search(messages[1]["content"]).group(1))
    kept = messages[2:]
    assert len(kept) == 2 * (30 - dropped) and kept == full[2 + 2 * dropped:]
    # dropping one turn fewer would not have fitted
    def note_size(turns):
        return len(f"\n\n[{turns} earlier turns omitted to fit the context budget]")

    last_dropped_turn = full[2 * dropped : 2 + 2 * dropped]
    assert size(messages) - note_size(dropped) + size(last_dropped_turn) + note_size(dropped - 1) > budget


def test_elide_shortens_old_observations_oldest_first_before_dropping():
    actions = list("abcde")
    full = play(ChatHistory(LongEcho()), actions)["messages"]
    observation_length = len(full[3]["content"])
    saving = observation_length - 200 - len(f"…[{observation_length - 200} characters elided]…")
    budget = size(full) - saving - saving // 2  # two elisions are needed
    env = ChatHistory(LongEcho(), max_context_chars=budget, overflow="elide")
    info = play(env, actions)
    messages = info["messages"]
    assert size(messages) <= budget and not info["context_overflow"]
    assert not NOTE.search(messages[1]["content"])
    observations = [m["content"] for m in messages[3::2]]
    assert [bool(ELIDED.search(o)) for o in observations] == [True, True, False, False, False]
    first = observations[0]
    assert first.startswith("[1] abcdefghij") and first.endswith("end 1")
    assert len(first) == 200 + len(ELIDED.search(first).group(0))
    assert int(ELIDED.search(first).group(1)) == observation_length - 200
    assert [m["content"] for m in messages if m["role"] == "assistant"] == actions


def test_elide_then_drop_when_shortening_is_not_enough():
    actions = list("abcdefgh")
    budget = 1500
    env = ChatHistory(LongEcho(), max_context_chars=budget, overflow="elide")
    messages = play(env, actions)["messages"]
    assert size(messages) <= budget
    dropped = int(NOTE.search(messages[1]["content"]).group(1))
    assert 0 < dropped < len(actions) - 1
    assert all(ELIDED.search(m["content"]) for m in messages[3:-2:2])
    assert messages[-1]["content"].endswith(f"end {len(actions)}") and not ELIDED.search(messages[-1]["content"])


def test_elide_applies_to_tool_messages(calculator):
    repeat = '<tool_call>{"name": "repeat", "arguments": {"n": 2000}}</tool_call>'
    env = ChatHistory(ToolCalling(calculator), max_context_chars=3000, overflow="elide")
    messages = play(env, [repeat, repeat])["messages"]
    assert messages[3]["role"] == "tool" and ELIDED.search(messages[3]["content"])
    assert messages[-1]["content"] == "x" * 2000 and size(messages) <= 3000


def test_system_first_and_latest_turn_are_kept_even_over_budget():
    env = ChatHistory(LongEcho(), max_context_chars=50, overflow="elide")
    _, info = env.reset(seed=0)
    assert info["context_overflow"] is True
    info = play(env, ["a", "b", "c"])
    messages = info["messages"]
    assert info["context_overflow"] is True
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert NOTE.search(messages[1]["content"]).group(1) == "2"
    assert messages[2]["content"] == "c" and messages[3]["content"].endswith("end 3")
    assert not ELIDED.search(messages[3]["content"])


def test_token_budget_uses_the_given_counter():
    def words(text):
        return len(text.split())

    actions = [f"my guess is {'x' * i}" for i in range(25)]
    budget = 150
    env = guess_env(max_context_tokens=budget, count_tokens=words)
    info = play(env, actions)
    assert size(info["messages"], words) <= budget < size(play(guess_env(), actions)["messages"], words)
    assert NOTE.search(info["messages"][1]["content"])
    assert info["messages"][-2]["content"] == actions[-1]


def test_no_budget_keeps_everything_and_reports_no_overflow():
    info = play(guess_env(), ["x"] * 40)
    assert len(info["messages"]) == 2 + 80 and info["context_overflow"] is False


def test_bad_budget_settings_are_refused():
    env = agentgym.make("games/GuessTheNumber-v0")
    with pytest.raises(ValueError, match="overflow"):
        ChatHistory(env, overflow="truncate")
    with pytest.raises(ValueError, match="not both"):
        ChatHistory(env, max_context_chars=10, max_context_tokens=10, count_tokens=len)
    with pytest.raises(ValueError, match="go together"):
        ChatHistory(env, max_context_tokens=10)
    with pytest.raises(ValueError, match="positive"):
        ChatHistory(env, max_context_chars=0)


def test_raw_assistant_keeps_tool_call_markup_for_token_exact_templates(calculator):
    from agentgym.wrappers import ChatHistory, ToolCalling

    env = ChatHistory(ToolCalling(calculator), raw_assistant=True)
    env.reset(seed=0)
    action = 'Let me add. <tool_call>{"name": "add", "arguments": {"a": 2, "b": 3}}</tool_call>'
    messages = env.step(action)[4]["messages"]
    assert messages[-2] == {"role": "assistant", "content": action}
    assert messages[-1]["role"] == "tool" and "5" in messages[-1]["content"]
