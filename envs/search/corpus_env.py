"""``search/Corpus-v0``: the search environment over the user's own questions and documents.

:func:`corpus_search_env` (the registered entry point) takes, as data:

* ``tasks``: a question file or datasets folder that :func:`~agentgym.envs.search.byo.read_tasks`
  reads (NQ or HotpotQA ``shape``, ``"auto"`` by default), with the ``split`` name its tasks get;
  Without ``tasks`` (and without documents), a sample: the generated ``World(1000, 0)``
  exported once under the search cache as an NQ-shaped question file (``questions.jsonl``:
  ``question``, ``golden_answers``) and a JSONL corpus (``documents.jsonl``: ``id``, ``title``,
  ``text``), so that the environment runs out of the box and shows the expected formats;
* the documents, one of:

  - ``corpus``: a documents file or folder that
    :func:`~agentgym.retrieval.sources.read_documents` reads, indexed with BM25 once under the
    search cache (``corpora/<name>-<fingerprint>``, the fingerprint covering the path, size and
    modification time of the file, or of every file in the folder
    (:func:`~agentgym.retrieval.sources.source_fingerprint`), so an edited file or a dataset
    saved anew gets a new index) and shared in the process. ``id_field`` / ``title_field`` /
    ``text_field`` name its columns when detection would not find them (as ``serve-retriever
    --corpus``'s ``--text-field``...); they key the index too, and need ``corpus``;
  - ``retriever_url``: a running ``/retrieve`` server (``agentgym serve-retriever``, Search-R1's),
    through one shared :class:`~agentgym.retrieval.client.RemoteRetriever` per URL, with the key
    in ``$AGENTGYM_API_KEY`` when one is set (a server beyond loopback requires it);
  - neither, for a HotpotQA file: its context paragraphs are the corpus
    (:func:`~agentgym.envs.search.byo.hotpotqa_documents`), whose ids are the titles the gold
    documents name. A HotpotQA file given as ``corpus`` (its first row HotpotQA-shaped, with no
    text field) is read so too.

Every other argument is :class:`~agentgym.envs.search.env.SearchEnv`'s (``action_format``,
``top_k``, ``turn_budget``...), except those of the generated world (``size``, ``seed``,
``kinds``, ``questions``) and live objects (``retriever``). Question files are read once per
process (keyed by the same fingerprint). A missing or unreadable file, an unknown
shape, both or none of the document sources: :class:`~agentgym.core.ConfigError` saying which.
A path (``tasks``, ``corpus``, ``cache_dir``) that starts with ``~`` is in the home folder.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from agentgym.core import ConfigError, check_api_key
from agentgym.registry import constructor_arguments
from agentgym.retrieval.base import Document, Retriever
from agentgym.retrieval.sources import source_fingerprint

from .byo import detect_shape, hotpotqa_documents, read_tasks
from .env import SearchEnv
from .retrievers import search_cache_dir, shared
from .tasks import SearchTask
from .tool_turns import SearchToolCalling

_OWNER = "search/Corpus-v0"
#: The variable holding the retrieval server's key (the one ``agentgym serve-retriever`` reads).
API_KEY_ENV = "AGENTGYM_API_KEY"
#: SearchEnv arguments that Corpus-v0 does not take (the generated world's, live objects).
NOT_TAKEN = frozenset({"size", "seed", "kinds", "questions", "retriever"})
#: SearchEnv's constructor arguments: those the factory passes on (read once, not at every make).
_SEARCH_ENV_ARGUMENTS = constructor_arguments(SearchEnv) or {}


def corpus_search_env(*, tasks: str | None = None, shape: str = "auto", corpus: str | None = None,
                      retriever_url: str | None = None, split: str = "train", cache_dir: str | None = None,
                      action_format: str = "tags", id_field: str | None = None, title_field: str | None = None,
                      text_field: str | None = None, **kwargs: Any) -> SearchEnv | SearchToolCalling:
    """The search environment over the user's data (see the module docstring)."""
    accepted = _SEARCH_ENV_ARGUMENTS.keys() - NOT_TAKEN
    unknown = sorted(name for name in kwargs if name not in accepted)
    if unknown:
        raise ConfigError(f"{_OWNER}: unknown argument(s) {', '.join(unknown)}; besides tasks, shape, corpus, "
                          f"retriever_url, split, cache_dir, action_format, id_field, title_field and text_field it "
                          f"takes: {', '.join(sorted(accepted))}")
    fields = (id_field, title_field, text_field)
    if any(field is not None for field in fields) and corpus is None:
        raise ConfigError(f"{_OWNER}: id_field, title_field and text_field name the columns of a documents file: "
                          f"give them with corpus=PATH")
    if tasks is None:
        if corpus is not None or retriever_url is not None:
            raise ConfigError(f"{_OWNER}: give tasks=PATH (a question file, NQ or HotpotQA shape) with the documents")
        tasks, corpus = (str(path) for path in sample_files(cache_dir))
    if corpus is not None and retriever_url is not None:
        raise ConfigError(f"{_OWNER}: give corpus or retriever_url, not both")
    task_list, shape = _tasks(tasks, shape, split)
    if retriever_url is not None:
        retriever = remote_retriever(retriever_url)
    elif corpus is not None:
        hotpotqa = fields == (None, None, None) and _is_hotpotqa_file(corpus)
        retriever = corpus_retriever(corpus, cache_dir=cache_dir, hotpotqa=hotpotqa, fields=fields)
    elif shape == "hotpotqa":
        retriever = corpus_retriever(tasks, cache_dir=cache_dir, hotpotqa=True)
    else:
        raise ConfigError(f"{_OWNER}: {shape} questions carry no documents: give corpus=PATH (a documents file) "
                          f"or retriever_url=URL (a /retrieve server)")
    env = CorpusSearchEnv(tasks=task_list, retriever=retriever, action_format=action_format, **kwargs)
    return SearchToolCalling(env) if action_format == "tools" else env


