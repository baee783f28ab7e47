"""A retrieval server speaking Search-R1's ``/retrieve`` API, over any :class:`Retriever`.

Search-R1's agents (``search_r1/llm_agent/generation.py``) and their retrieval server
(``search_r1/search/retrieval_server.py``) exchange::

    POST /retrieve  {"queries": ["q1", "q2"], "topk": 3, "return_scores": true}
    -> {"result": [[{"document": {"id": "12", "contents": "\\"Title\\"\\ntext"}, "score": 7.1}, ...],
                   [...]]}

one list per query, in order, best first; without ``return_scores`` each list holds the
documents themselves (``[{"id", "contents"}, ...]``). ``contents`` is wiki-18's
``'"Title"\\ntext'`` (see :func:`agentgym.retrieval.sources.join_contents`). This app answers
exactly that, plus two endpoints of its own:

    GET /documents/{doc_id}  -> {"id", "title", "text", "contents"}; 404 for an unknown id
    GET /health              -> {"status": "ok", "documents": n, "retriever": "BM25Index",
                                 "default_topk", "max_topk", "max_queries", "contents"}

Limits, and what a request gets wrong:

* ``topk`` missing, ``null`` or ``0`` means ``default_topk`` (Search-R1's server does the
  same); a ``topk`` over ``max_topk`` is capped to it, and every ``/retrieve`` answer says
  the ``topk`` it used in the ``X-Retrieval-Topk`` header (the body stays Search-R1's);
* an empty ``queries`` list gets ``{"result": []}``; an empty or blank query an empty list;
* 422: a body that is not JSON or not the schema (``queries`` a list of strings, ``topk``
  an int, ``return_scores`` a bool), a negative ``topk``, more than ``max_queries`` queries;
  400: a query the retriever refuses; 413: a body over ``max_body_bytes``; 401: a missing or
  wrong bearer token when the app has an ``api_key``;
* 503: the retriever itself failed (:class:`RetrievalError`, or it was closed); 500 only for
  a bug, with a one-line message. No answer carries a traceback. A client that hangs up before
  its body is read is no bug: nothing is logged (its answer, 499, reaches no one).

Errors have the rest of agentgym's body, ``{"error": {"message", "type", "param", "code"}}``;
an unknown document's ``type`` is ``"document_not_found"`` (how :class:`RemoteRetriever` tells
it from a server that has no ``/documents`` endpoint at all).

Retrieval blocks, so it runs on the app's own thread pool (``workers`` threads, started and
joined with the app's lifespan), never on the event loop: ``/health`` answers while searches
run. The retriever must allow that many concurrent calls; the app never closes it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable, Literal, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, StrictStr, ValidationError
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from agentgym.retrieval.base import Document, DocumentNotFound, Hit, RetrievalError, Retriever
from agentgym.core import check_api_key
from agentgym.retrieval.sources import join_contents
from agentgym.serve.guards import DEFAULT_MAX_BODY_BYTES, BearerAuth, BodyLimit, CrashAnswer, error_body

DEFAULT_TOPK = 3
DEFAULT_MAX_TOPK = 100
DEFAULT_MAX_QUERIES = 4096
DEFAULT_WORKERS = 4
TOPK_HEADER = "X-Retrieval-Topk"
ContentsMode = Literal["document", "snippet"]

_T = TypeVar("_T")
log = logging.getLogger("agentgym.retrieval.server")


class RetrieveRequest(BaseModel):
    """Search-R1's ``QueryRequest``, with strict types (a ``topk`` of ``"3"`` or ``true`` is refused)."""
    model_config = ConfigDict(extra="ignore")

    queries: list[StrictStr]
    topk: StrictInt | None = None
    return_scores: StrictBool = False


