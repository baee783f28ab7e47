"""Hostile payloads *inside* well-formed calls, in every format each tools environment reads:
text that is not valid unicode (lone surrogates), NUL characters, 200,000 characters of text, JSON
nested thousands deep, control and bidirectional characters. ``check_tool_calls`` sends valid
text of the wrong shape; these are the right shape with poisoned content, which is what
reaches a sandbox, a database or an MCP server. Each step must answer (never raise), stay
within the wrapper's output bound, keep the episode's session (sandboxed interpreter, MCP
server) alive, and leave the environment usable. (A lone surrogate in a
fenced solution made ``tools/CodeDataset-v0`` raise ``UnicodeEncodeError``; in a ``<python>``
call it killed the session's interpreter; in an MCP call's argument it killed the server.)"""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import gymnasium as gym
import pytest

import agentgym
from agentgym.envs.tools import TOOL_ENV_IDS
from agentgym.tools import FencedCodeFormat, HermesFormat, OpenAIMessageFormat, TagFormat
from agentgym.wrappers import ToolCalling

runpy.run_path(str(Path(__file__).resolve().parents[2] / "examples" / "custom_tool.py"))  # mine/Bill-v0

PAYLOADS = {
    "lone-surrogates": "caf\ud800 \udfff end",
    "nul": "before\x00after",
    "big": "z" * 200_000,
    "controls": "\x1b[2J\u202eevil\u2066\r\x07" + "\ufeff" * 3,
    "astral": "\U0001F600" * 1000,
}
DEEP = "[" * 5_000 + "]" * 5_000
# What an observation says when a call took the episode's session down with it.
SESSION_LOST = ("the Python session was restarted", "the MCP server went away", "the MCP server is not running")


def tool_calling(env: gym.Env) -> ToolCalling | None:
    while isinstance(env, gym.Wrapper):
        if isinstance(env, ToolCalling):
            return env
        env = env.env
    return None


def poisoned_actions(env: gym.Env) -> list[tuple[str, object]]:
    """``(what, action)`` pairs: each payload in each of the environment's formats, plus the
    plain-text answers and tags every environment reads."""
    actions: list[tuple[str, object]] = []
    for name, payload in PAYLOADS.items():
        actions += [(f"text {name}", payload), (f"answer {name}", f"<answer>{payload}</answer>"),
                    (f"sql {name}", f"<sql>{payload}</sql>"), (f"boxed {name}", f"\\boxed{{{payload}}}")]
    wrapper = tool_calling(env)
    if wrapper is None:
        return actions
    tools = env.unwrapped.all_tools()
    for fmt in wrapper.formats:
        for name, payload in PAYLOADS.items():
            if isinstance(fmt, TagFormat):
                actions.append((f"{fmt.name} {name}", f"<{fmt.tag}>{payload}</{fmt.tag}>"))
            elif isinstance(fmt, FencedCodeFormat):
                actions.append((f"{fmt.name} {name}", f"```{fmt.languages[0]}\n{payload}\n```"))
            elif isinstance(fmt, (HermesFormat, OpenAIMessageFormat)):
                for tool in tools:
                    arguments = {key: payload for key in tool.parameters.get("properties", {})} or {"x": payload}
                    actions.append((f"{fmt.name} {tool.name} {name}", fmt.render(tool.name, arguments)))
        if isinstance(fmt, HermesFormat):
            actions.append(("hermes deep JSON", f'<tool_call>{{"name": "{tools[0].name}", "arguments": '
                                                f'{{"x": {DEEP}}}}}</tool_call>'))
        if isinstance(fmt, OpenAIMessageFormat):
            actions.append(("openai deep JSON", {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": tools[0].name, "arguments": '{"x": ' + DEEP + "}"}}]}))
    return actions


@pytest.mark.parametrize("env_id", [*TOOL_ENV_IDS, "mine/Bill-v0"])
def test_poisoned_payloads_in_every_format_are_answered(env_id):
    env = agentgym.make(env_id)
    wrapper = tool_calling(env)
    bound = wrapper.max_observation_chars + 200 * (wrapper.max_calls_per_action + 1) if wrapper else 100_000
    try:
        env.reset(seed=0)
        actions = poisoned_actions(env)
        assert len(actions) >= 20
        for what, action in actions:
            try:
                observation, reward, terminated, truncated, info = env.step(action)
            except Exception as exc:  # name the payload that broke it
                raise AssertionError(f"{env_id}: {what}: step raised {exc!r}") from exc
            assert isinstance(observation, str) and len(observation) <= bound, (what, len(observation))
            assert not any(lost in observation for lost in SESSION_LOST), (what, observation[:300])
            json.dumps(info, default=str)  # the step's info can be recorded
            if terminated or truncated:
                env.reset(seed=0)
        # still usable: the oracle finishes an episode
        env.reset(seed=1)
        for _ in range(30):
            *_, terminated, truncated, info = env.step(env.unwrapped.oracle_action())
            if terminated or truncated:
                break
        assert info["success"], f"{env_id}: the oracle failed after the payloads"
    finally:
        env.close()
