"""``agentgym serve-retriever``: a BM25 retrieval server speaking Search-R1's ``/retrieve`` API.

The corpus is either the search family's generated encyclopedia (``--world-size N --seed S``:
built once and cached) or the user's own file or dataset folder (``--corpus PATH``: JSONL,
JSON, Parquet or a saved Hugging Face dataset, read by :mod:`agentgym.retrieval.sources`). It
is indexed with :class:`~agentgym.retrieval.bm25.BM25Index` under ``--index-dir`` once; later
runs reuse the index (a ``--corpus`` index is named after the path, size and modification time
of the file, or of every file in the folder, so an edited file is indexed afresh). Search-R1's
agents point their ``search_url`` at ``http://HOST:PORT/retrieve``; endpoints in
:mod:`agentgym.retrieval.server`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path

from agentgym.cli.options import check_port_free, file_in_the_way, path_argument

API_KEY_ENV = "AGENTGYM_API_KEY"


def default_index_dir() -> Path:
    """The search family's cache (``$AGENTGYM_CACHE/search``, else ``~/.cache/agentgym/search``):
    a generated world served here and the search environments share one corpus and index."""
    from agentgym.envs.search.retrievers import search_cache_dir

    return search_cache_dir()


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "serve-retriever", help="serve a BM25 index over HTTP with Search-R1's /retrieve API",
        description="Index a corpus with BM25 (once; cached) and serve it: POST /retrieve {queries, topk, "
                    "return_scores} as Search-R1's retrieval server, GET /documents/{id}, GET /health.")
    corpus = parser.add_mutually_exclusive_group(required=True)
    corpus.add_argument("--world-size", type=int, metavar="N",
                        help="serve the generated encyclopedia of N entities (with --seed)")
    corpus.add_argument("--corpus", type=path_argument, metavar="PATH",
                        help="serve your own corpus: a .jsonl/.jsonl.gz/.json/.parquet file or a saved datasets "
                             "folder (fields id/_id/doc_id/docid, title, text/contents/passage/body; wiki-18's "
                             "'\"Title\"\\ntext' contents are split)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated world (default: %(default)s)")
    parser.add_argument("--id-field", default=None, help="--corpus: the id column (default: detected)")
    parser.add_argument("--title-field", default=None, help="--corpus: the title column (default: detected)")
    parser.add_argument("--text-field", default=None, help="--corpus: the text column (default: detected)")
    parser.add_argument("--index-dir", type=path_argument, default=None,
                        help=f"where corpora and indexes are cached (default: {default_index_dir()})")
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to listen on (default: loopback only); any other needs an API key")
    parser.add_argument("--port", type=int, default=8000, help="port (default: %(default)s; 0 picks a free one)")
    parser.add_argument("--topk", type=int, default=3,
                        help="results per query when a request gives no topk (default: %(default)s)")
    parser.add_argument("--max-topk", type=int, default=100,
                        help="larger topk values are capped to this (default: %(default)s)")
    parser.add_argument("--contents", choices=("document", "snippet"), default="document",
                        help="answer each hit with its whole document (as Search-R1) or its best snippet "
                             "(default: %(default)s)")
    parser.add_argument("--workers", type=int, default=4,
                        help="threads that run searches (default: %(default)s)")
    parser.add_argument("--api-key", default=None,
                        help=f"require 'Authorization: Bearer <key>' (default: the {API_KEY_ENV} environment "
                             "variable); needed to listen beyond loopback")


def _positive(value: int, flag: str) -> None:
    if value < 1:
        raise ValueError(f"{flag} must be at least 1, got {value}")


def corpus_index_name(path: Path, fields: tuple[str | None, str | None, str | None]) -> str:
    """An index directory name for a user's corpus: its stem plus a hash of its resolved path,
    size, modification time (of every file in it, for a folder:
    :func:`~agentgym.retrieval.sources.source_fingerprint`) and the field options (a changed
    file, or a dataset folder saved anew, gets a new index)."""
    from agentgym.retrieval.sources import source_fingerprint

    key = f"{source_fingerprint(path)}|{fields}".encode()
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in path.name)[:40]
    return f"bm25-{stem}-{hashlib.sha256(key).hexdigest()[:16]}"


def open_index(args: argparse.Namespace):  # -> BM25Index
    """Build (or reuse) the BM25 index the options name."""
    try:
        from agentgym.retrieval.bm25 import BM25Index
    except ImportError as exc:
        raise ValueError(f"serve-retriever needs the search extra: pip install 'agentgym[search]' ({exc})") from None
    index_dir = args.index_dir if args.index_dir is not None else default_index_dir()
    if (in_the_way := file_in_the_way(index_dir)) is not None:
        raise ValueError(f"--index-dir {index_dir}: {in_the_way} is a file, not a folder")
    if args.world_size is not None:
        from agentgym.envs.search.corpus import build_corpus
        from agentgym.envs.search.world import MIN_SIZE, NAME_SPACE

        if not MIN_SIZE <= args.world_size <= NAME_SPACE:
            raise ValueError(f"--world-size must be in [{MIN_SIZE}, {NAME_SPACE}] (entities), got {args.world_size}")
        from agentgym.envs.search.retrievers import INDEX_FOLDER

        corpus = build_corpus(args.world_size, args.seed, index_dir)  # the environments' layout
        return BM25Index.open_or_build(corpus.path / INDEX_FOLDER, corpus.iter_documents)
    from agentgym.retrieval.sources import read_documents

    path = Path(args.corpus)
    if not path.exists():
        raise FileNotFoundError(f"--corpus {path}: no such file or directory")
    fields = (args.id_field, args.title_field, args.text_field)
    return BM25Index.open_or_build(
        index_dir / corpus_index_name(path, fields),
        lambda: read_documents(path, id_field=args.id_field, title_field=args.title_field,
                               text_field=args.text_field))


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be between 0 and 65535, got {args.port}")
    for value, flag in ((args.topk, "--topk"), (args.max_topk, "--max-topk"), (args.workers, "--workers")):
        _positive(value, flag)
    if args.topk > args.max_topk:
        raise ValueError(f"--topk ({args.topk}) is over --max-topk ({args.max_topk})")
    if args.api_key is not None and not args.api_key:
        raise ValueError("--api-key is empty: give a non-empty key")
    api_key = args.api_key if args.api_key is not None else os.environ.get(API_KEY_ENV) or None
    try:
        from agentgym.retrieval.server import run_retrieval_server
        from agentgym.serve.guards import check_exposure
    except ImportError as exc:
        raise ValueError(f"serve-retriever needs FastAPI and uvicorn: pip install 'agentgym[serve]' ({exc})") \
            from None
    how_to_give_a_key = f"--api-key or the {API_KEY_ENV} environment variable"
    check_exposure(args.host, api_key, how_to_give_a_key=how_to_give_a_key)  # before a long index build
    check_port_free(args.host, args.port)
    with open_index(args) as index:
        print(f"serving {len(index)} documents from {index.path}", flush=True)
        run_retrieval_server(index, host=args.host, port=args.port, api_key=api_key,
                             how_to_give_a_key=how_to_give_a_key, default_topk=args.topk, max_topk=args.max_topk,
                             contents=args.contents, workers=args.workers)
    return 0
