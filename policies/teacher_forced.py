"""Give a text-only agent's replies the tokens of a model, so its episodes become token-exact
trajectories that a model can be fine-tuned on (behaviour cloning, warm starts).

An oracle, a scripted agent or a hosted model writes text; :class:`TeacherForcedPolicy` wraps
it with the *student's* tokenizer: each reply becomes the token ids the student would have to
produce -- the text tokenised canonically, then the end-of-turn token -- and the rollout engine
then records the episode exactly as it records the student's own: the prompt tokens it
built, the reply's span, the observation tokens, the loss mask. A reply the teacher's
``max_tokens`` cut (``finish_reason="length"``) stays cut: no end-of-turn token, as the student's
own cut reply ends (the template's end of turn then comes with the observation). Its log-probs are 0 (nothing
was sampled); supervised fine-tuning does not read them, and a trainer that would use them as
sampling log-probs must not be given such trajectories (``Trajectory.policy`` names the
wrapper, and each generation's ``metadata["teacher_forced"]`` is true).

The student's special tokens' texts in a reply (``<|im_end|>``, ``<|im_start|>`` written by a
hosted model quoting a chat format, or injecting a turn) are tokenised as the text they show,
never as those special tokens (as :func:`~agentgym.rollout.prompt_text.render_prompt` does for
observations): otherwise the demonstration would have the student end its turn, or open another
one, inside its reply. The end-of-turn token that closes the reply is the only special one.

A reply is teacher-forced from its *text*. A reply whose tool calls came natively (an
OpenAI-compatible server's ``tool_calls``, beside an empty text) has no text the student's
tokens could be read from -- its tokens would be the end of turn alone, the student saying nothing
while the tool runs -- so it is that request's error generation: ask the teacher to write its
calls as text, in the markup the environment's tool-call format parses (``<tool_call>...``).

The teacher reads the conversation, never the student's prompt tokens: a request's
``prompt_token_ids`` (built with the student's tokenizer) are not passed to ``inner`` -- a teacher
with a tokenizer of its own (an :class:`~agentgym.policies.hf.HFPolicy`, a token-mode
OpenAI-compatible client) would read them as its own tokens -- unless the teacher's tokenizer is
the student's own object. The generation's ``prompt_token_ids`` are the request's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from agentgym.core import is_int
from agentgym.policies.base import Generation, Policy, Request, SamplingParams
from agentgym.rollout.prompt_text import special_token_texts
from agentgym.rollout.transcript import encode_text, is_processor, valid_unicode


class TeacherForcedPolicy(Policy):
    """``inner``'s replies as the tokens of ``tokenizer`` (see the module docstring).

    Args:
        inner: any policy (an :class:`~agentgym.policies.scripted.OraclePolicy`, a scripted
            one, an OpenAI-compatible client); its environment hints and its
            ``batch_invariant`` pass through.
        tokenizer: the student's tokenizer (with its chat template: the engine builds the
            prompts with it), or a vision-language student's processor.
        end_token_ids: what ends a reply (default: the EOS token of the tokenizer, or of a
            processor's tokenizer, which ends an assistant turn in most chat templates): a
            non-empty list of ids in the tokenizer's vocabulary.

    Raises:
        ValueError: ``end_token_ids`` is not a non-empty list of token ids of the tokenizer
            (a token's text is refused: its id is ``tokenizer.convert_tokens_to_ids(text)``).
    """

    def __init__(self, inner: Policy, tokenizer: Any, *, end_token_ids: Sequence[int] | None = None) -> None:
        if not isinstance(inner, Policy):
            raise TypeError(f"TeacherForcedPolicy wraps a Policy, got {type(inner).__name__}")
        if end_token_ids is None:  # a processor's (a vision-language student's) is its tokenizer's
            eos = getattr(tokenizer.tokenizer if is_processor(tokenizer) else tokenizer, "eos_token_id", None)
            if eos is None:
                raise ValueError("the tokenizer has no EOS token: give end_token_ids")
            end_token_ids = [eos]
        self.inner = inner
        self.tokenizer = tokenizer
        self.end_token_ids = _checked_end_ids(end_token_ids, tokenizer)
        self.name = f"teacher-forced:{inner.name}"
        self.env_hints = inner.env_hints
        self.hint_seed = inner.hint_seed
        # A reply's tokens depend on that reply alone: as batch-invariant as the teacher.
        self.batch_invariant = inner.batch_invariant

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        generations = await self.inner.agenerate([self._teacher_request(request) for request in requests], sampling)
        return [self._as_tokens(request, generation) for request, generation in zip(requests, generations)]

    def _teacher_request(self, request: Request) -> Request:
        """``request`` as the teacher reads it: without the student's prompt tokens, unless the
        teacher tokenises with the very same tokenizer (module docstring)."""
        if request.prompt_token_ids is None or self.inner.tokenizer is self.tokenizer:
            return request
        return replace(request, prompt_token_ids=None)

    def _as_tokens(self, request: Request, generation: Generation) -> Generation:
        """``generation`` with the student's tokens; a reply that cannot be tokenised, or that
        holds native tool calls (module docstring), fails alone, as that request's error
        generation. A lone surrogate is tokenised as U+FFFD, as in the prompts
        (:func:`~agentgym.rollout.transcript.encode_text`)."""
        if generation.error is not None or generation.finish_reason == "error":
            return generation
        if generation.tool_calls:
            return Generation(text="", finish_reason="error",
                              error=f"{self.name}: the reply holds native tool calls ({len(generation.tool_calls)}), "
                                    f"which have no text to give the student's tokens: have the teacher write its "
                                    f"tool calls as text (e.g. <tool_call>{{...}}</tool_call>), not as native calls")
        cut = generation.finish_reason == "length"
        try:
            token_ids = self._reply_ids(generation.text) + ([] if cut else self.end_token_ids)
        except Exception as exc:  # noqa: BLE001 - one reply's failure, reported as its generation
            return Generation(text="", finish_reason="error",
                              error=f"{self.name}: cannot tokenise the reply: {type(exc).__name__}: {exc}")
        return Generation(text=generation.text, token_ids=token_ids, logprobs=[0.0] * len(token_ids),
                          prompt_token_ids=None if request.prompt_token_ids is None else list(request.prompt_token_ids),
                          finish_reason="length" if cut else "stop", tool_calls=generation.tool_calls,
                          metadata={**generation.metadata, "teacher_forced": True})

    def _reply_ids(self, text: str) -> list[int]:
        """The canonical tokens of ``text``, a special token's text in it tokenised as plain text
        (module docstring)."""
        text = valid_unicode(text)
        if not any(special in text for special in special_token_texts(self.tokenizer)):
            return encode_text(self.tokenizer, text)
        tokenizer = self.tokenizer.tokenizer if is_processor(self.tokenizer) else self.tokenizer
        return [int(token) for token in tokenizer.encode(text, add_special_tokens=False, split_special_tokens=True)]

    def close(self) -> None:
        self.inner.close()


def _checked_end_ids(end_token_ids: Any, tokenizer: Any) -> list[int]:
    """``end_token_ids`` as a list of ints, checked (see :class:`TeacherForcedPolicy`)."""
    if isinstance(end_token_ids, str):
        raise ValueError(f"end_token_ids must be a non-empty list of token ids, got the string {end_token_ids!r} "
                         f"(its id: tokenizer.convert_tokens_to_ids({end_token_ids!r}))")
    if (not isinstance(end_token_ids, (list, tuple)) or not end_token_ids
            or any(not is_int(token) for token in end_token_ids)):
        raise ValueError(f"end_token_ids must be a non-empty list of token ids, got {end_token_ids!r:.80}")
    ids = [int(token) for token in end_token_ids]
    try:
        size = len(tokenizer.tokenizer if is_processor(tokenizer) else tokenizer)
    except TypeError:  # a tokenizer that does not tell its size
        size = None
    outside = [token for token in ids if token < 0 or (size is not None and token >= size)]
    if outside:
        raise ValueError(f"end_token_ids outside the tokenizer's vocabulary (size {size}): {outside}")
    return ids
