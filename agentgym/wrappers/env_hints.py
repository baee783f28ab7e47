"""``EnvHints``: what an environment-aware policy needs from the environment, as data in ``info``.

Oracle and random baselines need to know something only the environment knows (the best move,
a random legal move). They never get the environment itself — it may live in another thread,
process, actor or machine — but declare the hints they need
(:attr:`~agentgym.policies.base.Policy.env_hints`, names from
:data:`~agentgym.policies.base.ENV_HINTS`). This wrapper computes those hints next to the
environment, with each ``reset`` and ``step`` that leads to a turn, and puts them in
``info["env_hints"]`` (JSON-safe; a hint the environment cannot give goes to
``info["env_hints"]["errors"][name]``). A move is written as the agent must write it through
the wrappers below that read a format (:meth:`AnswerFormat.write_move
<agentgym.wrappers.AnswerFormat.write_move>`: ``<answer>7</answer>``), so the oracle stays the
upper bound under them. ``reset`` also reports the environment's hidden
reference (``reference_answer``, ``answer_stub``, ``gold_tool_calls``, ``gold_documents``,
``answer_aliases``; ``None`` where it has none) in ``info["env_reference"]``, for reward providers. The rollout engine takes both keys out of ``info`` before anything reaches the
policy or a trajectory's turns.

Random hints are reproducible: the ``random_action`` of turn ``t`` is drawn with a seed derived
from ``seed`` and ``t`` (no hint seed: an unseeded draw).
"""

from __future__ import annotations

import random
from typing import Any, Iterable, Sequence

import gymnasium as gym

from agentgym.core import ConfigError, is_int
from agentgym.trajectory import json_safe

#: the ``info`` keys this wrapper adds
HINTS_KEY, REFERENCE_KEY = "env_hints", "env_reference"
_KNOWN_HINTS = ("oracle_action", "random_action")
#: attributes of the environment reported as its hidden reference (None where it has none):
#: the answer and its stub (IGPO), ToolRL's gold calls, the search family's gold documents and
#: answer aliases
REFERENCE_ATTRIBUTES = ("reference_answer", "answer_stub", "gold_tool_calls", "gold_documents", "answer_aliases")


def turn_seed(base: int | None, turn: int) -> int | None:
    """The hint seed of turn ``turn`` from ``base`` (``None`` stays ``None``)."""
    return None if base is None else (base * 1_009 + turn) % (2**31 - 1)


class EnvHints(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Adds the hints ``hints`` (names from :data:`~agentgym.policies.base.ENV_HINTS`) to the
    ``info`` of every ``reset`` and of every ``step`` that does not end the episode; see the
    module docstring.

    Args:
        hints: the hints to compute, a list of names (may be empty: then only the reference is
            reported).
        seed: the base of the per-turn seeds of ``random_action``, an integer (``None``:
            unseeded); anything else is a :class:`~agentgym.core.ConfigError` here.
    """

    def __init__(self, env: gym.Env, *, hints: Sequence[str] = (), seed: int | None = None) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, _disable_deepcopy=True, hints=hints, seed=seed)
        super().__init__(env)
        if isinstance(hints, str):
            raise ValueError(f"EnvHints: hints must be a list of hint names, got the string {hints!r} "
                             f"(write [{hints!r}])")
        if not isinstance(hints, Iterable):
            raise ValueError(f"EnvHints: hints must be a list of hint names, got {hints!r}")
        if seed is not None and not is_int(seed):
            raise ConfigError(f"EnvHints: seed must be an integer or None, got {seed!r}")
        hints = tuple(hints)  # once: an iterator is read here, not used up by the check
        unknown = [name for name in hints if name not in _KNOWN_HINTS]
        if unknown:
            raise ValueError(f"EnvHints: unknown hints {unknown} (known: {', '.join(_KNOWN_HINTS)})")
        self.hints = hints
        self.seed = None if seed is None else int(seed)
        self._turn = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        observation, info = self.env.reset(**kwargs)
        self._turn = 0
        game = self.env.unwrapped
        info = {**info, REFERENCE_KEY: {name: json_safe(getattr(game, name, None)) for name in REFERENCE_ATTRIBUTES}}
        if self.hints:
            info[HINTS_KEY] = self._compute()
        return observation, info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        self._turn += 1
        if self.hints and not (terminated or truncated):
            info = {**info, HINTS_KEY: self._compute()}
        return observation, reward, terminated, truncated, info

    def _compute(self) -> dict[str, Any]:
        game = self.env.unwrapped
        hints: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for name in self.hints:
            try:
                if name == "oracle_action":
                    value = game.oracle_action()
                else:
                    value = game.random_action(random.Random(turn_seed(self.seed, self._turn)))
            except Exception as exc:  # noqa: BLE001 - the policy reports it as its error
                errors[name] = f"{type(exc).__name__}: {exc}"
            else:
                hints[name] = json_safe(self._written(value))
        if errors:
            hints["errors"] = errors
        return hints

    def _written(self, move: Any) -> Any:
        """``move`` as the agent must write it through the wrappers below this one that read a
        format (those with a ``write_move(move)`` method, e.g. :class:`AnswerFormat`), innermost
        first; unchanged where a wrapper cannot write it (``None``) or it is not text."""
        writers = []
        layer = self.env
        while isinstance(layer, gym.Wrapper):
            if callable(getattr(type(layer), "write_move", None)):  # the class's, not a forwarded attribute
                writers.append(layer)
            layer = layer.env
        for writer in reversed(writers):
            if isinstance(move, str):
                move = writer.write_move(move) or move
        return move