class ApiError(Exception):
    """An answer other than 200: ``status``, a message and an error ``type``."""

    def __init__(self, status: int, message: str, error_type: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.error_type = status, message, error_type


class _DocumentId(Convertor):
    """A ``/documents/{id}`` path parameter: any text, ``/`` and line breaks included (Starlette's
    ``path`` is ``.*``, and an id holding a line break matched no route: a 404 that said the server
    has no /documents endpoint)."""

    regex = r"[\s\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return str(value)


register_url_convertor("document_id", _DocumentId())


def create_retrieval_app(retriever: Retriever, *, default_topk: int = DEFAULT_TOPK, max_topk: int = DEFAULT_MAX_TOPK,
                         max_queries: int = DEFAULT_MAX_QUERIES, contents: ContentsMode = "document",
                         workers: int = DEFAULT_WORKERS, api_key: str | None = None,
                         max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> FastAPI:
    """The FastAPI app serving ``retriever`` (see the module docstring).

    ``contents="document"`` answers each hit with its whole document (as Search-R1 does);
    ``"snippet"`` with the hit's snippet only (shorter answers for long documents).
    An ``api_key`` no client can send (a line break or another control character, a space at
    either end: :func:`~agentgym.core.check_api_key`) raises ``ValueError``, which
    does not show it: taken, it made every request a 401.
    """
    for name, value in (("default_topk", default_topk), ("max_topk", max_topk), ("max_queries", max_queries),
                        ("workers", workers), ("max_body_bytes", max_body_bytes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if default_topk > max_topk:
        raise ValueError(f"default_topk ({default_topk}) is over max_topk ({max_topk})")
    if contents not in ("document", "snippet"):
        raise ValueError(f"contents must be 'document' or 'snippet', got {contents!r}")
    check_api_key(api_key)
    pool: ThreadPoolExecutor | None = None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        nonlocal pool
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="agentgym-retrieval")
        try:
            yield
        finally:
            pool.shutdown(wait=True)
            pool = None

    async def off_loop(function: Callable[..., _T], *args: Any) -> _T:
        """Run blocking retriever work on the pool, mapping its failures to answers."""
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, function, *args)
        except ApiError:
            raise
        except DocumentNotFound as exc:
            raise ApiError(404, str(exc), "document_not_found") from None
        except RetrievalError as exc:
            raise ApiError(503, f"the retriever failed: {exc}", "retriever_error") from None
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        except RuntimeError as exc:  # a closed retriever
            raise ApiError(503, f"the retriever cannot answer: {exc}", "retriever_error") from None

    def retrieve(queries: list[str], topk: int, return_scores: bool) -> list[list[Any]]:
        hits = retriever.search_many(queries, topk) if queries else []
        if len(hits) != len(queries):
            raise RetrievalError(f"{type(retriever).__name__}.search_many answered {len(hits)} lists for "
                                 f"{len(queries)} queries")
        return [[_answer_item(retriever, hit, contents, return_scores) for hit in query_hits[:topk]]
                for query_hits in hits]

    def open_document(doc_id: str) -> dict[str, str]:
        document = retriever.document(doc_id)
        return {"id": document.id, "title": document.title, "text": document.text,
                "contents": join_contents(document.title, document.text)}

    app = FastAPI(title="agentgym retrieval server (Search-R1 /retrieve API)", version="1", lifespan=lifespan)
    app.router.redirect_slashes = False

    @app.post("/retrieve", openapi_extra={"requestBody": {
        "required": True, "content": {"application/json": {"schema": RetrieveRequest.model_json_schema()}}}})
    async def retrieve_endpoint(request: Request) -> Response:
        query = _parse_retrieve_request(await request.body())
        if query.topk is not None and query.topk < 0:
            raise ApiError(422, f"topk must be positive (or null or 0 for the server's default, {default_topk}), "
                                f"got {query.topk}")
        if len(query.queries) > max_queries:
            raise ApiError(422, f"{len(query.queries)} queries in one request; this server takes at most "
                                f"{max_queries}: send them in several requests")
        topk = min(query.topk or default_topk, max_topk)
        result = await off_loop(retrieve, query.queries, topk, query.return_scores)
        return _json(200, {"result": result}, headers={TOPK_HEADER: str(topk)})

    @app.get("/documents/{doc_id:document_id}")
    async def document_endpoint(doc_id: str) -> Response:
        return _json(200, await off_loop(open_document, doc_id))

    @app.get("/health")
    async def health_endpoint() -> Response:
        documents = await off_loop(len, retriever)
        return _json(200, {"status": "ok", "documents": documents, "retriever": type(retriever).__name__,
                           "default_topk": default_topk, "max_topk": max_topk, "max_queries": max_queries,
                           "contents": contents})

    _install_error_handlers(app)
    # A retriever's bug: answered 500 with the connection kept (see CrashAnswer)
    app.add_middleware(CrashAnswer, logger=log, error_type="internal_error")
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    if api_key:
        app.add_middleware(BearerAuth, api_key=api_key)  # added last: runs first
    return app


_EXPECTED = '(expected {"queries": [str, ...], "topk": int | null, "return_scores": bool})'


def _parse_retrieve_request(body: bytes) -> RetrieveRequest:
    """The body as a :class:`RetrieveRequest`, whatever its Content-Type (``curl -d`` sends none
    that says JSON); ``ApiError`` 422 saying what is wrong."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise ApiError(422, "the request body is not valid JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise ApiError(422, f"the request body is not valid JSON: {exc}") from None
    try:
        return RetrieveRequest.model_validate(data)
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5]]
        raise ApiError(422, f"invalid request: {'; '.join(problems)} {_EXPECTED}") from None


def _answer_item(retriever: Retriever, hit: Hit, contents: ContentsMode, return_scores: bool) -> dict[str, Any]:
    if contents == "document":
        try:
            document = retriever.document(hit.doc_id)
        except DocumentNotFound:
            raise RetrievalError(f"the index returned document {hit.doc_id!r}, which its store does not hold") \
                from None
    else:
        document = Document(id=hit.doc_id, title=hit.title, text=hit.snippet)
    item = {"id": document.id, "contents": join_contents(document.title, document.text)}
    return {"document": item, "score": float(hit.score)} if return_scores else item


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    # ensure_ascii keeps any lone surrogate of a document encodable; allow_nan=False as JSON has no NaN
    return Response(json.dumps(body, ensure_ascii=True, allow_nan=False).encode("ascii"), status_code=status,
                    media_type="application/json", headers=headers)


def _error(status: int, message: str, error_type: str = "invalid_request_error") -> Response:
    return Response(error_body(status, message, error_type), status_code=status, media_type="application/json")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> Response:
        return _error(exc.status, exc.message, exc.error_type)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors()[:5]:
            if error.get("type") == "json_invalid":
                reason = (error.get("ctx") or {}).get("error", "")
                return _error(422, f"the request body is not valid JSON: {reason}".rstrip(": "))
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
            problems.append(f"{where}: {error.get('msg')}")
        return _error(422, "invalid request: " + "; ".join(problems))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> Response:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(ClientDisconnect)
    async def client_gone(_: Request, exc: ClientDisconnect) -> Response:
        # The client hung up while its request was read: no one to answer, nothing searched,
        # and no bug of the server (the crash guard would log a traceback and answer 500).
        return Response(status_code=499)


class RetrievalServer:
    """A retrieval app served by uvicorn on a background thread (from :func:`serve_retriever`).

    ``url`` is the root (``http://127.0.0.1:PORT``; Search-R1's ``search_url`` is
    ``url + "/retrieve"``). ``close()`` stops the server, joins its threads and is idempotent;
    the retriever stays open (its owner closes it). A context manager.
    """

    def __init__(self, app: FastAPI, *, host: str, port: int, startup_timeout: float) -> None:
        from contextlib import ExitStack

        from agentgym.remote.server import guarded_http_protocol
        from agentgym.serve.runner import serving_in_thread

        self._stack = ExitStack()
        self.url: str = self._stack.enter_context(
            serving_in_thread(app, host=host, port=port, name="retrieval server", startup_timeout=startup_timeout,
                              timeout_graceful_shutdown=5, http=guarded_http_protocol()))

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> "RetrievalServer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RetrievalServer({self.url!r})"


def serve_retriever(retriever: Retriever, host: str = "127.0.0.1", port: int = 0, *, api_key: str | None = None,
                    startup_timeout: float = 30.0, **app_options: Any) -> RetrievalServer:
    """Serve ``retriever`` on a background thread until ``.close()``; ``port=0`` picks a free
    port. ``app_options`` go to :func:`create_retrieval_app`. A ``host`` beyond loopback needs
    an ``api_key`` (``ValueError`` otherwise)."""
    from agentgym.serve.guards import check_exposure

    check_exposure(host, api_key)
    return RetrievalServer(create_retrieval_app(retriever, api_key=api_key, **app_options), host=host, port=port,
                           startup_timeout=startup_timeout)


def run_retrieval_server(retriever: Retriever, *, host: str = "127.0.0.1", port: int = 8000,
                         api_key: str | None = None, log_level: str = "info",
                         how_to_give_a_key: str = "api_key=...", **app_options: Any) -> None:
    """Serve ``retriever`` in the foreground until interrupted (the CLI's ``serve-retriever``)."""
    import uvicorn

    from agentgym.remote.server import guarded_http_protocol
    from agentgym.serve.guards import check_exposure, check_port

    check_exposure(host, api_key, how_to_give_a_key=how_to_give_a_key)
    port = check_port(port)
    uvicorn.run(create_retrieval_app(retriever, api_key=api_key, **app_options), host=host, port=port,
                log_level=log_level, timeout_graceful_shutdown=10, http=guarded_http_protocol())
