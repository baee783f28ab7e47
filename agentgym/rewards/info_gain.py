"""Information-gain turn rewards (IGPO): how much a turn raised the policy's belief in the answer.

After each turn the model is asked, in effect, "what is the answer?": the environment's
reference answer ``a = (a_1..a_L)`` is teacher-forced behind the context so far and the
environment's answer stub (``"The secret word is "``), and

    v_t = (1/L) * sum_j log pi(a_j | context_t, stub, a_<j)

is the mean log-probability of the answer tokens only. ``context_0`` is the first prompt;
``context_t`` (t >= 1) is everything the policy saw before its turn ``t``: the prompt and turns
``0..t-1`` with their observations, ending with the generation prompt. Turn ``t``'s reward, for
every turn but the last, is the change it caused:

    IG_t = exp(v_{t+1}) - exp(v_t)      mode="prob_diff" (the paper's form)
    IG_t = v_{t+1} - v_t                mode="log_prob_diff"

The final turn gets no ``info_gain`` component: its reward is the environment's outcome. The
``v_t`` of a trajectory are kept in ``trajectory.metadata["answer_log_probs"]`` (for plots of
the belief over an episode). Normalising and discounting these rewards is the credit
estimator's job (:mod:`agentgym.credit`), not this provider's.

**Where the contexts come from.** The reference answer and stub are read from
``trajectory.metadata["reference_answer"]`` / ``["answer_stub"]``, which the rollout engine
records from ``env.unwrapped`` at reset (they never reach the policy).

* *Token-exact trajectories* (``trajectory.token_exact``): ``context_t`` is exactly the token
  sequence the policy was given: ``token_ids[:prompt_length]`` for ``t = 0``, then
  ``token_ids[:end of turn t-1's observation_span]``. One sequence holds every context.
* *Text-only trajectories* (or token trajectories whose prefix broke): ``context_t`` is
  ``trajectory.messages`` up to the ``t``-th assistant message, rendered with the tokenizer's
  chat template (generation prompt added) and tokenised canonically. This is what the model
  would read, not necessarily what a remote text back-end read: its template may differ, tool
  schemas are not stored in the trajectory and are left out, and a conversation trimmed by a
  context budget is scored as it was at the end. When every rendered context extends the
  previous one's tokens they are scored as one sequence, otherwise each on its own (same
  numbers, more compute).

The stub and answer are tokenised together as ``stub + answer`` (with a fast tokenizer), and
the answer tokens are those covering any character of the answer, so ``"is " + "42"`` is
tokenised as it would be in running text.

The scores come from :func:`~agentgym.rewards.answer_scoring.answer_log_probs`: one pass over
each trajectory with a KV cache and one short pass for all the answer copies, batched across
trajectories; :func:`brute_force_values` computes the same numbers one forward per context.
"""

from __future__ import annotations

import math
from typing import Any, Literal, Sequence

from agentgym.rewards.answer_scoring import AnswerQuery, answer_log_probs, answer_log_probs_brute_force
from agentgym.rewards.base import RewardProvider
from agentgym.rollout.prompt_text import render_prompt
from agentgym.rollout.transcript import encode_text
from agentgym.trajectory import Trajectory

Mode = Literal["prob_diff", "log_prob_diff"]


class UnscorableTrajectory(ValueError):
    """The trajectory lacks what information gain needs (a reference answer, its contexts)."""


