"""The replay buffer of real transitions an experience model learns the environment from.

A :class:`Transition` is one step of an episode: the environment (``env_id``), the task the
agent was given (instructions and first observation), the last few turns before the action
(``history``: ``(action, observation)`` pairs), the action, and what the environment did
(next observation, reward, ``terminated``). :func:`transitions_from` cuts a recorded
:class:`~agentgym.trajectory.Trajectory` into them.

:class:`ReplayBuffer` holds at most ``capacity`` transitions and finds the ones most similar to
a :class:`Context` (an environment, a task, a history and an action):

* **Seeding and growth.** ``ReplayBuffer.from_jsonl(paths)`` reads trajectories recorded by
  the rollout engine (``rollout(..., trajectories_path=...)``, :class:`~agentgym.trajectory.TrajectoryWriter`);
  ``add(trajectories)`` adds more at any time, and ``add_trajectory`` is the same for one
  trajectory, shaped as the rollout engine's ``on_episode`` callback, so a buffer grows while
  real rollouts run. Transitions carry a ``source``: ``"synthetic"`` for the episodes of a
  synthetic environment (an experience model made them up), ``"real"`` for the others, unless
  ``add`` is told otherwise; retrieval keeps to real ones by default.
* **Capacity.** ``eviction="fifo"`` (default) drops the oldest transition when a new one
  comes in full; ``eviction="reservoir"`` keeps a uniform sample of every transition ever
  added (Vitter's algorithm R: the n-th one replaces a random slot with probability
  ``capacity / n``, drawn from the buffer's own seeded generator), so the seed data is not
  pushed out by a long online run. The similarity index's vocabulary is that of the
  transitions held (the words only evicted ones had are forgotten), so memory and the cost of
  a query stay bounded however many transitions a run adds.
* **Similarity.** ``similar(context, k)`` ranks the transitions of the context's environment by
  TF-IDF cosine similarity over words (:func:`~agentgym.retrieval.snippets.tokenize`: lower-case
  words and numbers, stop words left out). A transition's words are those of its task, its
  history and its action, the action's counted twice (the action decides most of what happens
  next)::

      tf(t, d) = 1 + log(count of t in d)      idf(t) = 1 + log((1 + N) / (1 + df(t)))
      score(q, d) = sum_t w(t, q) w(t, d) / (|w(q)| |w(d)|),   w(t, d) = tf(t, d) idf(t)

  with ``N`` the transitions held and ``df(t)`` those holding ``t``. The top ``k`` come best
  first; equal scores (no shared word at all included) go to the newer transition, so a
  context with nothing in common with the buffer still gets the latest examples of its
  environment. numpy only: no index library.
* **Threads.** Every method may be called from any thread (rollouts add from theirs): changes
  happen under one lock, and a query scores a snapshot of the index built under it.
"""

from __future__ import annotations

import math
import os
import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from agentgym.core import ConfigError, check_int
from agentgym.locked_state import PicklesWithoutLock
from agentgym.retrieval.snippets import tokenize
from agentgym.trajectory import Trajectory, read_trajectories

SOURCES = ("real", "synthetic")
EVICTIONS = ("fifo", "reservoir")
#: How many characters of each text (task, action, observation) a transition keeps.
DEFAULT_MAX_CHARS = 2_000
#: The vocabulary is compacted (see ``ReplayBuffer._compact``) only past this many words.
_COMPACT_MIN_WORDS = 4096
#: The environments whose episodes are simulated ones: their trajectories name the real env
#: in ``metadata["env_kwargs"]["env_id"]``.
SYNTHETIC_PREFIX = "synthetic/"


@dataclass(frozen=True)
class Context:
    """Where a step happens: the environment, the task text (instructions, then the first
    observation), the last few ``(action, observation)`` turns and the action taken."""

    env_id: str
    task: str
    history: tuple[tuple[str, str], ...] = ()
    action: str = ""

    def words(self) -> list[str]:
        """The words similarity counts: task, history, and the action twice."""
        parts = [self.task, *(text for turn in self.history for text in turn), self.action, self.action]
        return [word for part in parts for word in tokenize(part)]


