"""The policy interface: a batch of conversations in, one generation each out.

Every back-end — a local Hugging Face model, vLLM, an OpenAI-compatible server, a scripted
oracle, a random agent, a person — implements :class:`Policy`::

    generations = await policy.agenerate([Request(messages, tools=...)], SamplingParams(...))

A :class:`Generation` carries the text and, when the back-end can give them, the exact token
ids it sampled, their log-probabilities and the prompt token ids it was given. Token-exact
training (DESIGN.md, invariant 1) relies on those: a policy with a ``tokenizer`` accepts
``Request.prompt_token_ids`` and must continue *exactly* that token sequence, so the rollout
engine — not the back-end — decides what the prompt of each turn is.
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

from agentgym.event_loops import run_sync

FinishReason = Literal["stop", "length", "error"]


def _not_int(value: Any) -> bool:
    """Not an integer: a bool is not a count (``max_tokens=True`` is a mistake, not 1 token)."""
    return isinstance(value, bool) or not isinstance(value, numbers.Integral)


def _not_number(value: Any) -> bool:
    return isinstance(value, bool) or not isinstance(value, numbers.Real)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({type(value).__name__})"


@dataclass(frozen=True)
class SamplingParams:
    """How to sample.

    Attributes:
        max_tokens: the most tokens to generate per request.
        temperature: 0 means greedy decoding.
        top_p: nucleus sampling mass (1.0 disables it).
        stop: strings that end the generation right after the first of them; the text
            *includes* the stop string (as vLLM's ``include_stop_str_in_output``), so that an
            answer closed by a stop string such as ``</answer>`` stays parseable. The text ends
            with the stop string; the sampled tokens may go past it when it ends inside a token
            (stop ``"a"`` and a last token ``"airplanes"``), as with vLLM.
        seed: makes sampling reproducible; request ``i`` of a batch uses ``seed + i``.
        logprobs: ask for the sampled tokens' log-probabilities.

    Log-probabilities are those of the distribution sampled from *before* nucleus truncation:
    ``log softmax(logits / temperature)`` (raw ``log softmax(logits)`` when greedy), which is
    what a trainer recomputes from the same logits.
    """

    max_tokens: int = 256
    temperature: float = 1.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    logprobs: bool = True

    def __post_init__(self) -> None:
        if _not_int(self.max_tokens) or self.max_tokens < 1:
            raise ValueError(f"max_tokens must be a positive integer, got {self.max_tokens!r}")
        if _not_number(self.temperature) or not (self.temperature >= 0 and math.isfinite(self.temperature)):
            raise ValueError(f"temperature must be a finite number >= 0, got {self.temperature!r}")
        if _not_number(self.top_p) or not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be a number in (0, 1], got {self.top_p!r}")
        if isinstance(self.stop, str):
            object.__setattr__(self, "stop", (self.stop,))
        if isinstance(self.stop, list):
            object.__setattr__(self, "stop", tuple(self.stop))
        if not isinstance(self.stop, tuple) or any(not isinstance(s, str) or not s for s in self.stop):
            raise ValueError(f"stop strings must be non-empty strings, got {self.stop!r}")
        if self.seed is not None and _not_int(self.seed):
            raise ValueError(f"seed must be an integer or None, got {self.seed!r}")
        if not isinstance(self.logprobs, bool):
            raise ValueError(f"logprobs must be True or False, got {self.logprobs!r}")
        # Plain numbers (a NumPy one becomes one), so that they can be sent as JSON.
        object.__setattr__(self, "max_tokens", int(self.max_tokens))
        object.__setattr__(self, "temperature", float(self.temperature))
        object.__setattr__(self, "top_p", float(self.top_p))
        if self.seed is not None:
            object.__setattr__(self, "seed", int(self.seed))

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass
class Request:
    """One conversation to continue.

    Attributes:
        messages: OpenAI-style chat messages (``role``, ``content``, optional ``tool_calls``).
        tools: OpenAI-style tool schemas the model may call.
        prompt_token_ids: the exact prompt tokens to continue (token-exact multi-turn
            rollouts); when given, a token-level back-end must not re-template ``messages``.
        seed: the sampling seed of this request, overriding ``SamplingParams.seed + i``: the
            rollout engine derives it from the task, the rollout and the turn, so a rollout
            samples the same way whichever requests share its batch.
        hints: what the environment told an environment-aware policy (oracle, random) for this
            turn, JSON-safe, e.g. ``{"oracle_action": "7"}``: only the names in the policy's
            :attr:`Policy.env_hints` (see :data:`ENV_HINTS`), computed in the environment's own
            thread; a hint the environment could not give is absent and its reason is in
            ``hints["errors"][name]``. ``None`` for policies that ask for none; never sent to a
            model. A policy never gets the environment itself.
    """

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    prompt_token_ids: list[int] | None = None
    seed: int | None = None
    hints: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        # Checked here, at the boundary, so a wrong request fails with its field's name rather
        # than deep inside a chat template or a tokenizer.
        if not isinstance(self.messages, (list, tuple)) or any(not isinstance(m, dict) for m in self.messages):
            raise ValueError(f"Request.messages must be a list of chat-message dicts, got {_short(self.messages)}")
        if self.tools is not None and (not isinstance(self.tools, (list, tuple))
                                       or any(not isinstance(t, dict) for t in self.tools)):
            raise ValueError(f"Request.tools must be a list of tool-schema dicts or None, got {_short(self.tools)}")
        # Only the container is checked: the token ids themselves are the back-end's to check,
        # per request, so one bad prompt becomes that request's error generation.
        if self.prompt_token_ids is not None and not isinstance(self.prompt_token_ids, (list, tuple)):
            raise ValueError(f"Request.prompt_token_ids must be a list of token ids or None, "
                             f"got {_short(self.prompt_token_ids)}")
        if self.seed is not None and _not_int(self.seed):
            raise ValueError(f"Request.seed must be an integer or None, got {self.seed!r}")
        if self.seed is not None:
            self.seed = int(self.seed)  # a plain int (a NumPy one becomes one): it is sent as JSON
        if self.hints is not None and not isinstance(self.hints, dict):
            raise ValueError(f"Request.hints must be a dict or None, got {_short(self.hints)}")


@dataclass
class Generation:
    """What the policy wrote for one request.

    ``token_ids``, ``logprobs`` and ``prompt_token_ids`` are ``None`` for back-ends that only
    return text (a hosted API, a scripted agent): such generations make text-only trajectories,
    which a trainer refuses.
    """

    text: str
    token_ids: list[int] | None = None
    logprobs: list[float] | None = None
    prompt_token_ids: list[int] | None = None
    finish_reason: FinishReason = "stop"
    tool_calls: list[dict[str, Any]] | None = None
    error: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def token_exact(self) -> bool:
        return self.token_ids is not None and self.prompt_token_ids is not None


#: The hints an environment gives a policy that declares them in :attr:`Policy.env_hints`:
#: ``oracle_action``, the environment's own solver's move for this turn (its
#: ``oracle_action()``), and ``random_action``, a random, usually legal move (its
#: ``random_action(rng)``, with a generator seeded from the policy's ``hint_seed``, the task,
#: the rollout and the turn). Nothing else of the environment (its reference answer, its state)
#: reaches a policy.
ENV_HINTS = ("oracle_action", "random_action")


class PolicyError(RuntimeError):
    """A policy could not produce a generation (a server refused the request, a model failed)."""


class Policy(ABC):
    """Turns conversations into the next assistant message. See the module docstring.

    Attributes:
        name: a short label for tables and logs.
        tokenizer: a Hugging Face tokenizer with a chat template, for policies that work on
            tokens (the rollout engine then builds token-exact prompts); ``None`` otherwise.
        env_hints: the hints (names from :data:`ENV_HINTS`) the policy needs in
            ``Request.hints``; the rollout engine asks the environment for them, and only
            them, before each of its turns. Empty for model policies.
        hint_seed: seeds the generator of the ``random_action`` hint (``None``: the sampling
            seed, or unseeded without one).
        batch_invariant: each generation depends on its own request alone, never on which
            requests share its call or their order (the random agent, an oracle, a script,
            ``HFPolicy(batch_invariant=True)``). A seeded rollout then replays without
            lockstep batching, so the rollout engine serves each episode's request when it
            comes instead of holding it until every episode has asked (see
            :mod:`agentgym.rollout.batcher`): a slow environment step holds back only its own
            episode.
    """

    name: str = "policy"
    tokenizer: Any = None
    env_hints: tuple[str, ...] = ()
    hint_seed: int | None = None
    batch_invariant: bool = False

    @abstractmethod
    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        """One :class:`Generation` per request, in order. A failure of one request should be
        reported as a generation with ``finish_reason="error"`` and ``error`` set rather than
        by raising, so the other requests of the batch are kept."""

    def generate(self, requests: Sequence[Request], sampling: SamplingParams | None = None) -> list[Generation]:
        """Synchronous :meth:`agenerate` (not callable from inside a running event loop)."""
        return run_sync(self.agenerate(list(requests), sampling or SamplingParams()),
                        "Policy.generate() was called inside a running event loop: await agenerate() instead")

    def close(self) -> None:
        """Release resources (processes, connections, GPU memory)."""

    def __enter__(self) -> Policy:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
