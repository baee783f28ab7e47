"""``SearchEnv``: answer a question by searching an encyclopedia (retrieval-augmented QA).

An episode draws one question (a :class:`~agentgym.envs.search.tasks.SearchTask`) with
``self.rng`` from the environment's task list: questions generated over ``World(size, seed)``
(split ``train`` or ``held_out``, optionally only some ``kinds``), or the ``tasks`` a user gives.
Documents come from a :class:`~agentgym.retrieval.base.Retriever`: by default a BM25 index over
the generated corpus, built once under the cache directory and shared by every environment of
the process (:mod:`~agentgym.envs.search.retrievers`).

Two action formats:

* ``tags`` (Search-R1, :mod:`~agentgym.envs.search.prompts`): ``<search>query</search>`` runs
  a search and shows the ``top_k`` results in an ``<information>`` block;
  ``<answer>text</answer>`` ends the episode. The first complete block of the action decides:
  a search runs the action's first ``max_searches_per_turn`` ``<search>`` blocks (the others
  are not run, and an ``<answer>`` after them is not read; the observation says so). An action
  with neither tag, an unclosed, stray, nested or empty tag (a query of control characters
  only is empty; a ``<search>`` and an ``<answer>`` block nest when one opens inside the other)
  is a format error (``info["error_kind"] == "format"``) that says what to write; it uses a turn.
* ``tools``: the tools ``search(query)``, ``open(doc_id)`` (the whole document, cut to
  ``open_chars`` with a note) and ``answer(text)`` (ends the episode), called in the Hermes or
  OpenAI format through :class:`~agentgym.envs.search.tool_turns.SearchToolCalling`, which
  the registered ``search/MultiHopTools-v0`` (:func:`search_tools_env`) wraps the environment
  in. A reply without a tool call is a format error, unless it holds ``<answer>text</answer>``,
  which answers. An empty query or answer is a failed tool call (as an empty tag is a format
  error): it neither searches nor ends the episode.

Reward: component ``outcome`` on the answering turn, the exact match (SQuAD normalisation) of
the answer with the reference or an alias; ``success`` when it is 1. The episode also ends,
with ``outcome`` 0, when ``turn_budget`` turns are used (every step is a turn: searches,
tool steps, format errors). The registered environments keep a
:class:`~agentgym.wrappers.TurnLimit` of :data:`MAX_TURN_BUDGET` as an outer bound (the budget is
``turn_budget``, not ``max_turns``, which ``agentgym.make`` takes for that TurnLimit). A turn's
searches reach the retriever in one ``search_many`` call (one request to a remote server).

Per-turn ``info`` (the data contract of :mod:`agentgym.rewards.search`; see
:mod:`~agentgym.envs.search.retrieval_log`): ``queries``, ``retrieved``, ``gold_retrieved``,
``new_retrieved``, ``repeat_retrieved``, ``searches``; ``opened`` and ``retrieval_error`` when
they happen; ``answer``, ``em`` and ``f1`` on the answering turn; ``out_of_turns`` when the
budget ended it; ``episode`` (``em``, ``f1``, ``answered``, ``searches``, ``documents_seen``,
``gold_found``, ``gold_recall``) on the last turn.

Hostile input: queries are cleaned (lone surrogates replaced, control characters made spaces)
and cut to ``max_query_chars`` with a note; searches beyond the per-turn cap are not run; a
:class:`~agentgym.retrieval.base.RetrievalError` (a server down) is an observation that says
the search failed (``info["retrieval_error"]``) and the episode goes on.

Hidden reference (never in an observation): ``reference_answer``, ``answer_aliases``,
``gold_documents`` (``None`` when the task has none); ``answer_stub`` is what the agent writes
just before an answer (for IGPO). Baselines: the oracle searches the task's ``hop_queries``
one per turn (skipping a hop whose gold document it has already retrieved, as both hops of an
intersection question point to one article), then answers the reference answer; the random
agent searches words of the question, or answers a title it has seen or question words.
"""

from __future__ import annotations

import functools
import math
import random
import re
from itertools import zip_longest
from typing import Any, ClassVar, Iterable, Sequence

from agentgym.core import ConfigError, Feedback, LLMEnv, check_int, is_int
from agentgym.info import ErrorKind
from agentgym.registry import constructor_arguments
from agentgym.retrieval.base import DocumentNotFound, Hit, RetrievalError, Retriever
from agentgym.rewards.search import exact_match, token_f1
from agentgym.tools import ToolError
from agentgym.tools.formats import HermesFormat, TagFormat

