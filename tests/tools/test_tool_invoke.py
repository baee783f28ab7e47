"""Running one call: argument checks with messages for the agent, injected values, sync and async
tools, timeouts that leave nothing behind, results as text."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Optional

import pytest

from agentgym.tools import Injected, Tool, ToolError, ainvoke, invoke, render_result, tool


@tool
def search(query: str, limit: int = 3, exact: bool = False, tags: Optional[list[str]] = None) -> list[str]:
    """Search the notes.

    Args:
        query: what to look for.
        limit: the most results.
    """
    return [f"{query}-{i}" for i in range(limit)]


@pytest.mark.parametrize(("arguments", "message"), [
    ({"query": 5}, "argument 'query' of search must be a string, got the number 5"),
    ({"query": "x", "limit": "ten"}, "argument 'limit' of search must be an integer, got the string 'ten'"),
    ({"query": "x", "limit": 2.5}, "argument 'limit' of search must be an integer, got the number 2.5"),
    ({"query": "x", "limit": True}, "argument 'limit' of search must be an integer, got true"),
    ({"query": "x", "exact": "yes"}, "argument 'exact' of search must be true or false, got the string 'yes'"),
    ({"query": "x", "tags": "a"}, "argument 'tags' of search must be an array of strings or null, got the string 'a'"),
    ({"query": "x", "tags": ["a", 3]}, "item 1 of argument 'tags' of search must be a string, got the number 3"),
    ({}, "search is missing required argument(s): query"),
    ({"query": "x", "lmit": 2}, "search got unknown argument(s): lmit; it takes: query, limit, exact, tags"),
    ([1], "arguments of search must be a JSON object, got an array of 1 item"),
    (None, "arguments of search must be a JSON object, got null"),
])
def test_bad_arguments_say_what_is_wrong(arguments, message):
    outcome = invoke(search, arguments)
    assert not outcome.ok and outcome.failure == "arguments" and outcome.seconds == 0.0
    assert outcome.content == f"Error: {message}.", outcome.content


def test_several_type_problems_are_reported_together_and_integral_floats_are_integers():
    outcome = invoke(search, {"query": 1, "limit": "x", "exact": 0})
    assert outcome.content.count("must be") == 3
    outcome = invoke(search, {"query": "q", "limit": 2.0})
    assert outcome.ok and outcome.content == '["q-0", "q-1"]'


def test_huge_and_hostile_arguments_are_answered_briefly():
    outcome = invoke(search, {"query": "x", "y" * 100_000: 1})
    assert not outcome.ok and len(outcome.content) < 500
    outcome = invoke(search, {"query": "x", "limit": "9" * 100_000})
    assert not outcome.ok and "(100000 characters)" in outcome.content and len(outcome.content) < 500
    outcome = invoke(search, {"query": 10**300})
    assert not outcome.ok and len(outcome.content) < 500


def test_schema_keywords_of_hand_written_tools_are_checked():
    schema = {"type": "object", "additionalProperties": False, "required": ["n", "word", "point"], "properties": {
        "n": {"type": "integer", "minimum": 1, "maximum": 10},
        "word": {"type": "string", "minLength": 2, "pattern": "^[a-z]+$"},
        "point": {"type": "object", "required": ["x"], "properties": {"x": {"type": "number"}},
                  "additionalProperties": False},
        "items": {"type": "array", "maxItems": 2}}}
    echo = Tool("echo", "Echo.", lambda **kw: kw, schema)
    good = {"n": 3, "word": "ab", "point": {"x": 1}}
    assert invoke(echo, good).ok
    for bad, message in [({**good, "n": 0}, "must be at least 1"), ({**good, "n": 11}, "must be at most 10"),
                         ({**good, "word": "a"}, "at least 2 characters"), ({**good, "word": "AB"}, "must match"),
                         ({**good, "point": {}}, "is missing the key(s) x"),
                         ({**good, "point": {"x": "1"}}, "key 'x' of argument 'point' of echo must be a number"),
                         ({**good, "point": {"x": 1, "y": 2}}, "unknown key(s) y"),
                         ({**good, "items": [1, 2, 3]}, "at most 2 items")]:
        outcome = invoke(echo, bad)
        assert not outcome.ok and message in outcome.content, outcome.content


def test_errors_of_the_tool_become_error_results():
    @tool
    def divide(a: float, b: float) -> float:
        """Divide."""
        if b == 0:
            raise ToolError("cannot divide by zero")
        return a / b

    @tool
    def broken() -> str:
        """Broken."""
        raise KeyError("gone")

    assert invoke(divide, {"a": 1, "b": 4}).content == "0.25"
    assert invoke(divide, {"a": 1, "b": 0}).content == "Error: cannot divide by zero"
    outcome = invoke(broken, {})
    assert outcome.content == "Error: broken failed: KeyError: 'gone'" and outcome.failure == "error"


def test_results_are_rendered_as_text():
    assert render_result("plain") == "plain"
    assert render_result({"a": [1, "é"]}) == '{"a": [1, "é"]}'
    assert render_result((1, 2)) == "[1, 2]"
    assert render_result(b"bytes \xff") == "bytes \ufffd"
    assert render_result(3.5) == "3.5" and render_result(None) == "None"
    circular: list = []
    circular.append(circular)
    assert render_result(circular) == "[[...]]"


def test_an_integer_past_pythons_digit_limit_is_a_result_not_a_failure_of_the_tool():
    # str(10**5000) raises ValueError (sys.get_int_max_str_digits, 4300): the agent read "Error:
    # power failed: ValueError: ... use sys.set_int_max_str_digits()", a tool that had worked.
    @tool
    def power(base: int, exponent: int) -> int:
        """Raise a whole number to a power."""
        return base ** exponent

    outcome = invoke(power, {"base": 10, "exponent": 5000})
    assert outcome.ok and outcome.content == "1" + "0" * 5000
    # inside a container it is a JSON string of its digits
    assert render_result({"value": 10 ** 5000, "note": "é"}) == '{"value": "1' + "0" * 5000 + '", "note": "é"}'
    assert render_result([2, (10 ** 5000,)]) == '[2, ["1' + "0" * 5000 + '"]]'
    assert render_result(-(10 ** 300_000)) == "-(an integer of 300,001 digits: too long to write out)"


def test_injected_arguments_are_filled_from_the_environment():
    @tool
    def whoami(greeting: str, session_id: Injected[str], verbose: Injected[bool] = False) -> str:
        """Say who the session is."""
        return f"{greeting} {session_id} {verbose}"

    assert invoke(whoami, {"greeting": "hi"}, injections=lambda: {"session_id": "s-1"}).content == "hi s-1 False"
    outcome = invoke(whoami, {"greeting": "hi"}, injections=lambda: {})
    assert not outcome.ok and "does not provide its injected argument 'session_id'" in outcome.content


def test_async_tools_run_to_completion_from_sync_code_and_on_a_loop():
    @tool
    async def slow_echo(text: str) -> str:
        """Echo after a pause."""
        await asyncio.sleep(0.01)
        return text.upper()

    assert invoke(slow_echo, {"text": "hi"}).content == "HI"
    assert asyncio.run(ainvoke(slow_echo, {"text": "yo"})).content == "YO"
    assert asyncio.run(ainvoke(search, {"query": "q", "limit": 1})).content == '["q-0"]'
    # A sync function that returns a coroutine is awaited too.
    lazy = Tool("lazy", "Lazy.", lambda: slow_echo.fn("late"))
    assert invoke(lazy, {}).content == "LATE"


def test_a_sync_tool_past_its_timeout_is_an_error_and_its_thread_ends(resources):
    release = threading.Event()

    @tool(timeout=0.2)
    def stuck(seconds: float) -> str:
        """Wait."""
        release.wait(seconds)
        return "finished"

    started = time.perf_counter()
    outcome = invoke(stuck, {"seconds": 30})
    elapsed = time.perf_counter() - started
    assert not outcome.ok and outcome.failure == "timeout" and 0.2 <= elapsed < 5
    assert outcome.content == "Error: stuck did not finish within 0.2 seconds and was stopped waiting for; try a smaller request."
    assert "agentgym-tool-stuck" in {t.name for t in threading.enumerate()}
    release.set()
    resources.assert_released()  # the abandoned call ended with the function: no thread left
    assert invoke(stuck, {"seconds": 0}).content == "finished"


def test_an_async_tool_past_its_timeout_is_cancelled():
    cancelled = []

    @tool(timeout=0.1)
    async def hang() -> str:
        """Hang."""
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return "never"

    for run in (lambda: invoke(hang, {}), lambda: asyncio.run(ainvoke(hang, {}))):
        outcome = run()
        assert outcome.failure == "timeout" and "did not finish within 0.1 seconds" in outcome.content
    assert cancelled == [True, True]


def test_an_async_tool_that_ignores_its_cancellation_still_times_out():
    # invoke's own event loop (asyncio.run) waited at its shutdown for the cancelled call, which
    # never ends: the bound of 0.2 s became a hang. The call is left to finish in a daemon thread,
    # as a sync tool's is, and that thread ends when the tool does.
    release = threading.Event()

    @tool(timeout=0.2)
    async def stubborn() -> str:
        """Hang, ignoring cancellation."""
        while not release.is_set():
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                pass
        return "late"

    box = {}
    caller = threading.Thread(target=lambda: box.setdefault("outcome", invoke(stubborn, {})), daemon=True)
    caller.start()
    caller.join(10)
    assert not caller.is_alive(), "invoke hung on a tool that ignores its cancellation"
    assert box["outcome"].failure == "timeout"
    left = [t for t in threading.enumerate() if t.name.startswith("agentgym-tool-stubborn")]
    assert len(left) == 1
    release.set()
    left[0].join(10)
    assert not left[0].is_alive()


def test_a_timeout_error_the_tool_raises_itself_is_not_our_timeout():
    @tool(timeout=5)
    async def upstream() -> str:
        """Call a slow service."""
        raise TimeoutError("the service timed out")

    outcome = invoke(upstream, {})
    assert outcome.failure == "error" and outcome.content == "Error: upstream failed: TimeoutError: the service timed out"


def test_a_sync_tool_with_a_timeout_runs_in_its_own_thread_and_one_without_in_the_callers():
    threads = {}

    @tool(timeout=5)
    def bounded() -> str:
        """Where am I."""
        threads["bounded"] = threading.current_thread()
        return "ok"

    @tool
    def inline() -> str:
        """Where am I."""
        threads["inline"] = threading.current_thread()
        return "ok"

    invoke(bounded, {}), invoke(inline, {})
    assert threads["inline"] is threading.current_thread() is not threads["bounded"]


def test_a_tool_that_calls_sys_exit_is_an_error_result_in_every_mode():
    # A tool's sys.exit() (argparse does it on a bad argument) is the tool's failure, as any
    # exception it raises: it must not end the rollout, nor stop the event loop it ran on.
    def leave() -> str:
        """Leave."""
        raise SystemExit(2)

    async def aleave() -> str:
        """Leave."""
        raise SystemExit(2)

    message = "Error: leave failed: it called sys.exit(2)"
    for made in (tool(leave), tool(timeout=5.0)(leave), tool(name="leave")(aleave),
                 tool(name="leave", timeout=5.0)(aleave)):
        outcome = invoke(made, {})
        assert (outcome.content, outcome.ok, outcome.failure) == (message, False, "error")

        async def on_a_loop(made=made):
            first = await ainvoke(made, {})
            second = await ainvoke(made, {})  # the loop survived the first
            return first, second

        for outcome in asyncio.run(on_a_loop()):
            assert (outcome.content, outcome.ok, outcome.failure) == (message, False, "error")
