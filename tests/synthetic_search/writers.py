"""Scripted document writers for the simulated search engine's tests: policies that read the
engine's prompt (useful or noisy, the query, the rank) and write a document saying so."""

from __future__ import annotations

import re
from typing import Sequence

from agentgym.policies.base import Generation, Policy, Request, SamplingParams
from agentgym.retrieval.simulated import NOISY_PROMPT, USEFUL_PROMPT

_QUERY = re.compile(r"^Search query: (.*)\nResult (\d+) of (\d+)\.$", re.DOTALL)


class DocumentWriter(Policy):
    """Writes ``Title: <query> #<rank> (<kind>)`` and two sentences; counts its calls.

    ``fail`` makes every generation an error, ``raise_`` makes ``agenerate`` raise, ``empty``
    writes nothing; ``facts`` maps a query word to a sentence the useful documents add (so a
    search environment's question can be answered from them).
    """

    name = "document-writer"

    def __init__(self, *, fail: bool = False, raise_: bool = False, empty: bool = False,
                 facts: dict[str, str] | None = None) -> None:
        self.fail, self.raise_, self.empty = fail, raise_, empty
        self.facts = facts or {}
        self.batches: list[list[tuple[str, str, int]]] = []  # per call: (kind, query, rank); appends are atomic

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        if self.raise_:
            raise ConnectionError("simulation server unreachable")
        batch, out = [], []
        for request in requests:
            system, user = request.messages[0]["content"], request.messages[1]["content"]
            kind = {USEFUL_PROMPT: "useful", NOISY_PROMPT: "noisy"}[system]
            query, rank, _ = _QUERY.match(user).groups()
            batch.append((kind, query, int(rank)))
            if self.fail:
                out.append(Generation("", finish_reason="error", error="model crashed"))
            elif self.empty:
                out.append(Generation("  \n"))
            else:
                extra = " ".join(fact for word, fact in self.facts.items()
                                 if kind == "useful" and word in query.lower())
                out.append(Generation(f"Title: {query} #{rank} ({kind})\n{query} is the subject of this "
                                      f"{kind} document. {extra}".strip()))
        self.batches.append(batch)
        return out
