"""Dataset-backed tasks: a JSONL / JSON / Parquet / Hugging Face ``datasets`` file of problems
becomes an environment with a verifier.

* :func:`register_dataset` — ``register_dataset("mine/Math-v0", "file.jsonl", kind="math")``;
* :mod:`~agentgym.envs.tools.datasets.env` — :class:`DatasetEnv` (single- or multi-turn, an
  optional sandboxed Python tool);
* :mod:`~agentgym.envs.tools.datasets.records` — reading and checking the records (field names
  configurable);
* :mod:`~agentgym.envs.tools.datasets.math_answers` — math answers by equivalence;
* :mod:`~agentgym.envs.tools.datasets.code_tests` — code answers by unit tests in the sandbox;
* :mod:`~agentgym.envs.tools.datasets.sample_data` and
  :mod:`~agentgym.envs.tools.datasets.builtin` — the shipped datasets, registered as
  ``tools/MathDataset-v0`` and ``tools/CodeDataset-v0``.
"""

from agentgym.envs.tools.datasets.registration import register_dataset

__all__ = ["DatasetEnv", "register_dataset"]


def __getattr__(name: str):  # DatasetEnv loads its verifiers only when asked for
    if name == "DatasetEnv":
        from agentgym.envs.tools.datasets.env import DatasetEnv

        return DatasetEnv
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
