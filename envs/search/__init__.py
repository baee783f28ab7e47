"""The search family: answer questions by searching an encyclopedia (retrieval-augmented QA).

Environments (:mod:`~agentgym.envs.search.env`):

* ``search/MultiHop-v0`` -- Search-R1's format: ``<search>query</search>`` shows the top
  documents in an ``<information>`` block, ``<answer>text</answer>`` ends the episode; reward
  by exact match. Arguments: ``size`` and ``seed`` (the generated world and corpus), ``split``
  (``train`` / ``held_out``), ``kinds``, ``top_k``, ``turn_budget`` (up to 64), ``cache_dir``...
* ``search/MultiHopTools-v0`` -- the same questions with the tools ``search(query)``,
  ``open(doc_id)`` and ``answer(text)`` (Hermes or OpenAI tool calls).
* ``search/Corpus-v0`` -- bring your own data (:mod:`~agentgym.envs.search.corpus_env`):
  ``tasks`` (an NQ or HotpotQA question file, ``shape``) and ``corpus`` (a documents file,
  indexed once) or ``retriever_url`` (a ``/retrieve`` server); either format
  (``action_format``).

Suite ``search-v0``: ``search/MultiHop-v0`` on single-hop, bridge, comparison and intersection
questions, ten seeds each.

Modules:
    world      -- entities (people, cities, organisations, works, events) with typed
                  attributes and relations, generated deterministically from (size, seed).
    corpus     -- renders each entity as an article and caches the corpus on disk as
                  JSONL shards (``build_corpus``).
    questions  -- single-hop, bridge (2-4 hops), comparison and intersection questions,
                  each with its gold supporting document per hop and an entity-disjoint
                  train / held-out split.
    tasks      -- ``SearchTask``, one question whatever its source.
    byo        -- the user's own questions (NQ / HotpotQA files) as tasks.
    retrievers -- the default retriever (a BM25 index over the generated corpus, cached on
                  disk) and the process-wide cache of open retrievers.
    env        -- ``SearchEnv``; prompts, retrieval_log and tool_turns are its parts (texts,
                  per-turn retrieval fields, the tools format).
    corpus_env -- ``search/Corpus-v0``'s entry point over the user's files or server.

Environments register by entry-point string, so importing this package loads none of them.
"""

from __future__ import annotations

from agentgym.registry import register
from agentgym.suites import register_suite

#: The registered TurnLimit's bound: ``env.MAX_TURN_BUDGET`` (not imported, to keep this cheap).
_TURN_BOUND = 64
_TAGS = ("question-answering", "retrieval", "multi-hop", "hidden-answer")

register(
    "search/MultiHop-v0",
    "agentgym.envs.search.env:SearchEnv",
    max_turns=_TURN_BOUND,
    tags=(*_TAGS, "search-r1"),
    description="Answer multi-hop questions over a generated encyclopedia with <search> and <answer> tags "
                "(Search-R1's format); BM25 retrieval, reward by exact match.",
)
register(
    "search/MultiHopTools-v0",
    "agentgym.envs.search.env:search_tools_env",
    max_turns=_TURN_BOUND,
    tags=(*_TAGS, "tools"),
    description="Answer multi-hop questions over a generated encyclopedia with search, open and answer "
                "tools; reward by exact match.",
)

register(
    "search/Corpus-v0",
    "agentgym.envs.search.corpus_env:corpus_search_env",
    max_turns=_TURN_BOUND,
    tags=(*_TAGS[:2], "bring-your-own", "hidden-answer"),
    description="Answer your own questions (NQ or HotpotQA files) over your own documents (BM25, cached) or a "
                "/retrieve server; without data, a sample exported from the generated world.",
)

SEARCH_ENV_IDS = ("search/MultiHop-v0", "search/MultiHopTools-v0", "search/Corpus-v0")

register_suite(
    "search-v0",
    [("search/MultiHop-v0", range(10), {"kinds": kind})
     for kind in ("single", "bridge", "comparison", "intersection")],
    "Multi-hop search questions (Search-R1 tags) of every kind: single-hop, bridge, comparison and "
    "intersection, ten seeds each.",
)
