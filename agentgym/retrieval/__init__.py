"""Retrieval for search environments.

* :mod:`~agentgym.retrieval.base` -- the :class:`Retriever` contract (``search``,
  ``search_many``, ``document``), :class:`Hit`, :class:`Document` and the errors.
* :mod:`~agentgym.retrieval.bm25` -- :class:`BM25Index`, an in-process BM25 index (``bm25s``,
  the ``search`` extra) memory-mapped from disk, over a :class:`DocStore`
  (:mod:`~agentgym.retrieval.docstore`); snippets from :func:`best_snippet`.
* :mod:`~agentgym.retrieval.server` and :mod:`~agentgym.retrieval.client` -- Search-R1's
  ``/retrieve`` API: :func:`serve_retriever` serves any retriever (``agentgym serve-retriever``
  on the command line), :class:`RemoteRetriever` uses any such server (ours, Search-R1's own
  dense e5 / FAISS server).
* :mod:`~agentgym.retrieval.sources` -- :func:`read_documents` reads a corpus the user brings
  (JSONL, Parquet, Hugging Face ``datasets``; Search-R1's wiki-18 ``contents`` included).

Modules with optional dependencies (bm25s, FastAPI) load on first use of their names.
"""

from agentgym.lazy import lazy_exports
from agentgym.retrieval.base import Document, DocumentNotFound, Hit, RetrievalError, Retriever, check_k
from agentgym.retrieval.snippets import best_snippet

_LAZY = {
    "BM25Index": "agentgym.retrieval.bm25",
    "DocStore": "agentgym.retrieval.docstore",
    "RemoteRetriever": "agentgym.retrieval.client",
    "read_documents": "agentgym.retrieval.sources",
    "create_retrieval_app": "agentgym.retrieval.server",
    "serve_retriever": "agentgym.retrieval.server",
    "RetrievalServer": "agentgym.retrieval.server",
    "SimulatedSearchEngine": "agentgym.retrieval.simulated",
    "NoiseSchedule": "agentgym.retrieval.simulated",
}
__getattr__ = lazy_exports(__name__, _LAZY)

__all__ = ["Document", "DocumentNotFound", "Hit", "RetrievalError", "Retriever", "check_k", "best_snippet",
           *_LAZY]