from . import prompts
from .questions import KINDS, SPLITS, generate_questions
from .retrieval_log import RetrievalLog
from .retrievers import world_retriever
from .tasks import SearchTask
from .tool_turns import SearchToolCalling, SearchTools
from .world import World

ACTION_FORMATS = ("tags", "tools")
#: The most turns an episode may have (the registered TurnLimit's bound).
MAX_TURN_BUDGET = 64
DEFAULT_SIZE = 10_000
DEFAULT_QUESTIONS = 1_000
#: the hop counts each difficulty keeps (``mixed``: all)
HOPS_OF_DIFFICULTY = {"easy": range(1, 2), "medium": range(2, 3), "hard": range(3, 100)}

_SEARCH_TAG = TagFormat("search", tool="search", argument="query")
_ANSWER_TAG = TagFormat("answer", tool="answer", argument="text")
_HERMES = HermesFormat()
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_WORD = re.compile(r"[^\W_]+")


@functools.lru_cache(maxsize=32)
def generated_tasks(size: int, seed: int, split: str, kinds: tuple[str, ...], questions: int) -> tuple[SearchTask, ...]:
    """The generated questions of ``World(size, seed)`` as tasks (cached for the process)."""
    world = World(size, seed)
    return tuple(SearchTask.from_question(question, world)
                 for question in generate_questions(world, questions, seed, split=split, kinds=kinds))


def _overlap(spans: Sequence[tuple[int, int]], others: Sequence[tuple[int, int]]) -> bool:
    """Whether a block of ``spans`` opens inside one of ``others`` or the other way round."""
    return any(start < other_start < end or other_start < start < other_end
               for start, end in spans for other_start, other_end in others)