#: What the server's operator alone may set (see ``LLMEnv.host_arguments``): the files read, the
#: retrieval server asked, the cache folder.
corpus_search_env.host_arguments = frozenset(  # type: ignore[attr-defined]
    {"tasks", "corpus", "retriever_url", "cache_dir"})


def _taken_arguments() -> inspect.Signature:
    """What ``corpus_search_env`` takes, as one signature: its own arguments, then those it
    passes on to :class:`SearchEnv` (not :data:`NOT_TAKEN`). ``agentgym info`` and the argument
    checks read it (its ``**kwargs`` alone said nothing, and SearchEnv's list offered ``size=``)."""
    own = [p for p in inspect.signature(corpus_search_env).parameters.values() if p.kind is not p.VAR_KEYWORD]
    named = {p.name for p in own}
    passed_on = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
                 for name, p in _SEARCH_ENV_ARGUMENTS.items()
                 if name not in NOT_TAKEN and name not in named]
    return inspect.Signature(own + passed_on)


corpus_search_env.__signature__ = _taken_arguments()  # type: ignore[attr-defined]


class CorpusSearchEnv(SearchEnv):
    """:class:`SearchEnv` over the user's questions: one difficulty level, ``mixed`` (a question
    file's hop counts are rarely known; choose questions by filtering the file)."""

    difficulties = ("mixed",)


def _tasks(source: str, shape: str, split: str) -> tuple[list[SearchTask], str]:
    """The tasks of ``source`` and the shape they were read in."""
    path = _existing(source, "tasks")
    try:
        found, shape = _read_tasks(str(path.resolve()), source_fingerprint(path), shape, split)
    except (ValueError, TypeError, OSError) as exc:
        raise ConfigError(f"{_OWNER}: cannot read the tasks: {exc}") from None
    if not found:
        raise ConfigError(f"{_OWNER}: {source} holds no questions")
    return list(found), shape


@functools.lru_cache(maxsize=16)
def _read_tasks(path: str, fingerprint: str, shape: str, split: str) -> tuple[tuple[SearchTask, ...], str]:
    if shape == "auto":
        from agentgym.retrieval.sources import iter_records

        first = next(iter_records(path), None)
        shape = detect_shape(first, path) if first is not None else "nq"
    return tuple(read_tasks(path, shape=shape, split=split)), shape


def _is_hotpotqa_file(source: str) -> bool:
    """Whether the documents file ``source`` is a HotpotQA file (module docstring); ``False`` when
    it cannot be read (the indexing says why)."""
    path = _existing(source, "corpus")
    try:
        return _first_row_is_hotpotqa(str(path.resolve()), source_fingerprint(path))
    except (ValueError, TypeError, OSError):
        return False


@functools.lru_cache(maxsize=16)
def _first_row_is_hotpotqa(path: str, fingerprint: str) -> bool:
    from agentgym.retrieval.sources import TEXT_FIELDS, iter_records

    first = next(iter_records(path), None)
    if first is None or any(field in first for field in TEXT_FIELDS):
        return False
    try:
        return detect_shape(first, path) == "hotpotqa"
    except ValueError:
        return False


