"""ToolRL's tool-use reward (Qian et al., 2025, arXiv 2504.13958): a format reward plus a
correctness reward from how well the agent's tool calls match the gold calls.

The math, for gold calls ``G`` and predicted calls ``P`` (each a name and a dict of arguments):

* ``r_name = J(names(G), names(P))``, where ``J`` is the Jaccard similarity of two *multisets*
  (a name called twice counts twice): ``|A ∩ B| / (|A| + |B| − |A ∩ B|)``, 1 when both are equal,
  0 when either is empty and they differ.
* Each gold call ``G_j`` in order is matched to the unused predicted call of the same name that
  scores best, ``J(keys(G_j), keys(P_i)) + Σ_{k ∈ keys(G_j)} [G_j[k] = P_i[k]]`` (greedy, as the
  paper's reference code does; an unmatched gold call scores 0). ``r_param`` is the sum of the
  matches' key terms, ``r_value`` the sum of their value terms.
* ``S_max = 1 + |G| + Σ_j |keys(G_j)|`` (the best possible ``r_name + r_param + r_value``);
  ``R_correct = (R_max − R_min) · (r_name + r_param + r_value) / S_max + R_min`` with the paper's
  scale ``[R_min, R_max] = [−3, 3]``; calls exactly equal to the gold ones score ``R_max``.
* A predicted call's arguments absent or ``null`` are no arguments (``{}``); arguments that are
  not a JSON object (an array, a string, a number: the tool refused them) share no key and no
  value with any gold call, so they are never an exact match, not even of a call without
  arguments.
* ``R_format ∈ {0, 1}``: 1 when every tool call the agent wrote was well-formed (no turn's
  markup failed to parse).
* Beyond the paper, an optional ``error_penalty`` per tool call that failed (unknown tool, bad
  arguments, the tool raised); :class:`~agentgym.rewards.ToolCallCost` prices every call.

Hand-checked (ALGORITHMS.md): gold ``search(query="paris", k=3)``, predicted
``search(query="paris", k=5)``, format ok: ``r_name = 1``, ``r_param = 1``, ``r_value = 1``,
``S_max = 4`` → ``R_correct = 6 · 3/4 − 3 = 1.5``, ``R = 2.5``.

Where the gold calls come from: ``trajectory.metadata["gold_tool_calls"]``, which the rollout
engine fills from the environment's ``gold_tool_calls`` attribute (hidden from the policy, like
a ``reference_answer``): a list of ``{"name", "arguments"}`` for the whole episode, scored once on
the episode's last turn against every call the agent made; or one such list per turn (a list of
lists), each scored on its turn against that turn's calls.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Iterable, Mapping, Sequence

from agentgym.info import ErrorKind
from agentgym.rewards.base import RewardProvider, TurnValues, finite_setting
from agentgym.rewards.shaping import tool_results, unlisted_refusals
from agentgym.trajectory import Trajectory, Turn

#: where the rollout engine puts the environment's gold calls
GOLD_KEY = "gold_tool_calls"


def multiset_jaccard(first: Iterable[Any], second: Iterable[Any]) -> float:
    """``|A ∩ B| / (|A| + |B| − |A ∩ B|)`` over multisets; 1 for two equal (also empty) ones."""
    a, b = Counter(first), Counter(second)
    if a == b:
        return 1.0
    common = sum((a & b).values())
    union = sum(a.values()) + sum(b.values()) - common
    return common / union if union else 0.0


def correctness_terms(gold: Sequence[Mapping[str, Any]],
                      predicted: Sequence[Mapping[str, Any]]) -> tuple[float, float, float, float]:
    """``(r_name, r_param, r_value, S_max)`` of ``predicted`` calls against ``gold`` calls (see
    the module docstring); each call is ``{"name": str, "arguments": dict}``."""
    r_name = multiset_jaccard([call["name"] for call in gold], [call["name"] for call in predicted])
    r_param = r_value = 0.0
    s_max = 1.0
    used: set[int] = set()
    for gold_call in gold:
        gold_args = _arguments(gold_call)
        s_max += 1 + len(gold_args)
        best: tuple[float, float, int] | None = None
        for index, call in enumerate(predicted):
            if index in used or call["name"] != gold_call["name"]:
                continue
            args = _written_arguments(call)
            if isinstance(args, dict):
                keys = multiset_jaccard(list(gold_args), list(args))
                values = float(sum(1 for key, value in gold_args.items() if key in args and _same(args[key], value)))
            else:  # not an object: no key, no value of the gold call's
                keys = values = 0.0
            if best is None or keys + values > best[0] + best[1]:
                best = (keys, values, index)
        if best is not None:
            r_param += best[0]
            r_value += best[1]
            used.add(best[2])
    return r_name, r_param, r_value, s_max


def correctness_reward(gold: Sequence[Mapping[str, Any]], predicted: Sequence[Mapping[str, Any]], *,
                       low: float = -3.0, high: float = 3.0) -> float:
    """``R_correct`` in ``[low, high]``: ``high`` for an exact match, else the scaled terms."""
    if _normalised(gold) == _normalised(predicted):
        return high
    r_name, r_param, r_value, s_max = correctness_terms(gold, predicted)
    return (high - low) * (r_name + r_param + r_value) / s_max + low


class ToolRLReward(RewardProvider):
    """``R_format + R_correct`` (and an optional tool-error penalty) as one reward component.

    Args:
        scale: ``(R_min, R_max)`` of the correctness reward (the paper's ``(-3, 3)``).
        format_reward: the reward for well-formed calls (the paper's 1).
        error_penalty: subtracted per tool call that failed (0: the paper's reward), each call
            refused past :class:`~agentgym.wrappers.ToolCalling`'s per-action cap included.
        name: the component's name.

    A trajectory without gold calls gets no component (``None``), so this provider can run on
    mixed batches.
    """

    def __init__(self, *, scale: tuple[float, float] = (-3.0, 3.0), format_reward: float = 1.0,
                 error_penalty: float = 0.0, name: str = "toolrl") -> None:
        low, high = (finite_setting("ToolRLReward", "scale", x) for x in scale)
        if not low < high:
            raise ValueError(f"scale must be (low, high) with low < high, got {scale}")
        self.low, self.high = low, high
        self.format_reward = finite_setting("ToolRLReward", "format_reward", format_reward, minimum=0)
        self.error_penalty = finite_setting("ToolRLReward", "error_penalty (subtracted)", error_penalty, minimum=0)
        self.name = name

    def score(self, trajectories: Sequence[Trajectory]) -> TurnValues:
        return [self._score(trajectory, index) for index, trajectory in enumerate(trajectories)]

    def _score(self, trajectory: Trajectory, index: int) -> list[float | None]:
        turns = trajectory.turns
        values: list[float | None] = [None] * len(turns)
        gold = trajectory.metadata.get(GOLD_KEY)
        if not isinstance(gold, list) or not turns:
            return values
        per_turn = all(isinstance(entry, list) for entry in gold) and len(gold) > 0
        for calls in gold if per_turn else [gold]:
            _check_gold(calls, index)
        if per_turn:
            for index, (turn, turn_gold) in enumerate(zip(turns, gold)):
                values[index] = self._reward(turn_gold, [turn])
            return values
        values[-1] = self._reward(gold, turns)
        return values

    def _reward(self, gold: list[Mapping[str, Any]], turns: Sequence[Turn]) -> float:
        results = [result for turn in turns for result in tool_results(turn)]
        predicted = [{"name": str(r.get("name")), "arguments": r.get("arguments")} for r in results]
        well_formed = all(turn.info.get("error_kind") != ErrorKind.FORMAT.value for turn in turns)
        failed = sum(1 for result in results if not result.get("ok", True)) + sum(map(unlisted_refusals, turns))
        return (self.format_reward * well_formed + correctness_reward(gold, predicted, low=self.low, high=self.high)
                - self.error_penalty * failed)


def _check_gold(calls: list[Any], index: int) -> None:
    """``ValueError`` naming the trajectory unless every gold call is a mapping with a string
    ``"name"`` (the environment's data is at fault, not the agent)."""
    for call in calls:
        if not isinstance(call, Mapping) or not isinstance(call.get("name"), str):
            raise ValueError(f"trajectory {index}: metadata[{GOLD_KEY!r}] must be a list of "
                             f"{{'name': str, 'arguments': dict}} calls, or one such list per turn; "
                             f"got an entry {call!r:.80}")


def _arguments(call: Mapping[str, Any]) -> dict[str, Any]:
    arguments = call.get("arguments")
    return arguments if isinstance(arguments, dict) else {}


def _written_arguments(call: Mapping[str, Any]) -> Any:
    """A predicted call's arguments as written, ``{}`` when absent or ``None`` (a list or a
    string stays what it is: it is not the empty object)."""
    arguments = call.get("arguments")
    return {} if arguments is None else arguments


def _same(predicted: Any, gold: Any) -> bool:
    """Values compare as JSON does: ``3 == 3.0``, but ``True`` is not ``1``, at every depth of
    arrays (lists, tuples) and objects (dicts)."""
    if isinstance(predicted, bool) or isinstance(gold, bool):
        return type(predicted) is type(gold) and predicted == gold
    if isinstance(predicted, Mapping) and isinstance(gold, Mapping):
        return predicted.keys() == gold.keys() and all(_same(predicted[key], gold[key]) for key in gold)
    if isinstance(predicted, (list, tuple)) and isinstance(gold, (list, tuple)):
        return len(predicted) == len(gold) and all(_same(p, g) for p, g in zip(predicted, gold))
    return predicted == gold


def _normalised(calls: Sequence[Mapping[str, Any]]) -> str:
    """The calls as canonical JSON, so that an exact match respects JSON's types (``true`` is not ``1``)
    and arguments that are not an object are not the empty one."""
    return json.dumps([[str(call.get("name")), _written_arguments(call)] for call in calls], sort_keys=True,
                      default=repr)
