"""A :class:`Retriever` over HTTP: any server speaking Search-R1's ``/retrieve`` API.

``RemoteRetriever("http://127.0.0.1:8000")`` (or the full ``.../retrieve`` URL, as Search-R1's
``search_url``) talks to :mod:`agentgym.retrieval.server`, to Search-R1's own retrieval server,
or to any server answering the same JSON:

* ``search`` / ``search_many`` POST ``{"queries", "topk", "return_scores": true}`` (one request
  for all the queries of ``search_many``; blank queries are answered ``[]`` without asking; the
  lone surrogates of a query, which JSON in UTF-8 cannot carry, are sent as ``?``, which splits
  words as they do, so the answer is the in-process index's).
  Each answered document may be ``{"id", "contents": '"Title"\\ntext'}`` (wiki-18, split into
  title and text), or carry ``title`` / ``text`` fields (as Search-R1's BM25 server does); its
  id is ``id`` | ``_id`` | ``doc_id`` | ``docid``, else its title. Answers without scores (plain
  document lists) get rank scores ``1 / (1 + rank)``. Hits are ordered best first and cut to
  ``k`` (and to ``topk_cap``, when given, before asking); each snippet is
  :func:`~agentgym.retrieval.snippets.best_snippet` of the text for the query.
* ``document(doc_id)`` GETs ``/documents/{doc_id}`` (the id percent-encoded as one path
  segment, ``/`` and the dots of ``.`` and ``..`` included): an unknown id raises
  :class:`DocumentNotFound`; a server without that endpoint (Search-R1's) raises
  :class:`RetrievalError` saying it cannot open documents. An id with a lone surrogate (no stored
  id has one, no URL carries one) is :class:`DocumentNotFound` without asking; an id too long
  for a URL (httpx's limit) is a :class:`RetrievalError` saying so. Messages cut a long id.
* ``len()`` reads ``documents`` from ``/health`` (:class:`RetrievalError` when the server does
  not say).

A ``url`` that is not an http(s) URL with a host (and a port in range), a ``timeout`` that is
not a positive number or a ``max_connections`` that is not a positive int raises ``ValueError``
when the retriever is made. ``api_key`` goes as ``Authorization: Bearer <key>``, in UTF-8 (as
agentgym's servers compare it, so a key of any letters works); a key that is not a string,
holds a line break or another control character, or starts or ends with a space (no header
carries those) raises ``ValueError`` (:func:`~agentgym.core.check_api_key`), with a message that does not
show the key. Every failure of the network, of HTTP (a status other than 200) or of the
answer's JSON raises :class:`RetrievalError` naming the URL and the cause. Messages and
``repr`` show the user and password of a ``http://user:password@host`` URL as ``***`` (search
environments show retrieval errors to the agent). One pooled ``httpx.Client`` serves all
calls; the retriever is safe to share between threads. ``close()`` closes the pool; later calls
raise ``RuntimeError``.
"""

from __future__ import annotations

import threading
from typing import Any, Sequence
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from agentgym.core import check_api_key
from agentgym.retrieval.base import Document, DocumentNotFound, Hit, RetrievalError, check_k
from agentgym.retrieval.snippets import best_snippet
from agentgym.retrieval.sources import ID_FIELDS, split_contents

DEFAULT_MAX_CONNECTIONS = 32


