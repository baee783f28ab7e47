"""A simulated search engine: a policy writes the documents (ZeroSearch-style).

:class:`SimulatedSearchEngine` keeps the :class:`~agentgym.retrieval.base.Retriever` contract,
so a search environment takes it as its back-end (``SearchEnv(retriever=engine)``), but no
corpus is searched: for each query a :class:`~agentgym.policies.base.Policy` writes ``k`` short
documents. Each document is **useful** (the prompt asks for facts that help answer the query)
or **noisy** (the prompt asks for a document that looks related but is irrelevant or
misleading); which one is drawn per (query, rank) with the probability the noise schedule gives
at the engine's current step, from a generator seeded by ``(seed, query, rank, step)``, so the
same engine settings give the same draws. A training run raises the noise as the agent gets
better (ZeroSearch's curriculum), by calling ``advance()`` after each step or
``set_step(trainer.step)``.

Noise schedules (:class:`NoiseSchedule`), at step ``s`` of ``S`` (``f = min(s, S) / S``)::

    constant      p = p_start
    linear        p = p_start + (p_end - p_start) * f
    cosine        p = p_start + (p_end - p_start) * (1 - cos(pi * f)) / 2
    exponential   p = p_start + (p_end - p_start) * (b**f - 1) / (b - 1)      (base b > 1)

Contract beyond :mod:`~agentgym.retrieval.base`'s:

* **Stable ids.** A document's id depends only on the query (whitespace collapsed, lower-cased)
  and its rank: ``sim-<16 hex digits>``. Within one step the same query gives the same
  documents (they are written once and kept); at a later step, searching it again writes its
  documents anew with that step's noise, under the same ids. ``document(id)`` returns what was
  last written under the id; at most ``max_documents`` are kept (the oldest are forgotten).
* **One call per search.** ``search_many`` asks the policy for every missing document of every
  query in one ``agenerate`` batch (one request per document, each with its own seed). A
  document that another search (another thread) is writing at the moment is not asked for
  again: the search waits for it, so concurrent searches of one query (a group of episodes of
  one question) cost one call and see the same documents; if that write fails, the waiting
  search writes the document itself, in what is left of its ``timeout``.
* **Failures.** A policy that raises, returns an error generation, a generation whose text is
  not a str (bytes) or an empty document (not a letter or digit besides a ``Title:`` label),
  or takes longer than ``timeout`` seconds,
  makes the search raise :class:`~agentgym.retrieval.base.RetrievalError` naming the query,
  which a search environment shows as a failed search (the episode goes on).
* ``is_noisy(doc_id)`` says which kind a document is (for analysis; never shown to the agent),
  ``written`` counts the documents written by kind. Hits' ``score`` is ``1 / (rank + 1)``;
  their ``snippet`` the document's best passage for the query
  (:func:`~agentgym.retrieval.snippets.best_snippet`).
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from agentgym.locked_state import PicklesWithoutLock
from agentgym.retrieval.base import Document, DocumentNotFound, Hit, RetrievalError, check_k
from agentgym.retrieval.snippets import best_snippet

if TYPE_CHECKING:
    from agentgym.policies.base import Policy, SamplingParams

SCHEDULES = ("constant", "linear", "cosine", "exponential")

USEFUL_PROMPT = (
    "You are a search engine. Write one short document that helps answer the search query: a first "
    "line 'Title: <title>', then two to four sentences of accurate, specific facts about what the "
    "query asks. Write only the document."
)
NOISY_PROMPT = (
    "You are a search engine. Write one short document that looks related to the search query but "
    "does not help answer it: it is about something else with similar words, or it states wrong "
    "facts. A first line 'Title: <title>', then two to four sentences. Write only the document."
)


@dataclass(frozen=True)
class NoiseSchedule:
    """The probability that a document is noisy, by training step (formulas in the module
    docstring)."""

    kind: str = "constant"
    start: float = 0.0
    end: float = 0.0
    steps: int = 1
    base: float = 10.0

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise ValueError(f"NoiseSchedule: kind must be one of {', '.join(SCHEDULES)}, got {self.kind!r}")
        for name in ("start", "end"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"NoiseSchedule: {name} must be a probability in [0, 1], got {value!r}")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f"NoiseSchedule: steps must be a positive int, got {self.steps!r}")
        if (isinstance(self.base, bool) or not isinstance(self.base, (int, float)) or not math.isfinite(self.base)
                or self.base <= 1.0):
            raise ValueError(f"NoiseSchedule: base must be a number > 1, got {self.base!r}")

    def __call__(self, step: int) -> float:
        if self.kind == "constant":
            return float(self.start)
        f = min(max(step, 0), self.steps) / self.steps
        if self.kind == "linear":
            shape = f
        elif self.kind == "cosine":
            shape = (1.0 - math.cos(math.pi * f)) / 2.0
        else:
            shape = (self.base ** f - 1.0) / (self.base - 1.0)
        return float(self.start + (self.end - self.start) * shape)


def _normal(query: str) -> str:
    return " ".join(query.encode("utf-8", "replace").decode("utf-8").split()).lower()


def simulated_doc_id(query: str, rank: int) -> str:
    """The id of the document at ``rank`` for ``query`` (see the module docstring)."""
    digest = hashlib.sha256(f"{_normal(query)}\x1f{rank}".encode("utf-8")).hexdigest()
    return f"sim-{digest[:16]}"


def _draw(*parts: Any) -> random.Random:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8", "replace")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@dataclass(frozen=True)
class _Written:
    document: Document
    noisy: bool
    step: int


class SimulatedSearchEngine(PicklesWithoutLock):
    """A retriever whose documents a policy writes (see the module docstring).

    Args:
        policy: any :class:`~agentgym.policies.base.Policy`.
        noise: a :class:`NoiseSchedule`, or a constant probability.
        seed: seeds the noise draws and the requests' sampling seeds.
        sampling: the policy's sampling (default: temperature 0.7, 200 tokens, no log-probs).
        timeout: seconds one search may take.
        max_chars: a written document is cut to this many characters.
        snippet_chars: the most characters of a hit's snippet.
        max_documents: documents kept for ``document(id)``.
        owns_policy: close the policy with the engine.
    """

    def __init__(self, policy: Policy, *, noise: NoiseSchedule | float = 0.0, seed: int = 0,
                 sampling: SamplingParams | None = None, timeout: float = 120.0, max_chars: int = 1_000,
                 snippet_chars: int = 300, max_documents: int = 100_000, owns_policy: bool = False) -> None:
        from agentgym.policies.base import Policy, SamplingParams

        if not isinstance(policy, Policy):
            raise ValueError(f"SimulatedSearchEngine: policy must be an agentgym Policy, got {type(policy).__name__}")
        if not isinstance(noise, NoiseSchedule):
            if isinstance(noise, bool) or not isinstance(noise, (int, float)):
                raise ValueError(f"SimulatedSearchEngine: noise must be a NoiseSchedule or a probability, got {noise!r}")
            noise = NoiseSchedule("constant", float(noise), float(noise))
        for name, value, minimum in (("seed", seed, 0), ("max_chars", max_chars, 32),
                                     ("snippet_chars", snippet_chars, 16), ("max_documents", max_documents, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"SimulatedSearchEngine: {name} must be an int >= {minimum}, got {value!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValueError(f"SimulatedSearchEngine: timeout must be a positive number, got {timeout!r}")
        self.policy = policy
        self.schedule = noise
        self.seed = seed
        self.sampling = sampling or SamplingParams(max_tokens=200, temperature=0.7, logprobs=False)
        self.timeout = float(timeout)
        self.max_chars = max_chars
        self.snippet_chars = snippet_chars
        self.max_documents = max_documents
        self.owns_policy = owns_policy
        self.step = 0
        self.written = {"useful": 0, "noisy": 0}
        self._documents: OrderedDict[str, _Written] = OrderedDict()
        self._writing: dict[str, threading.Event] = {}  # id -> set once the search writing it ends
        self._lock = threading.Lock()
        self._closed = False

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_writing"] = {}  # searches in flight stay with this engine
        return state

    # ------------------------------------------------------------------ the schedule
    @property
    def noise_probability(self) -> float:
        """The probability that a document written now is noisy."""
        return self.schedule(self.step)

    def advance(self, steps: int = 1) -> int:
        """Move the schedule on by ``steps`` training steps; returns the new step."""
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"advance: steps must be a non-negative int, got {steps!r}")
        self.step += steps
        return self.step

    def set_step(self, step: int) -> None:
        """Set the schedule's step (e.g. to the trainer's)."""
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"set_step: step must be a non-negative int, got {step!r}")
        self.step = step

    # ------------------------------------------------------------------ the Retriever contract
    def search(self, query: str, k: int = 5) -> list[Hit]:
        return self.search_many([query], k)[0]

    def search_many(self, queries: Sequence[str], k: int = 5) -> list[list[Hit]]:
        self._check_open()
        k = check_k(k)
        if isinstance(queries, (str, bytes)) or not isinstance(queries, Sequence):  # as BM25Index's
            raise TypeError(f"search_many takes a sequence of query strings, got {type(queries).__name__}")
        if any(not isinstance(q, str) for q in queries):
            raise TypeError("search_many takes a sequence of query strings")
        step, probability = self.step, self.noise_probability
        deadline = time.monotonic() + self.timeout  # for the whole search, waits and retries included
        fresh_by_id: dict[str, _Written] = {}
        waited = False
        while True:  # a second round only for documents whose other writer failed
            missing: list[tuple[str, str, int, bool]] = []  # (query, id, rank, noisy)
            claimed: set[str] = set()
            waiting: list[threading.Event] = []
            with self._lock:
                for query in queries:
                    if not _normal(query):
                        continue
                    for rank in range(k):
                        doc_id = simulated_doc_id(query, rank)
                        kept = fresh_by_id.get(doc_id) or self._documents.get(doc_id)
                        if kept is not None and kept.step == step:
                            continue
                        if doc_id in self._writing:  # being written: by this search, or wait for it
                            if doc_id not in claimed:
                                waiting.append(self._writing[doc_id])
                            continue
                        self._writing[doc_id] = threading.Event()
                        claimed.add(doc_id)
                        noisy = _draw(self.seed, _normal(query), rank, step).random() < probability
                        missing.append((query, doc_id, rank, noisy))
            if not missing and not waiting:
                break
            written: list[_Written] = []
            try:
                # the whole timeout in the first round; what is left of it after a wait
                written = self._write(missing, k, step, deadline - time.monotonic() if waited else self.timeout)
            finally:
                with self._lock:
                    for item in written:
                        self._documents[item.document.id] = item
                        self._documents.move_to_end(item.document.id)
                        self.written["noisy" if item.noisy else "useful"] += 1
                        fresh_by_id[item.document.id] = item
                    while len(self._documents) > self.max_documents:
                        self._documents.popitem(last=False)
                    for _, doc_id, _, _ in missing:
                        self._writing.pop(doc_id).set()
            waited = waited or bool(waiting)
            for event in waiting:
                if not event.wait(max(deadline - time.monotonic(), 0.0)):
                    raise RetrievalError(f"the simulated search engine failed on {_clean(queries[0])[:100]!r}: "
                                         f"the model did not answer within {self.timeout:g} s")
        with self._lock:
            results = []
            for query in queries:
                hits = []
                if _normal(query):
                    for rank in range(k):
                        doc_id = simulated_doc_id(query, rank)
                        kept = fresh_by_id.get(doc_id) or self._documents.get(doc_id)
                        if kept is None:  # forgotten meanwhile (max_documents smaller than one search)
                            continue
                        document = kept.document
                        hits.append(Hit(document.id, document.title, 1.0 / (rank + 1),
                                        best_snippet(document.text, query, self.snippet_chars)))
                results.append(hits)
        return results

    def _write(self, missing: list[tuple[str, str, int, bool]], k: int, step: int,
               remaining: float) -> list[_Written]:
        """Ask the policy for the missing documents, in one batch answered within ``remaining``
        seconds."""
        if not missing:
            return []
        first = _clean(missing[0][0])[:100]
        if remaining <= 0:  # spent waiting for another search's write, which failed
            raise RetrievalError(f"the simulated search engine failed on {first!r}: "
                                 f"the model did not answer within {self.timeout:g} s")
        from agentgym.policies.base import Request
        from agentgym.synthetic.experience import call_policy_batch

        requests = [Request([{"role": "system", "content": NOISY_PROMPT if noisy else USEFUL_PROMPT},
                             {"role": "user", "content": f"Search query: {_clean(query)}\nResult {rank + 1} of {k}."}],
                            seed=_draw(self.seed, "request", _normal(query), rank, step).randrange(2**31))
                    for query, _, rank, noisy in missing]
        generations, failure = call_policy_batch(self.policy, requests, self.sampling, remaining)
        if failure is not None:
            raise RetrievalError(f"the simulated search engine failed on {first!r}: {failure}")
        written = []
        for (query, doc_id, rank, noisy), generation in zip(missing, generations):
            text = getattr(generation, "text", None)
            if getattr(generation, "finish_reason", None) == "error" or getattr(generation, "error", None):
                raise RetrievalError(f"the simulated search engine failed on {_clean(query)[:100]!r}: "
                                     f"{getattr(generation, 'error', None) or 'error'}")
            if not isinstance(text, str):  # raw bytes from a back-end are not "an empty document"
                raise RetrievalError(f"the simulated search engine failed on {_clean(query)[:100]!r}: "
                                     f"the model returned {type(text).__name__}, not text")
            document = _clean_document(text)[: self.max_chars]
            if not _WORD.search(_TITLE_LABEL.sub("", document, count=1)):
                raise RetrievalError(f"the simulated search engine wrote an empty document for {_clean(query)[:100]!r} "
                                     f"(not a letter or digit)")
            title, body = _split_title(document)
            written.append(_Written(Document(doc_id, title, body), noisy, step))
        return written

    def document(self, doc_id: str) -> Document:
        self._check_open()
        with self._lock:
            kept = self._documents.get(doc_id) if isinstance(doc_id, str) else None
        if kept is None:
            raise DocumentNotFound(f"no simulated document has the id {doc_id!r:.100}")
        return kept.document

    def is_noisy(self, doc_id: str) -> bool:
        """Whether the document last written under ``doc_id`` was asked to be noisy."""
        self._check_open()
        with self._lock:
            kept = self._documents.get(doc_id)
        if kept is None:
            raise DocumentNotFound(f"no simulated document has the id {doc_id!r:.100}")
        return kept.noisy

    def __len__(self) -> int:
        self._check_open()
        with self._lock:
            return len(self._documents)

    def __bool__(self) -> bool:  # an engine is an object, not a collection to test for emptiness
        return True

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.owns_policy:
            self.policy.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the simulated search engine is closed")

    def __enter__(self) -> SimulatedSearchEngine:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


_WORD = re.compile(r"[^\W_]")  # a letter or a digit
_TITLE_LABEL = re.compile(r"^[#*\s]*title:", re.IGNORECASE)  # what _split_title takes for a label


def _clean(text: str) -> str:
    return " ".join(text.encode("utf-8", "replace").decode("utf-8").split())


def _clean_document(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "").strip()


def _split_title(text: str) -> tuple[str, str]:
    """``(title, body)``: a first line ``Title: ...`` (or the first line, when the document has
    more than one) is the title; otherwise the title is the start of the text."""
    first, _, rest = text.partition("\n")
    label = first.strip().lstrip("#* ").strip()
    if label.lower().startswith("title:"):
        title = label[len("title:"):].strip(" *") or "Untitled"
        return title[:120], rest.strip() or title
    if rest.strip() and len(label) <= 120:
        return label or "Untitled", rest.strip()
    return " ".join(text.split()[:8])[:120] or "Untitled", text