@dataclass(frozen=True)
class Transition:
    """One real (or simulated) step: its :class:`Context` and what the environment did."""

    context: Context
    observation: str
    reward: float
    terminated: bool
    success: bool = False
    source: str = "real"
    task_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["context"]["history"] = [list(turn) for turn in self.context.history]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transition:
        context = dict(data["context"])
        context["history"] = tuple(tuple(turn) for turn in context.get("history", ()))
        return cls(**{**data, "context": Context(**context)})


def _clip(text: Any, max_chars: int) -> str:
    text = text if isinstance(text, str) else str(text)
    text = text.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate cannot be stored or shown
    return text if len(text) <= max_chars else text[:max_chars] + "…"


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: keep the text ones
        return "\n".join(str(part.get("text", "")) for part in content
                         if isinstance(part, dict) and part.get("type") == "text")
    return ""


def final_observation(trajectory: Trajectory) -> str | None:
    """The observation after the last action: the messages after the last assistant message
    (a user message, or tool results), or ``None`` when the trajectory has none (an episode
    cut short by an error before the environment answered)."""
    messages = [m for m in trajectory.messages if isinstance(m, dict)]
    last_assistant = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
    if last_assistant is None:
        return None
    after = [_message_text(m) for m in messages[last_assistant + 1:] if m.get("role") in ("user", "tool")]
    return "\n".join(after) if after else None


def trajectory_source(trajectory: Trajectory) -> str:
    """``"synthetic"`` for an episode of a synthetic environment (an experience model made its
    steps up), ``"real"`` otherwise: a trajectory's transitions' source unless told otherwise."""
    return "synthetic" if (trajectory.env_id or "").startswith(SYNTHETIC_PREFIX) else "real"


def real_env_id(trajectory: Trajectory) -> str:
    """The environment a trajectory's steps belong to: its ``env_id``, or for an episode of a
    synthetic environment the real environment it simulated."""
    env_id = trajectory.env_id or ""
    if env_id.startswith(SYNTHETIC_PREFIX):
        inner = (trajectory.metadata.get("env_kwargs") or {}).get("env_id")
        if isinstance(inner, str) and inner:
            return inner
    return env_id


def transitions_from(trajectory: Trajectory, *, history_turns: int = 3, source: str | None = None,
                     max_chars: int = DEFAULT_MAX_CHARS) -> list[Transition]:
    """The transitions of one trajectory, in order. A turn's next observation is the next
    turn's observation, or for the last turn :func:`final_observation` (a last turn without one
    is left out). Only the last turn of a terminated episode is ``terminated``; a truncated
    episode's last turn is not (the environment did not end it). ``source`` defaults to
    :func:`trajectory_source`."""
    turns = trajectory.turns
    if not turns:
        return []
    source = trajectory_source(trajectory) if source is None else source
    env_id = real_env_id(trajectory)
    task = _clip(f"{trajectory.instructions}\n\n{turns[0].observation}".strip(), max_chars)
    history: list[tuple[str, str]] = []
    found = []
    for i, turn in enumerate(turns):
        last = i == len(turns) - 1
        following = final_observation(trajectory) if last else turns[i + 1].observation
        action = _clip(turn.action, max_chars)
        if following is not None:
            reward = float(turn.reward) if math.isfinite(turn.reward) else 0.0
            found.append(Transition(
                Context(env_id, task, tuple(history[-history_turns:]) if history_turns else (), action),
                _clip(following, max_chars), reward, bool(last and trajectory.terminated),
                bool(last and trajectory.success), source, trajectory.task_id))
            history.append((action, _clip(following, max_chars)))
    return found


@dataclass
class _Slot:
    transition: Transition
    terms: np.ndarray  # vocabulary ids, unique
    tf: np.ndarray  # 1 + log(count), float64
    order: int  # when it was added (larger is newer)