class RemoteRetriever:
    """A :class:`~agentgym.retrieval.base.Retriever` backed by a ``/retrieve`` server (module docstring)."""

    def __init__(self, url: str, *, timeout: float = 10.0, topk_cap: int | None = None, api_key: str | None = None,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS) -> None:
        _check_url(url)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if topk_cap is not None:
            topk_cap = check_k(topk_cap)
        if isinstance(max_connections, bool) or not isinstance(max_connections, int) or max_connections < 1:
            # a pool of no connections would answer every call "no answer in time (PoolTimeout)"
            raise ValueError(f"max_connections must be a positive int, got {max_connections!r}")
        root = url.rstrip("/")
        if root.endswith("/retrieve"):
            root = root[: -len("/retrieve")]
        self.url = root
        self._shown_url = _without_credentials(root)  # what messages name
        self.topk_cap = topk_cap
        check_api_key(api_key)
        headers = {"Authorization": b"Bearer " + api_key.encode("utf-8")} if api_key else {}
        self._client = httpx.Client(base_url=root, timeout=timeout, headers=headers,
                                    limits=httpx.Limits(max_connections=max_connections,
                                                        max_keepalive_connections=max_connections))
        self._closed = False
        self._lock = threading.Lock()

    # -- the Retriever protocol ------------------------------------------------------------------

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """At most ``k`` hits for ``query``, best first."""
        return self.search_many([query], k)[0]

    def search_many(self, queries: Sequence[str], k: int = 5) -> list[list[Hit]]:
        """One list of hits per query, in order, from one ``/retrieve`` request."""
        k = check_k(k)
        self._check_open()
        if isinstance(queries, str):
            raise ValueError("search_many takes a sequence of queries, not one string")
        queries = list(queries)
        for query in queries:
            if not isinstance(query, str):
                raise ValueError(f"a query must be a string, got {type(query).__name__}")
        asked = [i for i, query in enumerate(queries) if query.strip()]
        results: list[list[Hit]] = [[] for _ in queries]
        if not asked:
            return results
        topk = min(k, self.topk_cap) if self.topk_cap is not None else k
        sent = [queries[i].encode("utf-8", "replace").decode("utf-8") for i in asked]  # lone surrogates: '?'
        body = self._request("POST", "/retrieve", json={"queries": sent, "topk": topk, "return_scores": True})
        lists = body.get("result") if isinstance(body, dict) else None
        if not isinstance(lists, list) or len(lists) != len(asked):
            got = f"{len(lists)} lists" if isinstance(lists, list) else _shape(body)
            raise self._error("/retrieve", f"expected {{'result': [...]}} with {len(asked)} lists, got {got}")
        for i, items in zip(asked, lists):
            results[i] = self._hits(items, queries[i], topk)
        return results

    def document(self, doc_id: str) -> Document:
        """The whole document ``doc_id`` from ``/documents/{doc_id}``."""
        self._check_open()
        if not isinstance(doc_id, str):
            raise DocumentNotFound(f"document ids are strings; no document {doc_id!r}")
        try:
            path = f"/documents/{_path_segment(doc_id)}"
        except UnicodeEncodeError:
            raise DocumentNotFound(f"no document {_shape(doc_id)} on {self._shown_url} (an id with a lone surrogate "
                                   f"cannot be stored or asked for)") from None
        response = self._send("GET", path)
        if response.status_code == 404:
            error = _error_of(response)
            if error.get("type") == "document_not_found":
                raise DocumentNotFound(f"no document {_shape(doc_id)} on {self._shown_url}")
            raise self._error(path, "the server cannot open documents (it has no /documents endpoint; "
                                    "Search-R1's retrieval server serves /retrieve only)")
        if response.status_code == 405:
            raise self._error(path, "the server cannot open documents (GET /documents is not allowed there)")
        body = self._json(response, path)
        try:
            if "text" in body and isinstance(body["text"], str):
                title, text = body.get("title") or "", body["text"]
            else:
                title, text = split_contents(body["contents"])
            if not isinstance(title, str) or not isinstance(text, str):
                raise TypeError("title and text must be strings")
            return Document(id=str(body.get("id", doc_id)), title=title, text=text)
        except (KeyError, TypeError, AttributeError) as exc:
            raise self._error(path, f"not a document ({exc}): {_shape(body)}") from None

    def __len__(self) -> int:
        self._check_open()
        body = self._request("GET", "/health")
        documents = body.get("documents") if isinstance(body, dict) else None
        if isinstance(documents, bool) or not isinstance(documents, int) or documents < 0:
            raise self._error("/health", f"the server does not say how many documents it holds: {_shape(body)}")
        return documents

    @property
    def closed(self) -> bool:
        """``close()`` was called (every later call raises ``RuntimeError``)."""
        return self._closed

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._client.close()

    def __enter__(self) -> "RemoteRetriever":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RemoteRetriever({self._shown_url!r}{', closed' if self._closed else ''})"

    # -- HTTP ------------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"this RemoteRetriever ({self._shown_url}) is closed")

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise self._error(path, f"no answer in time ({type(exc).__name__}: {exc})") from exc
        except httpx.InvalidURL as exc:  # not an HTTPError: a document id too long for a URL
            raise self._error(path, f"the request cannot be sent ({exc}: the id is too long)") from None
        except httpx.HTTPError as exc:
            raise self._error(path, f"{type(exc).__name__}: {exc or 'connection failed'}") from exc
        except RuntimeError:  # httpx's "Cannot send a request, as the client has been closed."
            if self._closed:
                raise RuntimeError(f"this RemoteRetriever ({self._shown_url}) is closed") from None
            raise

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        return self._json(response, path)

    def _json(self, response: httpx.Response, path: str) -> Any:
        if response.status_code != 200:
            message = _error_of(response).get("message") or response.text[:200] or response.reason_phrase
            raise self._error(path, f"HTTP {response.status_code}: {message}")
        try:
            return response.json()
        except ValueError as exc:
            raise self._error(path, f"the answer is not JSON ({exc}): {response.text[:120]!r}") from None

    def _error(self, path: str, cause: str) -> RetrievalError:
        shown = path if len(path) <= 120 else f"{path[:100]}… ({len(path)} characters)"
        return RetrievalError(f"retrieval server {self._shown_url}{shown}: {cause}")

    # -- parsing ---------------------------------------------------------------------------------

    def _hits(self, items: Any, query: str, k: int) -> list[Hit]:
        if not isinstance(items, list):
            raise self._error("/retrieve", f"a query's result is {_shape(items)}, not a list")
        scored = []
        for rank, item in enumerate(items):
            if isinstance(item, dict) and isinstance(item.get("document"), dict):
                document, score = item["document"], item.get("score")
            else:
                document, score = item, None
            if score is None:
                score = 1.0 / (1 + rank)
            if isinstance(score, bool) or not isinstance(score, (int, float)):
                raise self._error("/retrieve", f"a score is {_shape(score)}, not a number")
            doc_id, title, text = self._fields(document)
            scored.append((float(score), rank, doc_id, title, text))
        scored.sort(key=lambda entry: (-entry[0], entry[1]))  # best first; the server's order among equals
        return [Hit(doc_id=doc_id, title=title, score=score, snippet=best_snippet(text, query))
                for score, _, doc_id, title, text in scored[:k]]

    def _fields(self, document: Any) -> tuple[str, str, str]:
        """(id, title, text) of one answered document."""
        if not isinstance(document, dict):
            raise self._error("/retrieve", f"a document is {_shape(document)}, not an object")
        text = document.get("text")
        title = document.get("title")
        if not isinstance(text, str):
            contents = document.get("contents")
            if not isinstance(contents, str):
                raise self._error("/retrieve", f"a document has neither 'contents' nor 'text': {_shape(document)}")
            parsed_title, text = split_contents(contents)
            title = title if isinstance(title, str) and title else parsed_title
        title = title if isinstance(title, str) else ""
        raw_id = next((document[key] for key in ID_FIELDS if document.get(key) not in (None, "")), None)
        return (str(raw_id) if raw_id is not None else title), title, text


