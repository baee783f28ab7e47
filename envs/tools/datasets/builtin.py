"""The shipped datasets as environments: ``tools/MathDataset-v0`` and ``tools/CodeDataset-v0``
(the files of :mod:`~agentgym.envs.tools.datasets.sample_data`)."""

from __future__ import annotations

from typing import Any, ClassVar

from agentgym.envs.tools.datasets.env import DatasetEnv
from agentgym.envs.tools.datasets.sample_data import CODE_FILE, MATH_FILE


class MathDatasetEnv(DatasetEnv):
    """The shipped math problems (36, 12 per level), single-turn by default: one reply whose
    final answer is checked by equivalence. Takes :class:`DatasetEnv`'s keyword arguments
    (``max_attempts``, ``tools``...)."""

    difficulties: ClassVar[tuple[str, ...]] = ("all", "easy", "medium", "hard")

    def __init__(self, difficulty: str | None = None, **kwargs: Any) -> None:
        super().__init__(MATH_FILE, "math", difficulty, **kwargs)


class CodeDatasetEnv(DatasetEnv):
    """The shipped code problems (12, 4 per level): up to ``max_attempts`` (default 3)
    solutions tested in the sandbox, with the failures as feedback, and a sandboxed Python
    interpreter (``tools``, default on) to try code first."""

    difficulties: ClassVar[tuple[str, ...]] = ("all", "easy", "medium", "hard")

    def __init__(self, difficulty: str | None = None, *, max_attempts: int = 3, tools: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(CODE_FILE, "code", difficulty, max_attempts=max_attempts, tools=tools, **kwargs)
