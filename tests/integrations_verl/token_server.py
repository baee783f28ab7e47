"""A stand-in for verl's rollout server in front of a real model: verl's servers (vLLM, SGLang)
need a GPU, so the tests serve a tiny Hugging Face model behind the same call verl's agent loops
make, ``await server_manager.generate(request_id, prompt_ids=..., sampling_params=...)``,
returning verl's ``TokenOutput`` fields (``token_ids``, ``log_probs``, ``stop_reason``).
Every call is recorded, so a test can compare what the model really returned with what the
adapter made of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentgym.policies.base import Request, SamplingParams
from agentgym.policies.hf import HFPolicy


@dataclass
class TokenOutput:
    token_ids: list[int]
    log_probs: list[float] | None = None
    stop_reason: str | None = "completed"
    num_preempted: int | None = None
    extra_fields: dict[str, Any] = field(default_factory=dict)


class HFTokenServer:
    """``generate`` samples with ``policy`` (verl's temperature and top_p, ``max_tokens``; log-probs
    when ``sampling_params["logprobs"]``); ``calls`` holds (request_id, prompt_ids,
    sampling_params, TokenOutput) for each call."""

    def __init__(self, policy: HFPolicy, seed: int = 0) -> None:
        self.policy = policy
        self.seed = seed
        self.calls: list[tuple[str, list[int], dict[str, Any], TokenOutput]] = []

    async def generate(self, request_id: str, *, prompt_ids: list[int], sampling_params: dict[str, Any],
                       **kwargs: Any) -> TokenOutput:
        sampling = SamplingParams(max_tokens=int(sampling_params["max_tokens"]),
                                  temperature=float(sampling_params.get("temperature", 1.0)),
                                  top_p=float(sampling_params.get("top_p", 1.0)))
        request = Request([], prompt_token_ids=list(prompt_ids), seed=self.seed + len(self.calls))
        [generation] = await self.policy.agenerate([request], sampling)
        if generation.finish_reason == "error":
            raise RuntimeError(generation.error)
        output = TokenOutput(list(generation.token_ids),
                             list(generation.logprobs) if sampling_params.get("logprobs") else None)
        self.calls.append((request_id, list(prompt_ids), dict(sampling_params), output))
        return output
