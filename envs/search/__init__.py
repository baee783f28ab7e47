"""The search family: a seeded synthetic world rendered as an encyclopedia corpus.

Modules:
    world     -- entities (people, cities, organisations, works, events) with typed
                 attributes and relations, generated deterministically from (size, seed).
    corpus    -- renders each entity as an article and caches the corpus on disk as
                 JSONL shards (``build_corpus``).
    questions -- single-hop, bridge (2-4 hops), comparison and intersection questions,
                 each with its gold supporting document per hop and an entity-disjoint
                 train / held-out split.

No environment is registered here yet.
"""
