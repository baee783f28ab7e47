"""Asking a responder without letting a broken one crash the step."""

from __future__ import annotations

from typing import Sequence

from agentgym.responders import Answer, Knowledge, Responder


def responder_answer(responder: Responder, question: str, knowledge: Knowledge,
                     history: Sequence[tuple[str, str]] = ()) -> Answer:
    """``responder.answer(...)``; a responder that raises, or returns something that is not an
    :class:`~agentgym.responders.Answer` (a policy's unusable reply: a bare string, no text),
    gives the answer of a failed policy responder: ``knowledge.unavailable``, no facts, and
    ``error`` saying why."""
    name = str(getattr(responder, "name", type(responder).__name__))
    try:
        answer = responder.answer(question, knowledge, history)
    except Exception as exc:  # noqa: BLE001 - a broken responder must not end the episode
        return Answer(question, knowledge.unavailable, (), name, f"{type(exc).__name__}: {str(exc)[:300]}")
    if not isinstance(answer, Answer) or not isinstance(answer.text, str):
        return Answer(question, knowledge.unavailable, (), name,
                      f"the responder returned {type(answer).__name__}, not an Answer with text")
    return answer
