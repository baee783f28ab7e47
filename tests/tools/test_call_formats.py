"""Every tool-call format's parser: calls, prose, ids, and each kind of malformed markup."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentgym.core import ConfigError
from agentgym.tools import FencedCodeFormat, FormatMatch, TagFormat, ToolCall, parse_action, resolve_formats
from agentgym.tools.formats import FORMATS, HERMES, OPENAI, PYTHON_FENCED, PYTHON_TAG, SEARCH_TAG, SQL_TAG

ALL = resolve_formats(FORMATS)


def parse(action, *names, first_index=0):
    return parse_action(action, resolve_formats(names or FORMATS), first_index=first_index)


# ------------------------------------------------------------------ tag formats
def test_python_tag_calls_the_python_tool_with_dedented_code_and_keeps_the_prose():
    parsed = parse("Let me check.\n<python>\n    x = 2\n    print(x * 3)\n</python>\nThen answer.", "python")
    assert parsed.error is None and parsed.format == "python"
    assert parsed.calls == (ToolCall("call_0", "python", {"code": "x = 2\nprint(x * 3)"}),)
    assert parsed.text == "Let me check.\n\nThen answer."


def test_python_tag_unwraps_a_fence_written_inside_it():
    parsed = parse("<python>\n```python\nprint(1)\n```\n</python>")  # every format enabled
    assert parsed.error is None, parsed.error
    assert parsed.calls == (ToolCall("call_0", "python", {"code": "print(1)"}),)


def test_several_blocks_are_several_calls_numbered_from_first_index():
    parsed = parse("<sql>SELECT 1</sql> and <sql>\n SELECT 2 \n</sql>", "sql", first_index=5)
    assert parsed.calls == (ToolCall("call_5", "sql", {"query": "SELECT 1"}),
                            ToolCall("call_6", "sql", {"query": "SELECT 2"}))
    assert parsed.text == "and"


def test_search_tag():
    parsed = parse("I need facts. <search> capital of France </search>", "search")
    assert parsed.calls == (ToolCall("call_0", "search", {"query": "capital of France"}),)


@pytest.mark.parametrize(("action", "problem"), [
    ("<python>print(1)", "unclosed <python>: end the code with </python>"),
    ("print(1)</python>", "</python> without an opening <python>"),
    ("<python></python>", "empty <python> block"),
    ("<python>  \n\t </python>", "empty <python> block"),
    ("<python>a<python>b</python></python>", "opens before the previous <python> is closed"),
    ("<python>a</python></python>", "</python> without an opening <python>"),
    ("</python>a<python>", "</python> without an opening <python>"),
    ("<python>a</python> then <python>b", "unclosed <python>"),
])
def test_malformed_tags_are_errors_that_name_the_problem(action, problem):
    parsed = parse(action, "python")
    assert parsed.calls == () and parsed.format == "python"
    assert problem in parsed.error, parsed.error


def test_tags_are_matched_exactly():
    assert parse("<Python>print(1)</Python> <python_x>", "python").calls == ()
    assert parse("<Python>print(1)</Python>", "python").error is None


# ------------------------------------------------------------------ fenced code
def test_fenced_python_blocks_are_calls_and_other_languages_are_prose():
    action = ("Plan:\n```text\nnot code\n```\n```python\nimport math\nprint(math.pi)\n```\n"
              "and\n```py\nprint(2)\n```\n```\nplain\n```")
    parsed = parse(action, "python-fenced")
    assert parsed.error is None
    assert [c.arguments["code"] for c in parsed.calls] == ["import math\nprint(math.pi)", "print(2)"]
    assert "not code" in parsed.text and "plain" in parsed.text and "math" not in parsed.text


def test_text_without_our_fences_is_plain_text():
    for text in ["no code", "inline ```python x``` is not a block", "```bash\nls\n```", "```\nunclosed other"]:
        parsed = parse(text, "python-fenced")
        assert parsed.calls == () and parsed.error is None and parsed.text == text


@pytest.mark.parametrize(("action", "problem"), [
    ("```python\nprint(1)\n", "unclosed ```python block"),
    ("```python\n```", "empty ```python block"),
    ("```python\n   \n\n```", "empty ```python block"),
    ("```python\na = 1\n```python\nb = 2\n```", "opens inside another"),
])
def test_malformed_fences(action, problem):
    parsed = parse(action, "python-fenced")
    assert parsed.calls == () and problem in parsed.error, parsed.error


def test_custom_tag_and_fence_formats():
    bash = TagFormat("bash", tool="shell", argument="command")
    assert parse_action("<bash>ls -l</bash>", [bash]).calls == (ToolCall("call_0", "shell", {"command": "ls -l"}),)
    sql_fence = FencedCodeFormat(languages=("sql",), tool="sql", argument="query", name="sql-fenced")
    assert parse_action("```sql\nSELECT 1\n```", [sql_fence]).calls[0].arguments == {"query": "SELECT 1"}
    assert sql_fence.example == "```sql\nquery\n```"
    with pytest.raises(ValueError, match="tag must be a name"):
        TagFormat("not a tag", tool="x", argument="y")
    with pytest.raises(ValueError, match="languages"):
        FencedCodeFormat(languages="python")


# ------------------------------------------------------------------ Hermes and OpenAI
def test_hermes_and_openai_through_parse_action():
    hermes = '<tool_call>{"name": "add", "arguments": {"a": 1}}</tool_call>'
    assert parse(hermes, "hermes").calls == (ToolCall("call_0", "add", {"a": 1}),)
    message = {"role": "assistant", "content": "hi", "tool_calls": [
        {"id": "x", "function": {"name": "add", "arguments": '{"a": 2}'}}]}
    parsed = parse(message, "openai")
    assert parsed.calls == (ToolCall("x", "add", {"a": 2}),) and parsed.format == "openai"
    assert parse(json.dumps(message), "openai").calls == parsed.calls


def test_a_message_without_calls_has_its_content_read_by_the_text_formats():
    parsed = parse({"role": "assistant", "content": "<python>print(1)</python>"}, "openai", "python")
    assert parsed.calls == (ToolCall("call_0", "python", {"code": "print(1)"}),)


def test_without_the_openai_format_a_message_is_not_understood():
    assert parse({"role": "assistant", "content": "x"}, "hermes").text is None
    text = json.dumps({"role": "assistant", "content": "x"})
    assert parse(text, "hermes").text == text  # just text


@pytest.mark.parametrize("fmt", [HERMES, OPENAI], ids=lambda f: f.name)
def test_every_malformed_example_of_the_json_formats_is_an_error(fmt):
    for example in fmt.malformed_examples:
        parsed = parse_action(example, [fmt])
        assert parsed.error and parsed.calls == (), example


@pytest.mark.parametrize("piece", ["<tool_call>", "<tool_call>{", "<tool_call></tool_call><tool_call>",
                                   "<python>", "```python\n", "<sql>", "<search>", "</tool_call>"])
def test_a_degenerate_repetition_is_read_in_linear_time(piece):
    # A model stuck repeating "<tool_call>" (16,000 times: 176,000 characters) took the Hermes
    # parser half a minute (each unclosed tag was scanned to the end of the text: quadratic), a
    # hang of the step for every length a sampler allows; linear, it is milliseconds.
    import time

    action = piece * 16_000
    started = time.perf_counter()
    parsed = parse_action(action, ALL)
    assert time.perf_counter() - started < 3.0, piece
    assert parsed.error or parsed.calls


def test_hermes_blocks_pair_each_opening_tag_with_the_first_closing_tag_after_it():
    hermes = '<tool_call>{"name": "a", "arguments": {}}</tool_call>'
    other = hermes.replace('"a"', '"b"')
    assert [c.name for c in parse(f"x {hermes} y {other} z", "hermes").calls] == ["a", "b"]
    assert "needs a matching" in parse(f"{hermes}<tool_call>", "hermes").error
    assert "needs a matching" in parse(f"</tool_call>{hermes}", "hermes").error
    assert "needs a matching" in parse("<tool_call><tool_call>{}</tool_call></tool_call>", "hermes").error
    assert "not valid JSON" in parse("<tool_call><tool_call>{}</tool_call>", "hermes").error


@pytest.mark.parametrize("fmt", [PYTHON_TAG, SQL_TAG, SEARCH_TAG, PYTHON_FENCED], ids=lambda f: f.name)
def test_every_malformed_example_of_the_code_formats_is_an_error(fmt):
    for example in fmt.malformed_examples:
        parsed = parse_action(example, ALL)
        assert parsed.error and parsed.calls == () and parsed.format == fmt.name, (example, parsed)


# ------------------------------------------------------------------ several formats
def test_two_formats_in_one_action_is_an_error():
    action = '<tool_call>{"name": "add", "arguments": {}}</tool_call> and <python>print(1)</python>'
    parsed = parse(action)
    assert parsed.calls == () and "mixes two tool-call formats (hermes and python)" in parsed.error
    parsed = parse("<search>x</search><sql>SELECT 1</sql>", "sql", "search")
    assert "mixes" in parsed.error


def test_markup_inside_another_formats_block_belongs_to_it():
    code = "s = '<python>'\nprint('```python')"
    action = HERMES.render("python", {"code": code})
    parsed = parse(action)
    assert parsed.error is None and parsed.calls == (ToolCall("call_0", "python", {"code": code}),)
    parsed = parse("<python>\nx = '<sql>'\n</python>")
    assert parsed.error is None and parsed.calls[0].name == "python"


def test_an_error_outside_any_block_still_counts_as_mixing():
    parsed = parse("<python>print(1)</python> and a stray </sql>")
    assert "mixes" in parsed.error


def test_render_writes_what_the_format_reads():
    for fmt, name, arguments in [(HERMES, "add", {"a": 1}), (PYTHON_TAG, "python", {"code": "print(1)"}),
                                 (PYTHON_FENCED, "python", {"code": "print(1)"}), (SQL_TAG, "sql", {"query": "S"})]:
        assert parse_action(fmt.render(name, arguments), [fmt]).calls == (ToolCall("call_0", name, arguments),)
    assert parse_action(OPENAI.render("add", {"a": 1}), [OPENAI]).calls[0].arguments == {"a": 1}
    assert PYTHON_TAG.render("sql", {"query": "x"}) is None and PYTHON_TAG.render("python", {"x": 1}) is None


def test_a_broken_custom_format_is_reported_not_raised():
    class Broken:
        name, example = "broken", "<b>x</b>"

        def find(self, text):
            raise RuntimeError("bug")

    parsed = parse_action("anything", [HERMES, Broken()])
    assert parsed.calls == () and "broken format could not read the action" in parsed.error


def test_resolve_formats_names_the_bad_entry():
    assert [f.name for f in resolve_formats(["python", "hermes", "python"])] == ["python", "hermes"]
    with pytest.raises(ConfigError, match="unknown tool-call format 'pyhton'; built-in formats: hermes"):
        resolve_formats(["pyhton"])
    with pytest.raises(ConfigError, match="is not a tool-call format"):
        resolve_formats([object()])
    with pytest.raises(ConfigError, match="must be a list"):
        resolve_formats("hermes")


def test_a_custom_format_object():
    class Bang:
        name, example = "bang", "!tool arg"

        def find(self, text):
            if not text.startswith("!"):
                return None
            name, _, arg = text[1:].partition(" ")
            return FormatMatch((ToolCall("", name, {"arg": arg}),), ((0, len(text)),))

    assert parse_action("!echo hi", [Bang()]).calls == (ToolCall("call_0", "echo", {"arg": "hi"}),)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(alphabet="<>/pythonsqlearch`{}\":, \nx", max_size=80), st.text(max_size=40)))
def test_no_text_makes_any_format_raise(text):
    parsed = parse_action(text, ALL)
    assert (parsed.calls == ()) or parsed.error is None
    assert parsed.error is None or isinstance(parsed.error, str)