def _check_url(url: object) -> None:
    """``ValueError`` naming ``url`` unless it is an http(s) URL with a host and a valid port."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError(f"url must be an http:// or https:// URL, got {url!r}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port out of range or not a number)
    except ValueError as exc:
        raise ValueError(f"url {url!r} is not a valid URL: {exc}") from None
    if not parts.hostname or any(ch.isspace() or not ch.isprintable() for ch in parts.netloc):
        raise ValueError(f"url {url!r} is not a valid URL: it needs a host name without spaces")


def _without_credentials(url: str) -> str:
    """``url`` with the user and password of its ``user:password@`` part shown as ``***``."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


def _path_segment(doc_id: str) -> str:
    """``doc_id`` as one URL path segment: percent-encoded, ``/`` included, and with the dots of an
    id that is a dot segment (``.`` or ``..``) encoded too: URL normalisation (httpx's) would
    resolve ``/documents/..`` to ``/``."""
    segment = quote(doc_id, safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


def _error_of(response: httpx.Response) -> dict[str, Any]:
    """The ``error`` object of an agentgym error body, or ``{"message": detail}`` of FastAPI's."""
    try:
        body = response.json()
    except ValueError:
        return {}
    if isinstance(body, dict):
        if isinstance(body.get("error"), dict):
            return body["error"]
        if "detail" in body:
            return {"message": str(body["detail"])[:300]}
    return {}


def _shape(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