def clean_text(text: str) -> str:
    """``text`` safe to search and to show: lone surrogates replaced, control characters (line
    breaks included) made spaces, whitespace runs collapsed."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return " ".join(_CONTROL.sub(" ", text).split())


class SearchEnv(LLMEnv):
    """Answer questions by searching a corpus (see the module docstring).

    Args:
        difficulty: ``mixed`` (default), or ``easy`` / ``medium`` / ``hard``: only questions of
            one / two / three or more hops.
        size, seed: the generated world (``World(size, seed)``) and its corpus; ``seed`` also
            seeds the question generator.
        split: ``"train"`` or ``"held_out"`` (entity-disjoint question sets).
        kinds: the question kinds to draw (``single``, ``bridge``, ``comparison``,
            ``intersection``; a name or a list), ``None`` for all.
        questions: how many questions to generate (fewer if the world is too small).
        tasks: the user's own :class:`SearchTask`\\ s (a list, or any iterable, read once) instead of
            generated questions.
        retriever: a :class:`~agentgym.retrieval.base.Retriever` instead of the generated
            corpus's BM25 index; the caller keeps it (the environment never closes it).
        cache_dir: where the corpus and index live (default:
            :func:`~agentgym.envs.search.retrievers.search_cache_dir`).
        distractors: distractor sentences per generated article (0-3; each mentions other
            entities and near-duplicate names, so more of them make retrieval harder).
        top_k: documents per search.
        turn_budget: turns per episode (at most :data:`MAX_TURN_BUDGET`).
        action_format: ``"tags"`` or ``"tools"``.
        max_searches_per_turn: searches one turn may run.
        max_query_chars: longer queries are cut.
        open_chars: how much of a document ``open`` shows.
        **kwargs: :class:`~agentgym.core.LLMEnv`'s (``invalid_penalty``, ``max_action_chars``...).
    """

    family: ClassVar[str] = "search"
    #: Arguments that reach the host (see LLMEnv.host_arguments): the folder its index is cached
    #: in, the retriever.
    host_arguments: ClassVar[frozenset[str]] = frozenset({"cache_dir", "retriever"})
    #: ``mixed`` draws every question; the others keep questions by their number of hops
    #: (:data:`HOPS_OF_DIFFICULTY`): one (easy), two (medium), three or four (hard).
    difficulties: ClassVar[tuple[str, ...]] = ("mixed", "easy", "medium", "hard")

    def __init__(self, difficulty: str | None = None, *, size: int = DEFAULT_SIZE, seed: int = 0,
                 split: str = "train", kinds: str | Sequence[str] | None = None,
                 questions: int = DEFAULT_QUESTIONS, tasks: Sequence[SearchTask] | None = None,
                 retriever: Retriever | None = None, cache_dir: str | None = None, distractors: int = 2, top_k: int = 3,
                 turn_budget: int = 16, action_format: str = "tags", max_searches_per_turn: int = 3,
                 max_query_chars: int = 300, open_chars: int = 4_000, **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        owner = type(self).__name__
        if action_format not in ACTION_FORMATS:
            raise ConfigError(f"{owner}: action_format must be one of {', '.join(ACTION_FORMATS)}, "
                              f"got {action_format!r}")
        self.action_format = action_format
        self.top_k = check_int(owner, "top_k", top_k, minimum=1)
        self.turn_budget = check_int(owner, "turn_budget", turn_budget, minimum=1)
        if self.turn_budget > MAX_TURN_BUDGET:
            raise ConfigError(f"{owner}: turn_budget must be at most {MAX_TURN_BUDGET}, got {turn_budget!r}")
        self.max_searches_per_turn = check_int(owner, "max_searches_per_turn", max_searches_per_turn, minimum=1)
        self.max_query_chars = check_int(owner, "max_query_chars", max_query_chars, minimum=10)
        self.open_chars = check_int(owner, "open_chars", open_chars, minimum=100)
        self.tasks = self._of_difficulty(owner, self._tasks(owner, size, seed, split, kinds, questions, tasks))
        if retriever is not None and not isinstance(retriever, Retriever):
            raise ConfigError(f"{owner}: retriever must implement agentgym.retrieval.Retriever "
                              f"(search, search_many, document, __len__, close), got {type(retriever).__name__}")
        check_int(owner, "distractors", distractors, minimum=0)
        if distractors > 3:
            raise ConfigError(f"{owner}: distractors must be at most 3, got {distractors!r}")
        self.retriever = retriever if retriever is not None else world_retriever(size, seed, cache_dir, distractors)
        if action_format == "tools":
            self.instructions, self.rule_reminder = prompts.TOOLS_INSTRUCTIONS, prompts.TOOLS_RULE_REMINDER
            self.toolsets = (SearchTools(),)
        else:
            self.instructions, self.rule_reminder = prompts.TAGS_INSTRUCTIONS, prompts.TAGS_RULE_REMINDER
        self.strategy_hint = prompts.STRATEGY_HINT
        self.task: SearchTask | None = None
        self.log = RetrievalLog()
        self.turns_used = 0
        self.answer_given: str | None = None
        self._titles: dict[str, str] = {}  # id -> title of every document this episode showed

    @staticmethod
    def _tasks(owner: str, size: Any, seed: Any, split: Any, kinds: Any, questions: Any,
               tasks: Sequence[SearchTask] | None) -> tuple[SearchTask, ...]:
        check_int(owner, "size", size, minimum=50)
        check_int(owner, "seed", seed, minimum=0)
        if tasks is not None:
            if isinstance(tasks, (str, bytes)) or not isinstance(tasks, Iterable):
                raise ConfigError(f"{owner}: tasks must be a list of SearchTask, got {tasks!r:.200}")
            given = tuple(tasks)  # read once: a generator checked first would be used up
            if not all(isinstance(t, SearchTask) for t in given):
                raise ConfigError(f"{owner}: tasks must be a list of SearchTask, got {given!r:.200}")
            if not given:
                raise ConfigError(f"{owner}: tasks is empty")
            return given
        if split not in SPLITS:
            raise ConfigError(f"{owner}: split must be one of {', '.join(SPLITS)}, got {split!r}")
        kinds = (kinds,) if isinstance(kinds, str) else KINDS if kinds is None else kinds
        if not isinstance(kinds, Sequence) or not kinds or any(kind not in KINDS for kind in kinds):
            raise ConfigError(f"{owner}: kinds must be one or more of {', '.join(KINDS)}, got {kinds!r}")
        check_int(owner, "questions", questions, minimum=1)
        try:
            found = generated_tasks(int(size), int(seed), split, tuple(kinds), int(questions))
        except ValueError as exc:  # a size outside the world's range
            raise ConfigError(f"{owner}: {exc}") from None
        if not found:
            raise ConfigError(f"{owner}: World({size}, {seed}) has no {split} questions of kinds {list(kinds)}; "
                              f"use a larger size")
        return found

    def _of_difficulty(self, owner: str, tasks: tuple[SearchTask, ...]) -> tuple[SearchTask, ...]:
        """The tasks whose hop count the difficulty keeps (all for ``mixed``)."""
        hops = HOPS_OF_DIFFICULTY.get(self.difficulty)
        if hops is None:
            return tasks
        kept = tuple(task for task in tasks if task.hops in hops)
        if not kept:
            found = sorted({task.hops for task in tasks})
            raise ConfigError(f"{owner}: difficulty {self.difficulty!r} keeps questions of {hops.start}"
                              f"{'+' if len(hops) > 1 else ''} hops, and these questions have {found} hops; "
                              f"choose another difficulty or other kinds")
        return kept

    # ------------------------------------------------------------------ episode
    def new_episode(self, options: dict[str, Any]) -> str:
        index = options.get("task_index")
        if index is None:
            index = self.rng.randrange(len(self.tasks))
        elif not is_int(index) or not 0 <= index < len(self.tasks):  # NumPy's ints too, as elsewhere
            raise ConfigError(f"{type(self).__name__}.reset: options['task_index'] must be an int in "
                              f"[0, {len(self.tasks)}), got {index!r}")
        self.task = self.tasks[int(index)]
        self.log = RetrievalLog(self.task.gold_documents)
        self.turns_used = 0
        self.answer_given = None
        self._titles = {}
        return prompts.first_observation(self.task.question, self.turn_budget, self.max_searches_per_turn,
                                         self.action_format)

    def play(self, action: str) -> Feedback:
        if self.action_format == "tools":
            return self._play_reply(action)
        searches, answers = _SEARCH_TAG.find(action), _ANSWER_TAG.find(action)
        problem = next((m.error for m in (searches, answers) if m is not None and m.error), None)
        if problem is None and not (searches and searches.calls) and not (answers and answers.calls):
            problem = "it has no <search> or <answer> block"
        if problem is None and searches and answers and _overlap(searches.spans, answers.spans):
            problem = ("a <search> and an <answer> block overlap (one is nested in the other): close one "
                       "before the other opens")
        if problem is not None:
            return self._format_error(prompts.FORMAT_ERROR.format(problem=problem))
        first_search = searches.spans[0][0] if searches and searches.calls else math.inf
        first_answer = answers.spans[0][0] if answers and answers.calls else math.inf
        if first_answer < first_search:
            self.answer_given = answers.calls[0].arguments["text"]
            return self._close_turn("Your answer is recorded.")
        queries = [call.arguments["query"] for call in searches.calls]
        if not all(clean_text(query) for query in queries[: self.max_searches_per_turn]):
            # only control characters: an empty block, as an empty search call in the tools format
            problem = "empty <search> block: write the query between <search> and </search>"
            return self._format_error(prompts.FORMAT_ERROR.format(problem=problem))
        parts = [note if hits is None else prompts.information_block(hits) + (f"\n{note}" if note else "")
                 for hits, note in self._search(queries[: self.max_searches_per_turn])]
        skipped = len(queries) - self.max_searches_per_turn
        if skipped > 0:
            parts.append(f"{skipped} more search{'es were' if skipped > 1 else ' was'} not run: at most "
                         f"{self.max_searches_per_turn} per turn.")
        if answers and answers.calls:
            parts.append("The <answer> after your search was not read: give it in a later turn.")
        return self._close_turn("\n\n".join(parts))

    def _play_reply(self, action: str) -> Feedback:
        """A reply without a tool call, in the tools format."""
        answers = _ANSWER_TAG.find(action)
        if answers is not None and answers.calls:
            self.answer_given = answers.calls[0].arguments["text"]
            return self._close_turn("Your answer is recorded.")
        problem = answers.error if answers is not None and answers.error else "the reply has no tool call"
        example = prompts.tool_call_example("search", {"query": "your query"})
        return self._format_error(prompts.TOOLS_FORMAT_ERROR.format(problem=problem, example=example))

    def _format_error(self, message: str) -> Feedback:
        rewards = {"invalid": -self.invalid_penalty} if self.invalid_penalty else {}
        return self._close_turn(message, rewards=rewards, error=message, error_kind=ErrorKind.FORMAT)

    def _invalid(self, message: str) -> Feedback:
        """An action the core refused before ``play`` (not text, too long) still uses a turn
        and reports the turn's fields."""
        feedback = super()._invalid(message)
        return self._close_turn(feedback.observation, rewards=feedback.rewards, error=message,
                                error_kind=feedback.error_kind)

    def _close_turn(self, observation: str, *, rewards: dict[str, float] | None = None, error: str | None = None,
                    error_kind: ErrorKind | None = None) -> Feedback:
        """End the current turn: its info fields, the answer's grade, the turn budget."""
        self.turns_used += 1
        info = self.log.close_turn()
        rewards = dict(rewards or {})
        terminated = success = False
        em = f1 = 0.0
        if self.answer_given is not None:
            golds = list(self.task.answers)
            em, f1 = exact_match(self.answer_given, golds), token_f1(self.answer_given, golds)
            info.update(answer=self.answer_given, em=em, f1=f1)
            rewards["outcome"] = em
            terminated, success = True, em == 1.0
        elif self.turns_used >= self.turn_budget:
            observation = f"{observation}\n\nYou are out of turns without an answer."
            info["out_of_turns"] = True
            rewards["outcome"] = 0.0
            terminated = True
        if terminated:
            info["episode"] = self.log.summary(em=em, f1=f1, answered=self.answer_given is not None)
        return Feedback(observation, rewards, terminated=terminated, success=success, error=error, info=info,
                        error_kind=error_kind)

    def close_tool_turn(self, observation: str) -> Feedback:
        """End a turn the environment's ``step`` did not see (a tool step or a markup error under
        :class:`~agentgym.envs.search.tool_turns.SearchToolCalling`); same fields as a step's."""
        return self._close_turn(observation)

    # ------------------------------------------------------------------ searching
    def _clean_query(self, query: str) -> tuple[str, str]:
        """The query to send, and a note when it was cut."""
        query = clean_text(query)
        if len(query) <= self.max_query_chars:
            return query, ""
        return query[: self.max_query_chars], f"(The query was cut to its first {self.max_query_chars} characters.)"

    def _search(self, raw_queries: Sequence[str]) -> list[tuple[list[Hit] | None, str]]:
        """Run the searches in one ``search_many`` call (one request to a remote retriever):
        per query, ``(hits, note)``, or ``(None, message)`` when the backend failed."""
        cleaned = [self._clean_query(raw) for raw in raw_queries]
        queries = [query for query, _ in cleaned]
        try:
            results = self.retriever.search_many(queries, self.top_k)
        except RetrievalError as exc:
            message = clean_text(str(exc))[:500]
            for query in queries:
                self.log.search_failed(query, message)
            return [(None, f"Search error: the search for {prompts.quoted(query)} failed ({message}). Try again.")
                    for query in queries]
        for query, hits in zip(queries, results):
            self.log.search(query, hits)
            self._titles.update((hit.doc_id, hit.title) for hit in hits)
        return [(hits, note) for hits, (_, note) in zip(results, cleaned)]

    # ------------------------------------------------------------------ tools (SearchTools)
    def tool_search(self, query: str) -> str:
        """The ``search`` tool: the ranked results as text; :class:`ToolError` when refused."""
        self._check_tool_turn()
        if not clean_text(query):  # as an empty <search> block in the tags format: not a search
            raise ToolError("the query is empty: write what to search for, e.g. a name or a few keywords")
        if self.log.turn_searches >= self.max_searches_per_turn:
            raise ToolError(f"at most {self.max_searches_per_turn} searches run per turn; search again next turn")
        [(hits, note)] = self._search([query])
        if hits is None:
            raise ToolError(note)
        results = prompts.tool_results(hits)
        return f"{results}\n{note}" if note else results

    def tool_open(self, doc_id: str) -> str:
        """The ``open`` tool: a whole document, cut to ``open_chars`` with a note."""
        self._check_tool_turn()
        unknown = ToolError(f"no document has the id {prompts.quoted(clean_text(doc_id))}; use an id "
                            f"shown in square brackets by search")
        if "\x00" in doc_id or doc_id.encode("utf-8", "replace").decode("utf-8") != doc_id:
            raise unknown  # no stored id holds NUL or lone surrogates (a user's ids may hold tabs)
        try:
            document = self.retriever.document(doc_id)
        except DocumentNotFound:
            raise unknown from None
        except RetrievalError as exc:
            raise ToolError(f"the document could not be read ({clean_text(str(exc))[:500]})") from None
        self.log.opened(document.id)
        text = document.text
        if len(text) > self.open_chars:
            text = f"{text[: self.open_chars]}\n…[{len(text) - self.open_chars} more characters not shown]"
        return f"[{document.id}] Title: {document.title}\n\n{text}"

    def tool_answer(self, text: str) -> str:
        """The ``answer`` tool: records the final answer (the episode ends after this step); an
        empty one is refused, as an empty ``<answer>`` block is in the tags format."""
        self._check_tool_turn()
        if not text.strip():
            raise ToolError("the answer is empty: give the answer itself as text")
        self.answer_given = text
        return "Your answer is recorded."

    def _check_tool_turn(self) -> None:
        if self.answer_given is not None:
            raise ToolError("you have already answered; the episode ends with this turn")

    # ------------------------------------------------------------------ hidden reference
    @property
    def reference_answer(self) -> str | None:
        return None if self.task is None else self.task.answer

    @property
    def answer_aliases(self) -> list[str] | None:
        return None if self.task is None else list(self.task.aliases)

    @property
    def gold_documents(self) -> list[str] | None:
        return list(self.task.gold_documents) if self.task is not None and self.task.gold_documents else None

    @property
    def answer_stub(self) -> str:
        if self.action_format == "tools":
            return '<tool_call>{"name": "answer", "arguments": {"text": "'
        return "<answer>"

    # ------------------------------------------------------------------ baselines
    def oracle_action(self) -> str:
        """Search the next hop whose gold document is not retrieved yet (each hop query once, as
        sent: cut to ``max_query_chars``), then answer the reference answer."""
        task = self.task
        for gold, query in zip_longest(task.gold_documents, task.hop_queries):
            if query is None or (gold is not None and gold in self.log.seen) \
                    or self._clean_query(query)[0] in self.log.queries:
                continue
            return self._write("search", query)
        return self._write("answer", task.answer)

    def random_action(self, rng: random.Random) -> str:
        """A search of one to four words of the question (three times in four), else an answer:
        a title retrieved in this episode (one that is not blank: a passage without a title would
        be an empty answer) or one or two words of the question (``encyclopedia`` for a question
        without words, such as ``???``)."""
        words = (_WORD.findall(self.task.question) if self.task is not None else []) or ["encyclopedia"]
        if rng.random() < 0.75:
            return self._write("search", " ".join(rng.sample(words, rng.randint(1, min(4, len(words))))))
        titles = sorted(title for title in self._titles.values() if clean_text(title))
        if titles and rng.random() < 0.5:
            return self._write("answer", rng.choice(titles))
        return self._write("answer", " ".join(rng.sample(words, rng.randint(1, min(2, len(words))))))

    def _write(self, name: str, value: str) -> str:
        if self.action_format == "tools":
            return _HERMES.render(name, {"query": value} if name == "search" else {"text": value})
        return f"<{name}>{value}</{name}>"

    def render_text(self) -> str:
        if self.task is None:
            return "Search: no episode yet"
        return (f"Search ({self.task.kind}, {self.task.hops} hops), turn {self.turns_used}/{self.turn_budget}\n"
                f"Question: {self.task.question}\n\nLast observation:\n{super().render_text()}")


def search_tools_env(**kwargs: Any) -> SearchToolCalling:
    """``SearchEnv(action_format="tools", **kwargs)`` inside its :class:`SearchToolCalling`: the
    entry point of ``search/MultiHopTools-v0``. Unknown arguments are a :class:`ConfigError`
    naming the accepted ones."""
    accepted = constructor_arguments(SearchEnv) or {}
    unknown = sorted(name for name in kwargs if name not in accepted)
    if unknown:
        raise ConfigError(f"search tools environment: unknown argument(s) {', '.join(unknown)}; "
                          f"it takes: {', '.join(sorted(accepted))}")
    kwargs.setdefault("action_format", "tools")
    if kwargs["action_format"] != "tools":
        raise ConfigError(f"search tools environment: action_format must be 'tools', got {kwargs['action_format']!r}")
    return SearchToolCalling(SearchEnv(**kwargs))


#: The search environment's own host arguments (see ``LLMEnv.host_arguments``).
search_tools_env.host_arguments = SearchEnv.host_arguments  # type: ignore[attr-defined]
