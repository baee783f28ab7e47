"""Exploratory round 13 of the tool layer: defects found by probes, each fixed."""

from __future__ import annotations

import copy
import pickle

import pytest

from agentgym.core import Feedback, LLMEnv
from agentgym.tools import Toolset, tool


class Notes(Toolset):
    def open(self) -> None:
        self.notes: dict[str, str] = {}

    @tool
    def write(self, key: str, text: str) -> str:
        """Keep a note under a key.

        Args:
            key: the note's name.
            text: the note.
        """
        self.notes[key] = text
        return f"saved {len(self.notes)}"


class NotesEnv(LLMEnv):
    toolsets = (Notes,)

    @tool
    def count(self) -> int:
        """How many notes there are."""
        return len(self.toolset(Notes).notes)

    def new_episode(self, options):
        return "Take notes."

    def play(self, action):
        return Feedback("done", {"outcome": 1.0}, terminated=True)


def _pickled(value):
    return pickle.loads(pickle.dumps(value))


@pytest.mark.parametrize("copier", [copy.deepcopy, _pickled], ids=["deepcopy", "pickle"])
def test_an_environment_with_a_toolset_copies_after_its_episode_has_ended(copier):
    # After one episode the toolset kept its lifecycle lock (and its tools bound to it): every
    # copy or pickle failed with "cannot pickle '_thread.lock' object", though the contract
    # refuses a copy only while a toolset is open.
    env = NotesEnv()
    try:
        env.reset(seed=0)
        assert env.call_tool("write", {"key": "a", "text": "b"}).content == "saved 1"
        assert env.step("bye")[2]
        twin = copier(env)
        try:
            twin.reset(seed=1)
            assert twin.call_tool("write", {"key": "c", "text": "d"}).content == "saved 1"
            assert twin.call_tool("count", {}).content == "1"
            assert twin.toolset(Notes) is not env.toolset(Notes) and not env.toolset(Notes).is_open
        finally:
            twin.close()
    finally:
        env.close()


def test_a_toolset_is_not_copied_while_it_is_open():
    env = NotesEnv()
    try:
        env.reset(seed=0)
        with pytest.raises(TypeError, match="open"):
            copy.deepcopy(env.toolset(Notes))
    finally:
        env.close()


@pytest.mark.parametrize("fence", ['```python title="solve.py"', "```python {.numberLines}", '```py linenums="1"',
                                   "```Python  hl_lines=2"])
def test_a_fence_whose_info_string_starts_with_the_language_is_a_code_block(fence):
    # Markdown's language is the first word of the info string: a block opened with
    # ```python title="solve.py" was prose, so the agent's code silently never ran.
    from agentgym.tools.formats import parse_action, resolve_formats

    parsed = parse_action(f"Let me compute it.\n{fence}\nprint(6 * 7)\n```", resolve_formats(("python-fenced",)))
    assert [(call.name, call.arguments) for call in parsed.calls] == [("python", {"code": "print(6 * 7)"})]
    assert (parsed.text, parsed.error) == ("Let me compute it.", None)


def test_a_fence_of_another_language_with_python_in_its_info_string_stays_prose():
    from agentgym.tools.formats import parse_action, resolve_formats

    action = "```text python\nnot code\n```"
    assert parse_action(action, resolve_formats(("python-fenced",))).calls == ()


@pytest.mark.parametrize("action", [
    '<tool_call>{"name": "f", "arguments": null, "parameters": {"a": 1}}</tool_call>',
    '<tool_call>{"name": "f", "arguments": "null", "parameters": {"a": 1}}</tool_call>',
    '{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": null, "parameters": {"a": 1}}}]}',
])
def test_parameters_are_read_when_arguments_is_null(action):
    # "parameters" is the documented synonym of "arguments", but beside "arguments": null it was
    # dropped: the tool ran with no arguments (or the agent read "missing required argument").
    from agentgym.tools.formats import parse_action, resolve_formats

    parsed = parse_action(action, resolve_formats(("hermes", "openai")))
    assert parsed.error is None and [call.arguments for call in parsed.calls] == [{"a": 1}]


@pytest.mark.parametrize("arguments", ['"null"', "null", '""'])
def test_arguments_null_or_the_json_string_null_mean_none(arguments):
    # "arguments": null meant no arguments, but the JSON string "null" (an OpenAI-style
    # arguments string) gave "arguments of f must be a JSON object, got null".
    from agentgym.tools.formats import parse_action, resolve_formats

    action = f'<tool_call>{{"name": "f", "arguments": {arguments}}}</tool_call>'
    parsed = parse_action(action, resolve_formats(("hermes",)))
    assert parsed.error is None and [call.arguments for call in parsed.calls] == [{}]