@dataclass
class _Index:
    """A snapshot of the term matrix (COO) for scoring; immutable once built."""

    slots: list[_Slot]
    rows: np.ndarray
    cols: np.ndarray
    tf: np.ndarray
    idf: np.ndarray
    df: np.ndarray
    norms: np.ndarray
    orders: np.ndarray
    env_ids: np.ndarray
    sources: np.ndarray
    vocabulary: dict[str, int] = field(repr=False, default_factory=dict)


class ReplayBuffer(PicklesWithoutLock):
    """Transitions for an experience model, with similarity search (see the module docstring).

    Args:
        capacity: the most transitions held.
        eviction: ``"fifo"`` or ``"reservoir"``.
        history_turns: how many earlier turns each transition (and each query made with
            :func:`transitions_from`) keeps as its history.
        max_chars: each stored text is cut to this many characters.
        seed: seeds the reservoir's generator.
    """

    _rebuilt_after_pickling = ("_index",)  # the similarity index is rebuilt on the first query

    def __init__(self, capacity: int = 10_000, *, eviction: str = "fifo", history_turns: int = 3,
                 max_chars: int = DEFAULT_MAX_CHARS, seed: int = 0) -> None:
        owner = type(self).__name__
        self.capacity = check_int(owner, "capacity", capacity, minimum=1)
        if eviction not in EVICTIONS:
            raise ConfigError(f"{owner}: eviction must be one of {', '.join(EVICTIONS)}, got {eviction!r}")
        self.eviction = eviction
        self.history_turns = check_int(owner, "history_turns", history_turns, minimum=0)
        self.max_chars = check_int(owner, "max_chars", max_chars, minimum=16)
        self._rng = random.Random(check_int(owner, "seed", seed))
        self._lock = threading.Lock()
        self._slots: list[_Slot] = []
        self._next = 0  # FIFO: the slot the next transition overwrites once full
        self._vocabulary: dict[str, int] = {}
        self._df = np.zeros(0, dtype=np.int64)
        self._compact_at = _COMPACT_MIN_WORDS  # vocabulary size at which _compact looks again
        self._seen = 0
        self._index: _Index | None = None

    # ------------------------------------------------------------------ filling
    @classmethod
    def from_jsonl(cls, paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *,
                   source: str | None = None, **kwargs: Any) -> ReplayBuffer:
        """A buffer seeded with the trajectories of one or more JSONL files (the rollout
        engine's ``trajectories_path``), of ``source`` (default: each trajectory's,
        :func:`trajectory_source`); ``kwargs`` go to the constructor. A missing file is a
        :class:`ConfigError`; unreadable lines are skipped with a warning, as
        :func:`~agentgym.trajectory.read_trajectories` does."""
        buffer = cls(**kwargs)
        for path in [paths] if isinstance(paths, (str, os.PathLike)) else list(paths):
            if not os.path.isfile(path):
                raise ConfigError(f"ReplayBuffer.from_jsonl: no such trajectory file {os.fspath(path)!r}")
            buffer.add(read_trajectories(path), source=source)
        return buffer

    def add(self, trajectories: Trajectory | Iterable[Trajectory], *, source: str | None = None) -> int:
        """Add the transitions of ``trajectories`` (one or many) as ``source`` (default: each
        trajectory's, :func:`trajectory_source`, so a synthetic environment's made-up steps are
        never taken for real examples); returns how many."""
        trajectories = [trajectories] if isinstance(trajectories, Trajectory) else list(trajectories)
        if source is not None:
            _check_source(source)
        for trajectory in trajectories:  # all checked before any is added
            if not isinstance(trajectory, Trajectory):
                raise ConfigError(f"ReplayBuffer.add: expected Trajectory objects, got {type(trajectory).__name__}")
        found = [t for trajectory in trajectories
                 for t in transitions_from(trajectory, history_turns=self.history_turns, source=source,
                                           max_chars=self.max_chars)]
        return self.add_transitions(found)

    def add_trajectory(self, trajectory: Trajectory) -> None:
        """Add one trajectory (of its own source): usable as ``rollout(..., on_episode=buffer.add_trajectory)``."""
        self.add([trajectory])

    def add_transitions(self, transitions: Iterable[Transition]) -> int:
        """Add transitions as they are; returns how many."""
        prepared = []
        for transition in transitions:
            if not isinstance(transition, Transition):
                raise ConfigError(f"ReplayBuffer.add_transitions: expected Transition objects, got "
                                  f"{type(transition).__name__}")
            _check_source(transition.source)
            prepared.append((transition, _term_counts(transition.context)))
        with self._lock:
            for transition, counts in prepared:
                self._insert(transition, counts)
            if prepared:
                self._index = None
                self._compact()
        return len(prepared)

    def _compact(self) -> None:
        """Forget the words only evicted transitions had, once they outnumber the others (and
        past :data:`_COMPACT_MIN_WORDS`): without it the vocabulary, and each index rebuild,
        would grow with every transition ever seen. Ids keep their order; scores are unchanged
        (a word no held transition has counts for nothing). Amortised O(1) per word added."""
        size = len(self._vocabulary)
        if size < self._compact_at:
            return
        live = np.flatnonzero(self._df[:size] > 0)
        self._compact_at = max(_COMPACT_MIN_WORDS, 2 * len(live))  # the next look: once it may pay
        if 2 * len(live) > size:
            return
        new_id = np.full(size, -1, dtype=np.int64)
        new_id[live] = np.arange(len(live))
        words = list(self._vocabulary)  # in id order: ids are given in insertion order
        self._vocabulary = {words[i]: n for n, i in enumerate(live.tolist())}
        self._df = np.concatenate([self._df[live], np.zeros(1024, np.int64)])
        for slot in self._slots:
            slot.terms = new_id[slot.terms]

    def _insert(self, transition: Transition, counts: dict[str, int]) -> None:
        vocabulary = self._vocabulary
        ids = [vocabulary.setdefault(term, len(vocabulary)) for term in counts]
        if len(vocabulary) > len(self._df):
            self._df = np.concatenate([self._df, np.zeros(max(len(vocabulary) - len(self._df), 1024), np.int64)])
        terms = np.asarray(ids, dtype=np.int64)
        tf = 1.0 + np.log(np.asarray(list(counts.values()), dtype=np.float64)) if counts else np.zeros(0)
        slot = _Slot(transition, terms, tf, self._seen)
        self._seen += 1
        if len(self._slots) < self.capacity:
            self._slots.append(slot)
        else:
            if self.eviction == "fifo":
                position = self._next
                self._next = (self._next + 1) % self.capacity
            else:
                position = self._rng.randrange(self._seen)
                if position >= self.capacity:
                    return  # algorithm R: this one is not kept
            self._df[self._slots[position].terms] -= 1
            self._slots[position] = slot
        self._df[terms] += 1

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        with self._lock:
            return len(self._slots)

    @property
    def seen(self) -> int:
        """How many transitions were ever added (kept or not)."""
        with self._lock:
            return self._seen

    def transitions(self) -> list[Transition]:
        """The transitions held, oldest first."""
        with self._lock:
            return [slot.transition for slot in sorted(self._slots, key=lambda s: s.order)]

    def counts(self) -> dict[str, int]:
        """Transitions held by source and by environment (``"source:real"``, ``"env:games/..."``)."""
        out: dict[str, int] = {}
        for transition in self.transitions():
            for key in (f"source:{transition.source}", f"env:{transition.context.env_id}"):
                out[key] = out.get(key, 0) + 1
        return out

    def similar(self, context: Context, k: int = 3, *, env_id: str | None = None,
                sources: Sequence[str] | None = ("real",)) -> list[Transition]:
        """The ``k`` transitions most similar to ``context``, best first (see the module
        docstring), among those of ``env_id`` (default: the context's; ``"*"``: any) and of
        ``sources`` (``None``: any; a plain string: that one source; an unknown source is a
        :class:`ConfigError`). Fewer when the buffer holds fewer; ``[]`` when empty."""
        return [transition for _, transition in self.scored(context, k, env_id=env_id, sources=sources)]

    def scored(self, context: Context, k: int = 3, *, env_id: str | None = None,
               sources: Sequence[str] | None = ("real",)) -> list[tuple[float, Transition]]:
        """:meth:`similar` with each transition's cosine score."""
        if not isinstance(context, Context):
            raise ConfigError(f"ReplayBuffer.similar: context must be a Context, got {type(context).__name__}")
        check_int("ReplayBuffer.similar", "k", k, minimum=1)
        if isinstance(sources, str):  # one source, not its letters
            sources = (sources,)
        for source in sources or ():
            _check_source(source)
        index = self._snapshot()
        if index is None:
            return []
        keep = np.ones(len(index.slots), dtype=bool)
        env_id = context.env_id if env_id is None else env_id
        if env_id != "*":
            keep &= index.env_ids == env_id
        if sources is not None:
            keep &= np.isin(index.sources, list(sources))
        if not keep.any():
            return []
        query = _term_counts(context)
        weights = np.zeros(len(index.idf))
        # words no transition held holds (any more) count for nothing, in the query's norm too
        known = [(index.vocabulary[t], c) for t, c in query.items()
                 if t in index.vocabulary and index.df[index.vocabulary[t]] > 0]
        scores = np.zeros(len(index.slots))
        if known:
            ids = np.asarray([i for i, _ in known], dtype=np.int64)
            query_weights = (1.0 + np.log(np.asarray([c for _, c in known], dtype=np.float64))) * index.idf[ids]
            weights[ids] = query_weights
            contributions = index.tf * index.idf[index.cols] * weights[index.cols]
            dots = np.bincount(index.rows, contributions, minlength=len(index.slots))
            with np.errstate(invalid="ignore", divide="ignore"):
                scores = np.where(index.norms > 0, dots / (index.norms * np.linalg.norm(query_weights)), 0.0)
        candidates = np.flatnonzero(keep)
        # best score first, then the newest
        ranked = candidates[np.lexsort((-index.orders[candidates], -scores[candidates]))][:k]
        return [(float(scores[i]), index.slots[i].transition) for i in ranked]

    def _snapshot(self) -> _Index | None:
        with self._lock:
            if not self._slots:
                return None
            if self._index is None:
                slots = list(self._slots)
                lengths = np.asarray([len(slot.terms) for slot in slots], dtype=np.int64)
                cols = np.concatenate([slot.terms for slot in slots]) if lengths.sum() else np.zeros(0, np.int64)
                tf = np.concatenate([slot.tf for slot in slots]) if lengths.sum() else np.zeros(0)
                rows = np.repeat(np.arange(len(slots)), lengths)
                n = len(slots)
                df = self._df[: len(self._vocabulary)].copy()
                idf = 1.0 + np.log((1.0 + n) / (1.0 + df))
                weighted = tf * idf[cols]
                norms = np.sqrt(np.bincount(rows, weighted * weighted, minlength=n))
                self._index = _Index(
                    slots, rows, cols, tf, idf, df, norms,
                    np.asarray([slot.order for slot in slots], dtype=np.int64),
                    np.asarray([slot.transition.context.env_id for slot in slots], dtype=object),
                    np.asarray([slot.transition.source for slot in slots], dtype=object),
                    dict(self._vocabulary))
            return self._index


def _term_counts(context: Context) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in context.words():
        counts[word] = counts.get(word, 0) + 1
    return counts


def _check_source(source: Any) -> None:
    if source not in SOURCES:
        raise ConfigError(f"a transition's source must be one of {', '.join(SOURCES)}, got {source!r}")
