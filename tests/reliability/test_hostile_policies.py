"""Hostile policies through the whole stack: the rollout engine, real games, real wrappers.

A policy is whatever a model (or a bug) makes of it. These policies write every kind of text an
environment must survive — empty, a megabyte, binary garbage, lone surrogates, NUL bytes,
control characters, emoji, right-to-left text, invalid JSON tool calls, thousands of tool
calls, bytes instead of text — or misbehave as a back-end: raise, return too few or too many
generations, return things that are not generations, hang. Each probe runs a fixed number of
episodes through :func:`agentgym.rollout.rollout` (``ChatHistory`` always; ``AnswerFormat`` and
``ToolCalling`` in some runs) and checks that nothing escapes: every episode ends with a
trajectory (with its error when the policy failed), ``trajectories.jsonl`` reads back whole with
:class:`~agentgym.trajectory.TrajectoryReader`, and no thread or descriptor is left open.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import agentgym
from agentgym import Feedback, InvalidAction, LLMEnv, Tool
from agentgym.policies.base import Generation, Policy, Request, SamplingParams
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.trajectory import TrajectoryReader
from agentgym.wrappers import AnswerFormat, ToolCalling

ONE_MB = "A" * 2**20
ADD_CALL = '<tool_call>{"name": "add", "arguments": {"a": 1, "b": 2}}</tool_call>'

#: what a hostile policy writes (the text of a generation)
HOSTILE_TEXTS: dict[str, str] = {
    "empty": "",
    "whitespace": " \t\n\r\x0b\x0c ",
    "binary garbage": bytes(range(256)).decode("latin-1"),
    "undecodable bytes": b"\xff\xfe\xc3\x28\xa0\xa1".decode("utf-8", "surrogateescape"),
    "lone surrogate": "\ud800",
    "surrogates in an answer": "<answer>\udfff\ud800</answer>",
    "NUL bytes": "\x00" * 64 + "5\x00",
    "control characters": "".join(map(chr, range(32))) + "\x7f\x85\x9b\u2028\u2029",
    "emoji": "🎲🤖 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 5",
    "RTL text": "\u202e7\u202c مرحبا שלום \u200f12\u200e",
    "combining marks": "e" + "\u0301" * 5000,
    "BOM and non-characters": "\ufeff\ufffe\uffff\U0010ffff",
    "invalid JSON tool call": '<tool_call>{"name": "add", "arguments": {"a": 1, </tool_call>',
    "unclosed tool call": '<tool_call>{"name": "add"',
    "tool call without a name": '<tool_call>{"arguments": {}}</tool_call>',
    "unknown tool": '<tool_call>{"name": "rm -rf /", "arguments": {}}</tool_call>',
    "thousands of tool calls": ADD_CALL * 3000,
    "deeply nested JSON": "<tool_call>" + "[" * 50_000 + "</tool_call>",
    "OpenAI message JSON garbage": '{"role": "assistant", "tool_calls": [{"function": {"name": 7}}]}',
    "answer tags, nested": "<answer><answer>5</answer></answer>" * 100,
    "format string": "%s%n{0}{__class__}${x}",
    "one megabyte": ONE_MB,
}
RARE = {"one megabyte"}  # used a few times only: each costs a megabyte per message in the log


class HostileText(Policy):
    """Writes hostile texts, and hostile generations: bytes for text, garbage native tool calls,
    a finish reason that does not exist, log-probs of the wrong shape."""

    name = "hostile-text"

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.used: set[str] = set()
        self.common = [k for k in HOSTILE_TEXTS if k not in RARE]

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        return [self._one() for _ in requests]

    def _one(self) -> Any:
        roll = self.rng.random()
        if roll < 0.01:
            kind = "one megabyte"
        elif roll < 0.06:
            kind = self.rng.choice(["bytes", "native tool calls", "thousands of native tool calls",
                                    "odd fields"])
            self.used.add(kind)
            if kind == "bytes":
                return Generation(b"\xff\x00\xfe5")  # type: ignore[arg-type]
            if kind == "native tool calls":
                return Generation("", tool_calls=[{"nonsense": 1}, {"function": {"name": "add", "arguments": "{"}}])
            if kind == "thousands of native tool calls":
                call = {"id": "c", "type": "function", "function": {"name": "add", "arguments": '{"a":1,"b":2}'}}
                return Generation("", tool_calls=[call] * 2000)
            return Generation("5", finish_reason="banana", logprobs=[float("nan"), "x"],  # type: ignore[list-item]
                              token_ids=["?"], metadata={"self": object()})  # type: ignore[list-item]
        else:
            kind = self.rng.choice(self.common)
        self.used.add(kind)
        return Generation(HOSTILE_TEXTS[kind])


class Chaotic(Policy):
    """A back-end that fails in every way, call after call in turn: raises, returns too few or
    too many generations, returns strings or ``None`` instead of generations, or answers."""

    name = "chaotic"
    KINDS = ("raise", "too few", "fine", "too many", "strings", "fine", "nones")

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.calls: dict[str, int] = {}

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Any]:
        kind = self.KINDS[sum(self.calls.values()) % len(self.KINDS)]
        self.calls[kind] = self.calls.get(kind, 0) + 1
        fine = [Generation(self.rng.choice(list(HOSTILE_TEXTS.values())[:12])) for _ in requests]
        if kind == "raise":
            raise ConnectionResetError("the server went away")
        if kind == "too few":
            return fine[:-1]
        if kind == "too many":
            return fine + fine
        if kind == "strings":
            return ["5"] * len(requests)
        if kind == "nones":
            return [None] * len(requests)
        return fine


class Hanging(Policy):
    """Answers its first calls, then never again."""

    name = "hanging"

    def __init__(self, answered_calls: int) -> None:
        self.left = answered_calls

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        if self.left <= 0:
            await asyncio.Event().wait()  # forever (until the rollout cancels it)
        self.left -= 1
        return [Generation("5") for _ in requests]


class Calculator(LLMEnv):
    """A real tool environment: answer a product; an ``add`` tool may help."""

    instructions = "Answer the product of the two numbers with a whole number."

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        schema = {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                  "required": ["a", "b"]}
        self.tools = (Tool("add", "Add two numbers.", lambda a, b: a + b, schema),)

    def new_episode(self, options: dict[str, Any]) -> str:
        self.a, self.b = self.rng.randint(10, 99), self.rng.randint(10, 99)
        return f"What is {self.a} * {self.b}?"

    def play(self, action: str) -> Feedback:
        try:
            value = int(action.strip())
        except ValueError:
            raise InvalidAction("answer with a whole number.") from None
        won = value == self.a * self.b
        return Feedback("Correct!" if won else "Wrong.", {"outcome": float(won)}, terminated=True, success=won)


if "testing/HostileCalculator-v0" not in {e.id for e in agentgym.registry.list_envs()}:
    agentgym.register("testing/HostileCalculator-v0", Calculator, max_turns=4)

GAMES = ("games/GuessTheNumber-v0", "games/TicTacToe-v0", "games/Wordle-v0", "games/Hangman-v0")
TOOL_GAMES = ("testing/HostileCalculator-v0", "games/TicTacToe-v0")


def run(policy: Policy, tasks: list[Task], path: Path, **config: Any):
    config = RolloutConfig(**{"max_turns": 3, "step_timeout": 10.0, **config})
    return rollout(policy, tasks, config, trajectories_path=path, progress=False)


def check_log(path: Path, expected: int) -> list:
    reader = TrajectoryReader(path)
    logged = list(reader)
    assert reader.bad_lines == [] and len(logged) == expected
    return logged


def test_hostile_texts_through_games_and_wrappers(tmp_path, resources):
    path = tmp_path / "trajectories.jsonl"
    policy = HostileText(seed=0)
    results = []
    for wrappers, games in [((), GAMES), ((AnswerFormat,), GAMES), ((ToolCalling,), TOOL_GAMES)]:
        tasks = [Task(game, seed) for game in games for seed in range(40 // len(games))]
        results.append(run(policy, tasks, path, group_size=2, wrappers=wrappers))
    trajectories = [t for result in results for t in result.trajectories]

    assert len(trajectories) == 240 and policy.used >= set(HOSTILE_TEXTS) - RARE
    assert "one megabyte" in policy.used
    for trajectory in trajectories:
        if trajectory.error:  # only a generation that breaks the contract: bytes for text
            assert trajectory.error == "policy error: hostile-text returned a Generation whose text is bytes, not str"
            continue
        # a hostile text is a bad action, never a crash: the episode runs to its end
        assert trajectory.turns and (trajectory.terminated or trajectory.truncated)
    assert sum(t.error is None for t in trajectories) > 200
    assert sum(bool(turn.error) for t in trajectories for turn in t.turns) > 100  # reported per turn
    tool_turns = [turn for t in results[2].trajectories for turn in t.turns if turn.info.get("tool_calls")]
    assert tool_turns and max(turn.info["tool_calls"] for turn in tool_turns) <= 16 + 1  # bounded

    logged = check_log(path, 240)

    def key(t):
        return t.env_id, t.seed, t.error, tuple(turn.action for turn in t.turns), tuple(turn.error for turn in t.turns)

    # every text read back exactly as it was played: lone surrogates, NULs, the megabyte...
    assert Counter(map(key, logged)) == Counter(map(key, trajectories))
    actions = {turn.action for t in logged for turn in t.turns}
    assert {"\ud800", ONE_MB, HOSTILE_TEXTS["NUL bytes"], HOSTILE_TEXTS["emoji"]} <= actions
    after = resources.assert_released()
    print(f"\n{len(trajectories)} episodes, {len(policy.used)} hostile kinds: {sorted(policy.used)}; "
          f"resources {resources.before} -> {after}; log {path.stat().st_size / 2**20:.1f} MiB")


def test_a_chaotic_backend_fails_episodes_not_the_rollout(tmp_path, resources):
    path = tmp_path / "trajectories.jsonl"
    policy = Chaotic(seed=1)
    tasks = [Task(game, seed) for game in GAMES for seed in range(10)]
    result = run(policy, tasks, path, max_batch_size=4)  # 40 episodes: at least 10 calls
    assert len(result.trajectories) == 40
    assert {"raise", "too few", "too many", "strings", "nones", "fine"} <= set(policy.calls)
    failed = [t for t in result.trajectories if t.error]
    assert failed and all(t.error.startswith("policy error: ") for t in failed), {t.error for t in failed}
    assert any("chaotic returned str '5' instead of a Generation" in t.error for t in failed)
    assert any("chaotic returned NoneType None instead of a Generation" in t.error for t in failed)
    assert result.stats["error_kinds"].get("policy") == len(failed)
    check_log(path, 40)
    resources.assert_released()


def test_a_hanging_backend_is_bounded_by_the_episode_timeout(tmp_path, resources):
    path = tmp_path / "trajectories.jsonl"
    tasks = [Task(game, seed) for game in GAMES for seed in range(5)]
    result = run(Hanging(answered_calls=1), tasks, path, episode_timeout=1.0)
    assert len(result.trajectories) == 20
    assert all(t.error and "timed out" in t.error for t in result.trajectories if not (t.terminated or t.truncated))
    assert sum("timed out" in (t.error or "") for t in result.trajectories) >= 1
    check_log(path, 20)
    resources.assert_released()