class InformationGainReward(RewardProvider):
    """Reward each non-final turn with the information it gained about the reference answer.

    Args:
        model: any Hugging Face causal LM (usually the policy being trained, or a frozen copy).
        tokenizer: its tokenizer (a chat template is needed for text-only trajectories).
        mode: ``"prob_diff"`` or ``"log_prob_diff"`` (see the module docstring).
        batch_size: sequences scored together in one pair of forward passes (a trajectory is
            one sequence, unless its rendered contexts are not nested).
        device: move the model there first (default: leave it where it is).
        on_missing: ``"raise"`` (default) raises :class:`UnscorableTrajectory` for a trajectory
            without a reference answer or usable contexts; ``"skip"`` leaves it without
            ``info_gain`` components and records why in ``metadata["info_gain_skipped"]``
            (for batches that mix tasks with and without a hidden answer).
        name: the reward component's name.
    """

    def __init__(self, model: Any, tokenizer: Any, *, mode: Mode = "prob_diff", batch_size: int = 8,
                 device: Any = None, on_missing: Literal["raise", "skip"] = "raise",
                 name: str = "info_gain") -> None:
        if mode not in ("prob_diff", "log_prob_diff"):
            raise ValueError(f"mode must be 'prob_diff' or 'log_prob_diff', got {mode!r}")
        if on_missing not in ("raise", "skip"):
            raise ValueError(f"on_missing must be 'raise' or 'skip', got {on_missing!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.model = model if device is None else model.to(device)
        self.tokenizer = tokenizer
        self.mode = mode
        self.batch_size = batch_size
        self.on_missing = on_missing
        self.name = name

    def values(self, trajectories: Sequence[Trajectory]) -> list[list[float] | None]:
        """``[v_0, ..., v_{T-1}]`` per trajectory (``None`` for one skipped by ``on_missing``)."""
        plans: list[list[AnswerQuery] | None] = []
        for index, trajectory in enumerate(trajectories):
            try:
                plans.append(answer_queries(trajectory, self.tokenizer))
            except UnscorableTrajectory as exc:
                if self.on_missing == "raise":
                    raise UnscorableTrajectory(f"{trajectory.describe(index)}: {exc}") from exc
                trajectory.metadata["info_gain_skipped"] = str(exc)
                plans.append(None)
        flat = [query for plan in plans if plan for query in plan]
        scores = iter(answer_log_probs(self.model, flat, batch_size=self.batch_size))
        return [None if plan is None else [v for _ in plan for v in next(scores)] for plan in plans]

    def score(self, trajectories: Sequence[Trajectory]) -> list[list[float | None]]:
        """``IG_t`` for every turn but the last (``None`` there); also stores each trajectory's
        ``v_t`` in ``metadata["answer_log_probs"]``."""
        out = []
        for trajectory, values in zip(trajectories, self.values(trajectories)):
            if values is None:
                out.append([None] * len(trajectory.turns))
                continue
            trajectory.metadata["answer_log_probs"] = values
            belief = [math.exp(v) for v in values] if self.mode == "prob_diff" else values
            gains: list[float | None] = [after - before for before, after in zip(belief, belief[1:])]
            out.append([*gains, None] if trajectory.turns else [])
        return out


def brute_force_values(model: Any, tokenizer: Any, trajectories: Sequence[Trajectory], *,
                       batch_size: int = 8) -> list[list[float]]:
    """``[v_0, ..., v_{T-1}]`` per trajectory, one forward pass per context: the reference that
    :meth:`InformationGainReward.values` must match (tests, benchmarks)."""
    plans = [answer_queries(trajectory, tokenizer) for trajectory in trajectories]
    flat = [query for plan in plans for query in plan]
    scores = iter(answer_log_probs_brute_force(model, flat, batch_size=batch_size))
    return [[v for _ in plan for v in next(scores)] for plan in plans]


# ------------------------------------------------------------------ contexts and answers
def answer_queries(trajectory: Trajectory, tokenizer: Any) -> list[AnswerQuery]:
    """The scoring queries of a trajectory: its contexts ``context_0..context_{T-1}`` in order
    (one query holding them all when they are nested) with the stub and answer tokens."""
    answer = trajectory.metadata.get("reference_answer")
    if not isinstance(answer, str) or not answer.strip():
        raise UnscorableTrajectory(
            "no reference answer in metadata['reference_answer'] (does its environment define "
            "reference_answer?)")
    stub = trajectory.metadata.get("answer_stub") or ""
    block, answer_length = answer_block(tokenizer, stub, answer)
    if not trajectory.turns:
        return []
    if trajectory.token_exact:
        return [AnswerQuery(trajectory.token_ids, _token_boundaries(trajectory), block, answer_length)]
    contexts = _rendered_contexts(trajectory, tokenizer)
    longest = contexts[-1]
    if all(longest[: len(context)] == context for context in contexts):
        return [AnswerQuery(longest, [len(context) for context in contexts], block, answer_length)]
    return [AnswerQuery(context, [len(context)], block, answer_length) for context in contexts]


def answer_block(tokenizer: Any, stub: str, answer: str) -> tuple[list[int], int]:
    """The tokens of ``stub + answer`` and how many of them, at the end, are the answer."""
    if getattr(tokenizer, "is_fast", False):
        encoded = tokenizer(stub + answer, add_special_tokens=False, return_offsets_mapping=True)
        ids = list(encoded["input_ids"])
        # A token that straddles the stub's end (" 42" after "is") carries answer text.
        answer_length = sum(1 for _, end in encoded["offset_mapping"] if end > len(stub))
    else:  # no character offsets: tokenise the two parts apart
        stub_ids = list(tokenizer.encode(stub, add_special_tokens=False)) if stub else []
        answer_ids = list(tokenizer.encode(answer, add_special_tokens=False))
        ids, answer_length = stub_ids + answer_ids, len(answer_ids)
    if answer_length == 0:
        raise UnscorableTrajectory(f"the reference answer {answer!r} tokenises to no tokens")
    return ids, answer_length


def _token_boundaries(trajectory: Trajectory) -> list[int]:
    """The context lengths of a token trajectory, each checked to lie within its tokens."""
    boundaries = [trajectory.prompt_length]
    for turn in trajectory.turns[:-1]:
        if turn.observation_span is None:
            raise UnscorableTrajectory(f"turn {turn.index} is not the last but has no observation_span")
        boundaries.append(turn.observation_span[1])
    if boundaries[0] < 1:
        raise UnscorableTrajectory("a token trajectory with prompt_length 0 has no first context")
    recorded = len(trajectory.token_ids or ())
    beyond = [b for b in boundaries if not 1 <= b <= recorded]
    if beyond:
        raise UnscorableTrajectory(f"contexts ending at {beyond} (prompt_length, observation_span ends) lie "
                                   f"beyond the {recorded} recorded tokens: a damaged record")
    return boundaries


def _rendered_contexts(trajectory: Trajectory, tokenizer: Any) -> list[list[int]]:
    if getattr(tokenizer, "chat_template", None) is None:
        raise UnscorableTrajectory("a text-only trajectory needs a tokenizer with a chat template")
    messages = trajectory.messages
    ends = [i for i, message in enumerate(messages) if message.get("role") == "assistant"] + [len(messages)]
    turns = len(trajectory.turns)
    if len(ends) - 1 not in (turns - 1, turns):
        raise UnscorableTrajectory(
            f"the trajectory has {turns} turns but {len(ends) - 1} assistant messages "
            "(was the conversation trimmed by a context budget?)")
    contexts = []
    for end in ends[:turns]:
        text = render_prompt(tokenizer, messages[:end])
        # The template writes the special tokens it wants (BOS included); a lone surrogate is U+FFFD.
        contexts.append(encode_text(tokenizer, text))
    return contexts
