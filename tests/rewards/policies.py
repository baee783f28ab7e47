"""A token-level oracle policy: the environment's solver, answering in token ids with the
prompt ids it was handed, as a token-level back-end does (so the rollout engine records a
token-exact trajectory). It keeps every prompt it was given, to check contexts against."""

from __future__ import annotations

from agentgym.policies.base import Generation, Policy


class TokenOracle(Policy):
    name = "token-oracle"
    env_hints = ("oracle_action",)

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.prompts: list[list[int]] = []

    async def agenerate(self, requests, sampling):
        out = []
        for request in requests:
            text = request.hints["oracle_action"]
            ids = list(self.tokenizer.encode(text, add_special_tokens=False)) + [self.tokenizer.eos_token_id]
            self.prompts.append(list(request.prompt_token_ids))
            out.append(Generation(text, ids, [0.0] * len(ids), list(request.prompt_token_ids)))
        return out
