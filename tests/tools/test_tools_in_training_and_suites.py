"""Tool environments in the two places issue 11 names beside rollouts and ``evaluate()``: the
trainer runs an environment's tools with no wrapper added by hand, and the default eval suite
(``quick-v1``, the embedded model's) includes an environment of the tools family."""

from __future__ import annotations

import re

import torch

import agentgym
from agentgym.tools import FormatMatch, ToolCall, tool
from agentgym.train.trainer import Trainer
from tests.train.conftest import learner, world_config
from tests.train.word_world import FindTheWord

HINT_ID = "testworld/FindTheWordHint-v0"
HINTS: list[str] = []  # what the hint tool answered, in every episode of the process


class HintWordCall:
    """A pluggable call format that a tiny random word-level model writes often: each of the
    words ``find``, ``the``, ``secret`` and ``word`` calls the ``hint`` tool."""

    name, example = "hint-word", "secret"

    def find(self, text: str) -> FormatMatch | None:
        spans = tuple(match.span() for match in re.finditer(r"(?<!\S)(?:find|the|secret|word)(?!\S)", text))
        if not spans:
            return None
        return FormatMatch(tuple(ToolCall("", "hint", {}) for _ in spans), spans)


class FindTheWordWithHint(FindTheWord):
    """FindTheWord with a ``hint`` tool that names one wrong word."""

    tool_call_formats = (HintWordCall(),)

    @tool(name="hint")  # a method named hint would replace LLMEnv.hint, the Hinted wrapper's hook
    def word_hint(self) -> str:
        """Name a word that is not the secret."""
        wrong = next(word for word in ("red", "green", "blue") if word != self.secret)
        HINTS.append(wrong)
        return f"{wrong} no"


agentgym.register(HINT_ID, FindTheWordWithHint, max_turns=3, override=True, description="FindTheWord with a tool")


def test_the_trainer_runs_an_environments_tools_without_a_wrapper(tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        HINTS.clear()
        config = world_config(tmp_path, run={"steps": 1}, env={"id": HINT_ID, "tasks_per_step": 4},
                              rollout={"group_size": 4, "max_tokens": 4})
        history = Trainer(config, **learner()).train()
    finally:
        torch.set_num_threads(threads)
    assert [record["step"] for record in history] == [1]
    # the random model wrote call words now and then: the rollout ran the tool, no wrapper given
    assert HINTS and set(HINTS) <= {"red", "green", "blue"}, HINTS
    assert history[0]["rollout/episodes"] == 16


def test_the_default_eval_suite_includes_a_tools_environment():
    import argparse

    from agentgym.cli.eval_cmd import add_parser, chosen_suite
    from agentgym.eval import evaluate
    from agentgym.suites import Suite, get_suite

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    assert chosen_suite(parser.parse_args(["eval"])) == (get_suite("quick-v1"), None)  # without --suite
    tools = [entry for entry in get_suite("quick-v1").entries if agentgym.env_info(entry.env_id).family == "tools"]
    assert tools, "quick-v1 has no environment of the tools family"
    # the suite's tools tasks, as it builds them, are playable to the end
    evaluation = evaluate("oracle", Suite("quick-v1-tools", tuple(tools)), progress=False)
    assert len(evaluation.trajectories) == sum(len(entry.seeds) for entry in tools)
    assert all(t.success for t in evaluation.trajectories), [(t.env_id, t.seed, t.error) for t in evaluation.trajectories]
