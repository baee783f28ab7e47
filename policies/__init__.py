"""Agents and policies (installed as ``agentgym.policies``).

Environment-aware agents — ``act(env, observation) -> action`` — for baselines, tests and
people: :class:`RandomAgent`, :class:`OracleAgent`, :class:`ScriptedAgent`,
:class:`HumanAgent`. :func:`make_agent` builds one from a command-line spec.
"""

from __future__ import annotations

import importlib

from agentgym.policies.human import HumanAgent
from agentgym.policies.random import RandomAgent
from agentgym.policies.scripted import OracleAgent, ScriptedAgent

AGENT_SPECS = {
    "oracle": "the environment's own solver (an upper bound)",
    "random": "random legal-looking moves; 'random:SEED' fixes the seed",
    "human": "you, at the terminal",
}


def make_agent(spec: str):
    """Build an agent from ``oracle``, ``random``, ``random:SEED`` or ``human``."""
    name, _, argument = spec.partition(":")
    if name == "oracle" and not argument:
        return OracleAgent()
    if name == "random":
        try:
            return RandomAgent(int(argument) if argument else 0)
        except ValueError:
            raise ValueError(f"random agent seed must be an integer, got {argument!r}") from None
    if name == "human" and not argument:
        return HumanAgent()
    known = ", ".join(AGENT_SPECS)
    raise ValueError(f"unknown policy {spec!r}; choose one of: {known}")


# Model back-ends load on first use (``from agentgym.policies import OpenAIPolicy``).
_LAZY_EXPORTS = {
    "OpenAIPolicy": "agentgym.policies.openai_compat",
    "VLLMPolicy": "agentgym.policies.vllm_engine",
    "HFPolicy": "agentgym.policies.hf",
    "embedded_policy": "agentgym.policies.embedded",
    "load_embedded_model": "agentgym.policies.embedded",
}


def __getattr__(name: str):
    if name in _LAZY_EXPORTS:
        return getattr(importlib.import_module(_LAZY_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["AGENT_SPECS", "HFPolicy", "HumanAgent", "OracleAgent", "OpenAIPolicy", "RandomAgent", "ScriptedAgent",
           "VLLMPolicy", "embedded_policy", "load_embedded_model", "make_agent"]