def remote_retriever(url: str) -> Retriever:
    """The process's shared :class:`~agentgym.retrieval.client.RemoteRetriever` of ``url``, sending
    the key in ``$AGENTGYM_API_KEY`` when it is set (a server beyond loopback requires one; the key
    is never an environment argument, which runs and servers record); a key no HTTP header can carry
    (a line break in it) is a :class:`~agentgym.core.ConfigError` that does not show it."""
    from agentgym.retrieval.client import RemoteRetriever

    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(f"{_OWNER}: retriever_url must be an http:// or https:// URL, got {url!r}")
    api_key = os.environ.get(API_KEY_ENV) or None
    try:
        check_api_key(api_key)
    except ValueError as exc:
        raise ConfigError(f"{_OWNER}: ${API_KEY_ENV}: {exc}") from None
    keyed = hashlib.sha256(api_key.encode()).hexdigest()[:16] if api_key else "no key"
    try:
        return shared(f"remote:{url.rstrip('/')}:{keyed}", lambda: RemoteRetriever(url, api_key=api_key))
    except ValueError as exc:  # a URL without a host, with a port out of range...
        raise ConfigError(f"{_OWNER}: retriever_url: {exc}") from None


def corpus_retriever(source: str | os.PathLike[str], *, cache_dir: str | os.PathLike[str] | None = None,
                     hotpotqa: bool = False,
                     fields: tuple[str | None, str | None, str | None] = (None, None, None)) -> Retriever:
    """The shared BM25 index of a documents file (or of a HotpotQA file's context paragraphs),
    built under ``<search cache>/corpora`` the first time; ``fields`` are the id, title and text
    columns :func:`~agentgym.retrieval.sources.read_documents` reads (``None``: detected)."""
    from agentgym.retrieval.bm25 import BM25Index  # the search extra (bm25s)
    from agentgym.retrieval.sources import read_documents

    path = _existing(source, "corpus").resolve()
    kind = "hotpotqa" if hotpotqa else "documents" if fields == (None, None, None) else f"documents{list(fields)}"
    fingerprint = hashlib.sha256(f"{source_fingerprint(path)}|{kind}".encode()).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", path.name)[:60]
    index_path = search_cache_dir(cache_dir) / "corpora" / f"{name}-{fingerprint}"

    def documents() -> Iterator[Document]:
        if hotpotqa:
            return hotpotqa_documents(str(path))
        id_field, title_field, text_field = fields
        return read_documents(str(path), id_field=id_field, title_field=title_field, text_field=text_field)

    def build() -> Retriever:
        try:
            return BM25Index.open_or_build(index_path, documents)
        except (ValueError, TypeError, OSError) as exc:
            raise ConfigError(f"{_OWNER}: cannot index the documents of {source}: {exc}") from None

    return shared(str(index_path), build, source=f"{path}|{kind}|{search_cache_dir(cache_dir).resolve()}")


def sample_files(cache_dir: str | os.PathLike[str] | None = None, *, size: int = 1_000, seed: int = 0,
                 questions: int = 200) -> tuple[Path, Path]:
    """``(questions.jsonl, documents.jsonl)`` of the sample (see the module docstring), written once
    (atomically: a temporary folder renamed into place) and reused."""
    folder = search_cache_dir(cache_dir) / "samples" / f"world-n{size}-s{seed}-q{questions}"
    files = (folder / "questions.jsonl", folder / "documents.jsonl")
    if all(path.is_file() for path in files):
        return files
    from .corpus import iter_documents
    from .questions import generate_questions
    from .world import World

    world = World(size, seed)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        with open(tmp / files[0].name, "w", encoding="utf-8") as out:
            for question in generate_questions(world, questions, seed):
                row = {"id": question.qid, "question": question.question,
                       "golden_answers": [question.answer, *question.aliases]}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        with open(tmp / files[1].name, "w", encoding="utf-8") as out:
            for document in iter_documents(world):
                out.write(json.dumps(document, ensure_ascii=False) + "\n")
        try:
            os.rename(tmp, folder)
        except OSError:  # another process wrote it first
            if not all(path.is_file() for path in files):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return files


def _existing(source: Any, what: str) -> Path:
    if not isinstance(source, (str, os.PathLike)):
        raise ConfigError(f"{_OWNER}: {what} must be a path, got {type(source).__name__}")
    path = Path(source).expanduser()  # "~/data.jsonl" is in the home folder, as elsewhere in agentgym
    if not path.exists():
        raise ConfigError(f"{_OWNER}: {what} file {str(path)!r} does not exist")
    return path
