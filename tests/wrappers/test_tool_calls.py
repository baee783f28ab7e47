"""The tool-call parser: both formats, ids, malformed markup, and no input that makes it raise."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentgym.tool_calls import ParsedAction, ToolCall, message_text, parse_tool_calls


def hermes(payload) -> str:
    return f"<tool_call>{json.dumps(payload)}</tool_call>"


def test_plain_text_has_no_calls_and_is_returned_unchanged():
    parsed = parse_tool_calls("  I guess 42  ")
    assert parsed == parse_tool_calls("  I guess 42  ")
    assert parsed.text == "  I guess 42  " and parsed.calls == () and parsed.error is None


def test_hermes_blocks_in_order_with_prose_kept_apart():
    action = ("Let me compute.\n" + hermes({"name": "add", "arguments": {"a": 1, "b": 2}})
              + "\nand\n" + hermes({"name": "mul", "arguments": {"a": 3, "b": 4}}))
    parsed = parse_tool_calls(action)
    assert parsed.error is None
    assert parsed.calls == (ToolCall("call_0", "add", {"a": 1, "b": 2}),
                            ToolCall("call_1", "mul", {"a": 3, "b": 4}))
    assert parsed.text == "Let me compute.\n\nand"


def test_hermes_ids_count_from_first_index_and_string_arguments_are_decoded():
    action = hermes({"name": "add", "arguments": json.dumps({"a": 1, "b": 2})})
    parsed = parse_tool_calls(action, first_index=7)
    assert parsed.calls == (ToolCall("call_7", "add", {"a": 1, "b": 2}),)


def test_hermes_parameters_synonym_and_missing_arguments():
    assert parse_tool_calls(hermes({"name": "f", "parameters": {"x": 1}})).calls[0].arguments == {"x": 1}
    assert parse_tool_calls(hermes({"name": "f"})).calls[0].arguments == {}


def test_openai_message_dict_keeps_its_ids_and_decodes_arguments():
    message = {
        "role": "assistant",
        "content": "Calling.",
        "tool_calls": [
            {"id": "abc", "type": "function", "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'}},
            {"type": "function", "function": {"name": "mul", "arguments": {"a": 2, "b": 3}}},
        ],
    }
    parsed = parse_tool_calls(message, first_index=4)
    assert parsed.error is None and parsed.text == "Calling."
    assert parsed.calls == (ToolCall("abc", "add", {"a": 1, "b": 2}), ToolCall("call_5", "mul", {"a": 2, "b": 3}))


def test_openai_message_as_json_text():
    message = {"content": None, "tool_calls": [{"id": "x1", "function": {"name": "add", "arguments": "{}"}}]}
    parsed = parse_tool_calls(json.dumps(message))
    assert parsed.calls == (ToolCall("x1", "add", {}),) and parsed.text == ""


def test_openai_message_without_calls_gives_its_content():
    assert parse_tool_calls({"role": "assistant", "content": "42"}).text == "42"
    parsed = parse_tool_calls(json.dumps({"role": "assistant", "content": hermes({"name": "f"})}))
    assert parsed.calls == (ToolCall("call_0", "f", {}),)


def test_json_that_is_not_a_message_is_plain_text():
    move = '{"name": "move", "arguments": {"x": 1}}'
    assert parse_tool_calls(move).text == move and parse_tool_calls(move).calls == ()
    assert parse_tool_calls({"x": 1}).text is None
    assert parse_tool_calls(42).text is None


@pytest.mark.parametrize(
    ("action", "error_part"),
    [
        ("<tool_call>{not json}</tool_call>", "not valid JSON"),
        ('<tool_call>{"arguments": {}}</tool_call>', "no name"),
        ('<tool_call>{"name": "  "}</tool_call>', "no name"),
        ("<tool_call>[1, 2]</tool_call>", "JSON object"),
        ('<tool_call>{"name": "add", "arguments": {}}', "matching"),
        ('result </tool_call>', "matching"),
        ('<tool_call>{"name": "add", "arguments": "{oops"}</tool_call>', "arguments"),
        ({"tool_calls": "add"}, "must be a list"),
        ({"tool_calls": [{"id": "1"}]}, '"function"'),
        ({"tool_calls": [{"function": {"name": "add", "arguments": "{bad"}}]}, "not valid JSON"),
        ({"tool_calls": [{"function": {"arguments": "{}"}}]}, "no name"),
    ],
)
def test_malformed_markup_is_an_error_with_no_calls(action, error_part):
    parsed = parse_tool_calls(action)
    assert parsed.calls == ()
    assert parsed.error is not None and error_part in parsed.error


def test_one_malformed_block_cancels_the_good_ones():
    action = hermes({"name": "add", "arguments": {"a": 1, "b": 2}}) + "<tool_call>{</tool_call>"
    parsed = parse_tool_calls(action)
    assert parsed.calls == () and "tool call 2" in parsed.error


def test_non_object_arguments_are_returned_for_the_tool_to_reject():
    parsed = parse_tool_calls(hermes({"name": "add", "arguments": [1, 2]}))
    assert parsed.error is None and parsed.calls[0].arguments == [1, 2]


def test_to_openai_round_trips_through_the_parser():
    call = ToolCall("call_3", "add", {"a": 1, "b": 2})
    parsed = parse_tool_calls({"role": "assistant", "content": "", "tool_calls": [call.to_openai()]})
    assert parsed.calls == (call,)


def test_message_text_of_content_parts():
    parts = [{"type": "text", "text": "a"}, {"type": "image", "image": None}, {"type": "text", "text": "b"}]
    assert message_text(parts) == "ab"
    assert message_text(None) == ""


# ----------------------------------------------------------------- never raises
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_never_raises_on_arbitrary_text(text):
    parsed = parse_tool_calls(text)
    assert isinstance(parsed.text, str)
    if "tool_call>" not in text and not text.strip().startswith("{"):
        assert parsed == ParsedAction(text=text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='{}[]":, nameargumts<>/_clo0123', max_size=80))
def test_never_raises_on_text_inside_tags(body):
    parsed = parse_tool_calls(f"<tool_call>{body}</tool_call>")
    assert (parsed.error is None) == bool(parsed.calls)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["role", "content", "tool_calls", "function", "name"]), _json_values))
def test_never_raises_on_arbitrary_message_dicts(message):
    for action in (message, json.dumps(message)):
        parsed = parse_tool_calls(action)
        assert not (parsed.error and parsed.calls), "a malformed action must run nothing"


def test_a_huge_name_in_a_markup_error_is_cut():
    from agentgym.tool_calls import echo

    parsed = parse_tool_calls('<tool_call>{"name": "' + "n" * 50_000 + '", "arguments": "{oops"}</tool_call>')
    assert parsed.error is not None and len(parsed.error) < 400 and "(50000 characters)" in parsed.error
    assert echo("short") == "'short'" and echo("y" * 101).endswith("… (101 characters)")
