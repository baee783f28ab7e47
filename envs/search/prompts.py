"""What the search environments say: instructions, the first observation, search results and
error messages.

The tags format follows Search-R1 (Jin et al., 2025; ``search_r1/llm_agent/generation.py`` and
the prompt of ``scripts/data_process/nq_search.py``): the agent writes ``<search>query</search>``
and reads the results as ``<information>Doc 1(Title: T) text ... </information>``, one line
per document (``Doc {rank}(Title: {title}) {passage}``, no space before the parenthesis, as
there); ``<answer>x</answer>`` ends the episode; an action with neither tag is answered with
a message that says what to write. Differences: Search-R1 shows a document's stored passage, we
show the retriever's snippet for the query (:class:`~agentgym.retrieval.base.Hit`); its
observations are appended to the model's own text (between blank lines, its invalid-action note
in the first person) while ours are messages of the conversation (no surrounding blank lines,
the note addressed to the agent); it reads one tag per action, we run up to the environment's
``max_searches_per_turn`` searches (set it to 1 for Search-R1's behaviour).
"""

from __future__ import annotations

import json
from typing import Sequence

from agentgym.retrieval.base import Hit

TAGS_INSTRUCTIONS = (
    "Answer the question. Think inside <think> and </think> whenever you get new information. If you "
    "lack some knowledge, search for it by writing <search> query </search>: the best matching documents "
    "come back between <information> and </information>. You may search as often as you need. When you "
    "know the answer, give it inside <answer> and </answer>, without explanation, for example "
    "<answer> Beijing </answer>; answering ends the episode."
)

TOOLS_INSTRUCTIONS = (
    "Answer the question with the help of a search engine over an encyclopedia. Call the tool "
    "search(query) to find documents (each result shows its id, title and a passage), open(doc_id) to "
    "read a whole document, and answer(text) with your final answer, short and without explanation; "
    "answering ends the episode."
)

#: Hints at levels 1 (the rules) and 2 (a strategy), for :meth:`~agentgym.core.LLMEnv.hint`.
TAGS_RULE_REMINDER = ("Search with <search> query </search>; give the final answer, short and without "
                      "explanation, inside <answer> and </answer>.")
TOOLS_RULE_REMINDER = "Call search(query) to find documents, open(doc_id) to read one, and answer(text) to finish."
STRATEGY_HINT = (
    "Take the question one fact at a time: search for the entity it names, read which entity the "
    "document leads to, then search for that one, until the last fact answers the question; answer "
    "with the name exactly as the documents write it."
)

FORMAT_ERROR = (
    "Your previous action is invalid: {problem}. To search, put the query between <search> and </search>. "
    "To give the final answer, put it between <answer> and </answer>."
)

TOOLS_FORMAT_ERROR = (
    "No tool call found: {problem}. Call search(query) to search, open(doc_id) to read a document, or "
    "answer(text) to give the final answer, e.g. {example}"
)


def first_observation(question: str, turn_budget: int, max_searches: int, action_format: str) -> str:
    """The episode's opening: the question, the turn budget and the per-turn search cap."""
    searches = "one search" if max_searches == 1 else f"up to {max_searches} searches"
    how = "<search> blocks" if action_format == "tags" else "search calls"
    return (f"Question: {question}\n\nYou have {turn_budget} turns; each turn runs {searches} "
            f"({how} beyond that are not run).")


#: The most of a document's title a result line shows (a user's corpus may hold any title).
MAX_TITLE_CHARS = 200


def shown_title(title: str) -> str:
    """``title`` as a result line shows it: on one line (its line breaks would end the
    document's line) and at most :data:`MAX_TITLE_CHARS` characters."""
    title = " ".join(title.split())
    return title if len(title) <= MAX_TITLE_CHARS else title[: MAX_TITLE_CHARS - 1] + "\u2026"


def information_block(hits: Sequence[Hit]) -> str:
    """Search-R1's rendering of one search's results (see the module docstring)."""
    if not hits:
        return "<information>No document matched the query.</information>"
    lines = "\n".join(f"Doc {rank}(Title: {shown_title(hit.title)}) {hit.snippet}"
                      for rank, hit in enumerate(hits, start=1))
    return f"<information>{lines}</information>"


def tool_results(hits: Sequence[Hit]) -> str:
    """One search's results for the ``search`` tool: rank, id, title and passage per document."""
    if not hits:
        return "No document matched the query."
    return "\n".join(f"Doc {rank} [{hit.doc_id}] (Title: {shown_title(hit.title)}) {hit.snippet}"
                     for rank, hit in enumerate(hits, start=1))


def tool_call_example(name: str, arguments: dict) -> str:
    """A Hermes ``<tool_call>`` block, as the error messages show it."""
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments}, ensure_ascii=False)}</tool_call>"


def quoted(text: str, limit: int = 80) -> str:
    """``text`` quoted for a message, cut to ``limit`` characters with its full length."""
    if len(text) <= limit:
        return json.dumps(text, ensure_ascii=False)
    return f"{json.dumps(text[:limit], ensure_ascii=False)}… ({len(text)} characters)"
