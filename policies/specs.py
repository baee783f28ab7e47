"""Building a policy from a short spec string, as the command line takes it."""

from __future__ import annotations

from agentgym.policies.base import Policy

DEFAULT_POLICY = "smollm2"

POLICY_SPECS = {
    "smollm2": "the embedded SmolLM2-135M-Instruct model (the default)",
    "hf:PATH": "a Hugging Face causal LM checkpoint (folder or hub cache name)",
    "openai:URL#MODEL": "an OpenAI-compatible server, e.g. openai:http://127.0.0.1:8000/v1#my-model",
    "oracle": "the environment's own solver (an upper bound)",
    "random[:SEED]": "random legal-looking moves",
    "human": "you, at the terminal",
}


def make_policy(spec: str | None = None) -> Policy:
    """Build the policy named by ``spec`` (see :data:`POLICY_SPECS`); ``None`` means the default."""
    spec = spec or DEFAULT_POLICY
    kind, _, argument = spec.partition(":")
    if kind == "oracle" and not argument:
        from agentgym.policies.scripted import OraclePolicy

        return OraclePolicy()
    if kind == "random":
        from agentgym.policies.random import RandomPolicy

        try:
            return RandomPolicy(int(argument) if argument else None)
        except ValueError:
            raise ValueError(f"the random policy's seed must be an integer, got {argument!r}") from None
    if kind == "human" and not argument:
        from agentgym.policies.human import HumanPolicy

        return HumanPolicy()
    if kind in ("smollm2", "embedded") and not argument:
        from agentgym.policies.embedded import embedded_policy

        return embedded_policy()
    if kind == "hf" and argument:
        from agentgym.policies.hf import HFPolicy

        return HFPolicy.from_pretrained(argument)
    if kind == "openai" and argument:
        from agentgym.policies.openai_compat import OpenAIPolicy

        url, _, model = argument.partition("#")
        if not model:
            raise ValueError("openai policies need a model name: openai:URL#MODEL")
        return OpenAIPolicy(url, model)
    known = "; ".join(f"{k} ({v})" for k, v in POLICY_SPECS.items())
    raise ValueError(f"unknown policy {spec!r}; choose one of: {known}")
