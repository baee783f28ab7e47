"""Retrieval for search environments: the :class:`Retriever` contract, an in-process BM25
index over a document store on disk, and a client and server for Search-R1's ``/retrieve``
API (see :mod:`agentgym.retrieval.base`)."""

from agentgym.retrieval.base import Document, DocumentNotFound, Hit, RetrievalError, Retriever, check_k

__all__ = ["Document", "DocumentNotFound", "Hit", "RetrievalError", "Retriever", "check_k"]
