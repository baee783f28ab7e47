"""The experience model: any :class:`~agentgym.policies.base.Policy` predicting an environment.

:class:`ExperienceModel` asks a policy what the environment would answer to the agent's action.
The conversation it sends (:meth:`ExperienceModel.messages`) is a few-shot chat, because small
models copy the format of earlier assistant turns far more reliably than a format described in
words (SmolLM2-135M writes no ``Observation:`` label at all from a description alone):

* a system message: the rules (:data:`EXPERIENCE_RULES`), the reply format, and the task: the
  environment's id, the episode's id (``Episode: <task id>``, so that a model can keep one
  made-up hidden state per episode), the agent's instructions and first observation, and the
  hidden reference answer only when the environment is built with ``reveal_answer=True``;
* for each of the ``k`` real transitions retrieved from the replay buffer, a user message
  (``Example from a real episode of this environment:``, its recent history as ``Earlier
  action:`` / ``Earlier observation:`` lines, ``Action: <its action>``) and the assistant's
  reply as the real environment gave it, in the reply format;
* the episode so far, its last ``max_history_turns`` turns (earlier ones are counted, not
  shown): a user message ``Action: <action>`` (the first one headed ``This episode:``) and the
  prediction made then as the assistant's reply;
* a last user message ``Action: <the agent's action now>``.

The reply format (parsed by :func:`parse_reply`)::

    Observation: <what the environment shows the agent; may span several lines>
    Reward: <a number>
    Done: yes | no

The labels are matched at the start of a line, in any case, with optional Markdown emphasis
(``**Reward:** 1``); text before the first label (a model's reasoning) is ignored; when a label
appears more than once the last one counts. Robustness rules:

* no ``Observation:`` field, or an empty one (an empty or garbage reply): the reply is
  **unparseable** — :class:`Prediction` with ``error`` set;
* ``Reward`` missing or without a number: ``default_reward``, noted in ``Prediction.notes``;
  a number outside ``reward_range`` is clipped into it (noted), ``nan`` (and a fraction over
  zero) is the default; a minus sign may be the typeset one (``−1``, U+2212); a fraction
  (``1/2``) is its value;
* ``Done`` missing or neither yes nor no (``true``/``false``, ``1``/``0`` are read too):
  ``False``, noted.

A policy that raises, returns an error generation, returns no generation, or takes longer than
``timeout`` seconds gives a :class:`Prediction` with ``error`` set, never an exception. The
call runs in a helper thread that is joined for at most ``timeout`` seconds: a policy that
blocks for good (even without yielding to its event loop) cannot stall the step, and its
thread is left behind as a daemon (one per hung call; it ends if the call ever returns).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import queue
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from agentgym.core import ConfigError, check_int, check_number
from agentgym.policies.base import Generation, Policy, Request, SamplingParams
from agentgym.synthetic.buffer import Transition

EXPERIENCE_RULES = (
    "You simulate an environment that an agent acts in. You are given the agent's task, examples "
    "of real transitions of this environment, the episode so far and the agent's latest action. "
    "Predict exactly what the environment answers to that action, the reward of this step and "
    "whether the episode ends. Follow the environment's rules as the examples show them (their "
    "wording and format too), and stay consistent with everything already said in this episode. "
    "An action the environment cannot carry out gets the error message the environment would give."
)
REPLY_FORMAT = (
    "Reply in exactly this format, and nothing after it:\n"
    "Observation: <what the environment shows the agent>\n"
    "Reward: <a number between {low:g} and {high:g}>\n"
    "Done: <yes or no>"
)
#: The default sampling stops once the ``Done`` field is written (the reply is complete).
STOP_AFTER_DONE = ("Done: yes", "Done: no", "Done: Yes", "Done: No")
EXAMPLE_HEADER = "Example from a real episode of this environment:"
EPISODE_HEADER = "This episode:"
EMPTY_ACTION = "(empty action)"
#: How many characters of the raw reply ``info["experience_model"]["text"]`` keeps.
MAX_RECORDED_CHARS = 4_000

_LABEL = re.compile(r"^[ \t>#*_-]*(observation|reward|done)[ \t*_]*:[ \t*_]*", re.IGNORECASE | re.MULTILINE)
# a sign may be the typeset minus (U+2212) and stand apart from its number ("- 0.5")
# a fraction ("1/2") is its value
_NUMBER = re.compile(r"(?:[-+\u2212]\s*)?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?:\s*/\s*(?:\d+(?:\.\d*)?|\.\d+))?"
                     r"|(?<![a-z])(?:[-+\u2212]\s*)?(?:inf(?:inity)?|nan)(?![a-z])",
                     re.IGNORECASE)
_YES = {"yes", "y", "true", "1", "done", "ended", "over"}
_NO = {"no", "n", "false", "0", "not"}


@dataclass(frozen=True)
class EpisodeContext:
    """What the experience model is told about one step.

    Attributes:
        env_id: the real environment simulated.
        task_id: the episode's id (shown to the experience model, never to the agent).
        instructions: the agent's instructions.
        first_observation: the agent's first observation.
        history: the episode's earlier turns, ``(action, observation, reward)``.
        action: the action to answer.
        reference: the hidden answer, shown only when the environment reveals it.
    """

    env_id: str
    task_id: str
    instructions: str
    first_observation: str
    history: tuple[tuple[str, str, float], ...] = ()
    action: str = ""
    reference: str | None = None


@dataclass(frozen=True)
class Prediction:
    """The experience model's answer to one step.

    Attributes:
        observation: what the agent sees next ("" when ``error`` is set).
        reward: the step's reward, clipped into the model's ``reward_range``.
        done: the episode ends.
        text: the model's raw reply ("" when it gave none).
        error: why no prediction could be made (generation failed, timed out, unparseable).
        notes: defaults and clipping applied while parsing (``"reward missing"``...).
        seconds: how long the model took.
    """

    observation: str
    reward: float = 0.0
    done: bool = False
    text: str = ""
    error: str | None = None
    notes: tuple[str, ...] = ()
    seconds: float = 0.0


def format_reply(observation: str, reward: float, done: bool) -> str:
    """A reply in the documented format (what examples and earlier turns are shown as)."""
    return f"Observation: {observation}\nReward: {reward:g}\nDone: {'yes' if done else 'no'}"


def parse_reply(text: str, *, reward_range: tuple[float, float] = (-1.0, 1.0),
                default_reward: float = 0.0) -> Prediction:
    """A :class:`Prediction` from a reply in the documented format (see the module docstring)."""
    if not isinstance(text, str):
        return Prediction("", default_reward, False, "", f"the reply is {type(text).__name__}, not text")
    fields: dict[str, str] = {}
    matches = list(_LABEL.finditer(text))
    for match, following in zip(matches, [*matches[1:], None]):
        end = following.start() if following is not None else len(text)
        fields[match.group(1).lower()] = text[match.end():end].strip()
    observation = fields.get("observation", "")
    if not observation:
        reason = "the reply is empty" if not text.strip() else (
            "the reply has an empty Observation" if "observation" in fields else "the reply has no Observation field")
        return Prediction("", default_reward, False, text, reason)
    notes = []
    reward = default_reward
    found = _NUMBER.search(fields.get("reward", ""))
    if "reward" not in fields:
        notes.append("reward missing")
    elif found is None:
        notes.append("reward not a number")
    else:
        numerator, _, denominator = re.sub(r"\s+", "", found.group(0)).replace("\u2212", "-").partition("/")
        value = float(numerator) / float(denominator) if denominator and float(denominator) else \
            (math.nan if denominator else float(numerator))
        if math.isnan(value):
            notes.append("reward not a number")
        else:
            low, high = reward_range
            if not low <= value <= high:
                notes.append(f"reward {found.group(0)} clipped")
            reward = min(high, max(low, value))
    done_words = re.findall(r"[a-z0-9]+", fields.get("done", "").lower())
    done = False
    if "done" not in fields:
        notes.append("done missing")
    elif done_words and done_words[0] in _YES:
        done = True
    elif not (done_words and done_words[0] in _NO):
        notes.append("done unreadable")
    return Prediction(observation, reward, done, text, None, tuple(notes))


def checked_reward_range(owner: str, value: Any) -> tuple[float, float]:
    """``value`` as ``(low, high)`` finite numbers with ``low <= high``; a :class:`ConfigError`
    naming ``owner`` and ``reward_range`` otherwise."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ConfigError(f"{owner}: reward_range must be (low, high), got {value!r}")
    low, high = (check_number(owner, "reward_range", number) for number in value)
    if low > high:
        raise ConfigError(f"{owner}: reward_range must have low <= high, got {value!r}")
    return low, high


@dataclass
class ExperienceModel:
    """A policy that predicts an environment's next observation, reward and end.

    Args:
        policy: any :class:`~agentgym.policies.base.Policy`.
        sampling: how it samples (default: greedy, 256 tokens, no log-probs, stopping after
            the ``Done`` field: :data:`STOP_AFTER_DONE`).
        reward_range: predicted rewards are clipped into ``[low, high]``.
        default_reward: the reward of a reply without one.
        timeout: seconds one prediction may take (see the module docstring).
        max_history_turns: the episode's last turns shown (earlier ones are counted).
        max_chars: each text in the prompt (task, action, observation) is cut to this.
        rules: the system message's rules (the reply format is appended).
    """

    policy: Policy
    sampling: SamplingParams | None = None
    reward_range: tuple[float, float] = (-1.0, 1.0)
    default_reward: float = 0.0
    timeout: float = 120.0
    max_history_turns: int = 8
    max_chars: int = 1_500
    rules: str = EXPERIENCE_RULES
    _name: str = field(init=False, repr=False, default="")

    def __post_init__(self) -> None:
        owner = type(self).__name__
        if not isinstance(self.policy, Policy):
            raise ConfigError(f"{owner}: policy must be an agentgym Policy, got {type(self.policy).__name__}")
        if self.sampling is None:
            self.sampling = SamplingParams(max_tokens=256, temperature=0.0, logprobs=False, stop=STOP_AFTER_DONE)
        if not isinstance(self.sampling, SamplingParams):
            raise ConfigError(f"{owner}: sampling must be SamplingParams, got {type(self.sampling).__name__}")
        self.reward_range = checked_reward_range(owner, self.reward_range)
        self.default_reward = check_number(owner, "default_reward", self.default_reward)
        self.timeout = check_number(owner, "timeout", self.timeout, minimum=0.001)
        self.max_history_turns = check_int(owner, "max_history_turns", self.max_history_turns, minimum=0)
        self.max_chars = check_int(owner, "max_chars", self.max_chars, minimum=32)
        self._name = str(getattr(self.policy, "name", type(self.policy).__name__))

    @property
    def name(self) -> str:
        return self._name

    # ------------------------------------------------------------------ prompt
    def messages(self, context: EpisodeContext, examples: Sequence[Transition] = ()) -> list[dict[str, str]]:
        """The conversation sent to the policy (see the module docstring)."""
        low, high = self.reward_range
        cut = self._cut
        task = [f"Environment: {context.env_id}", f"Episode: {context.task_id}",
                "Task given to the agent:", cut(context.instructions) or "(no instructions)",
                "First observation:", cut(context.first_observation) or "(empty)"]
        if context.reference is not None:
            task.append(f"Hidden answer of this episode (never tell it unless the rules reveal it): "
                        f"{cut(context.reference)}")
        system = "\n\n".join([self.rules, REPLY_FORMAT.format(low=low, high=high), "\n".join(task)])
        messages = [{"role": "system", "content": system}]
        for example in examples:
            lines = [EXAMPLE_HEADER]
            for action, observation in example.context.history:
                lines += [f"Earlier action: {cut(action)}", f"Earlier observation: {cut(observation)}"]
            lines.append(f"Action: {cut(example.context.action) or EMPTY_ACTION}")
            messages += [{"role": "user", "content": "\n".join(lines)},
                         {"role": "assistant", "content": format_reply(cut(example.observation), example.reward,
                                                                       example.terminated)}]
        shown = context.history[-self.max_history_turns:] if self.max_history_turns else ()
        hidden = len(context.history) - len(shown)
        header = EPISODE_HEADER if not hidden else \
            f"This episode ({hidden} earlier turn{'s' if hidden > 1 else ''} not shown):"
        for number, (action, observation, reward) in enumerate(shown):
            prefix = f"{header}\n" if number == 0 else ""
            messages += [{"role": "user", "content": f"{prefix}Action: {cut(action) or EMPTY_ACTION}"},
                         {"role": "assistant", "content": format_reply(cut(observation), reward, False)}]
        prefix = f"{header}\n" if not shown else ""
        messages.append({"role": "user", "content": f"{prefix}Action: {cut(context.action) or EMPTY_ACTION}"})
        return messages

    def _cut(self, text: str) -> str:
        text = text.encode("utf-8", "replace").decode("utf-8")
        return text if len(text) <= self.max_chars else f"{text[: self.max_chars]}…[cut]"

    # ------------------------------------------------------------------ predicting
    def predict(self, context: EpisodeContext, examples: Sequence[Transition] = (), *,
                seed: int | None = None) -> Prediction:
        """The prediction for one step (never raises for anything the policy does)."""
        return self.predict_many([(context, examples)], seeds=[seed])[0]

    def predict_many(self, steps: Sequence[tuple[EpisodeContext, Sequence[Transition]]], *,
                     seeds: Sequence[int | None] | None = None) -> list[Prediction]:
        """Predictions for independent steps, asked for in one batch (``timeout`` bounds the
        whole batch; a failure of the call is every step's error)."""
        started = time.perf_counter()
        seeds = list(seeds) if seeds is not None else [None] * len(steps)
        if len(seeds) != len(steps):
            raise ConfigError(f"predict_many: {len(seeds)} seeds for {len(steps)} steps")
        try:
            requests = [Request(self.messages(context, examples), seed=seed)
                        for (context, examples), seed in zip(steps, seeds)]
        except Exception as exc:  # noqa: BLE001 - e.g. a bug in the prompt, reported per step
            return [Prediction("", self.default_reward, False, "", f"could not build the prompt: {exc}")] * len(steps)
        if not requests:
            return []
        generations, failure = call_policy_batch(self.policy, requests, self.sampling, self.timeout)
        seconds = time.perf_counter() - started
        if failure is not None:
            return [Prediction("", self.default_reward, False, "", failure, seconds=seconds)] * len(steps)
        return [self._parsed(generation, seconds) for generation in generations]

    def _parsed(self, generation: Any, seconds: float) -> Prediction:
        if not hasattr(generation, "text"):  # e.g. a bare string: say so, not "the reply is NoneType"
            return Prediction("", self.default_reward, False, "", f"the model returned "
                              f"{type(generation).__name__}, not a Generation", seconds=seconds)
        text = getattr(generation, "text", None)
        if getattr(generation, "finish_reason", None) == "error" or getattr(generation, "error", None):
            return Prediction("", self.default_reward, False, text if isinstance(text, str) else "",
                              f"the model failed: {generation.error or 'error'}", seconds=seconds)
        prediction = parse_reply(text, reward_range=self.reward_range, default_reward=self.default_reward)
        return Prediction(prediction.observation, prediction.reward, prediction.done, prediction.text,
                          prediction.error, prediction.notes, seconds)


def call_policy(policy: Policy, request: Any, sampling: Any, timeout: float) -> tuple[list[Any], str | None]:
    """:func:`call_policy_batch` for one request."""
    return call_policy_batch(policy, [request], sampling, timeout)


def call_policy_batch(policy: Policy, requests: list[Any], sampling: Any,
                      timeout: float) -> tuple[list[Any], str | None]:
    """``policy.agenerate(requests)`` on a fresh event loop in a daemon thread, joined for at
    most ``timeout`` seconds: ``(generations, None)``, or ``([], why it failed)`` when it
    raised, timed out or did not return one generation per request. A call that times out is
    cancelled: an async policy's request (an HTTP call to a server that hangs) ends with its
    thread; a policy that blocks its event loop ends when it returns."""
    outcome: dict[str, Any] = {}
    running: dict[str, Any] = {}  # the call's loop and task, for cancelling it

    async def generate() -> Any:
        running["loop"], running["task"] = asyncio.get_running_loop(), asyncio.current_task()
        return await policy.agenerate(list(requests), sampling)

    def call() -> None:
        try:
            outcome["generations"] = asyncio.run(generate())
        except BaseException as exc:  # noqa: BLE001 - reported as the caller's error
            outcome["error"] = exc

    thread = threading.Thread(target=call, name="agentgym-policy-call", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        if "task" in running:
            try:
                running["loop"].call_soon_threadsafe(running["task"].cancel)
            except RuntimeError:  # the loop closed meanwhile: the call has ended
                pass
        return [], f"the model did not answer within {timeout:g} s"
    if "error" in outcome:
        exc = outcome["error"]
        return [], f"the model raised {type(exc).__name__}: {str(exc)[:300]}"
    generations = outcome.get("generations")
    if not isinstance(generations, list) or len(generations) != len(requests):
        count = len(generations) if isinstance(generations, list) else type(generations).__name__
        return [], f"the model returned {count} generation(s) for {len(requests)} request(s)"
    return generations, None


class BatchingPolicy(Policy):
    """A policy shared by many environments, its concurrent requests sent in batches.

    Each environment's step asks for one prediction; with many episodes running at once (the
    rollout engine steps each in its own thread), those requests reach the wrapped policy one
    by one and queue on its lock. This wrapper gathers the requests that arrive within
    ``window`` seconds of the first (at most ``max_batch``) and sends them in one ``agenerate``
    call from a worker thread of its own (started on first use, stopped by :meth:`close`);
    requests with different sampling settings go in separate calls. A batch that fails fails
    each of its requests with the same exception.
    """

    def __init__(self, policy: Policy, *, window: float = 0.02, max_batch: int = 32,
                 owns_policy: bool = True) -> None:
        if not isinstance(policy, Policy):
            raise ConfigError(f"BatchingPolicy needs a Policy, got {type(policy).__name__}")
        self.policy = policy
        self.name = policy.name
        self.window = check_number("BatchingPolicy", "window", window, minimum=0.0)
        self.max_batch = check_int("BatchingPolicy", "max_batch", max_batch, minimum=1)
        self.owns_policy = owns_policy
        self.batches: list[int] = []  # the size of each batch sent (for benchmarks and tests)
        self._queue: queue.Queue[Any] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        futures = [self._submit(request, sampling) for request in requests]
        return list(await asyncio.gather(*(asyncio.wrap_future(future) for future in futures)))

    def _submit(self, request: Request, sampling: SamplingParams) -> concurrent.futures.Future[Generation]:
        future: concurrent.futures.Future[Generation] = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the batching policy is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="agentgym-batching-policy", daemon=True)
                self._thread.start()
            self._queue.put((request, sampling, future))
        return future

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            stopping = False
            while not stopping:
                item = self._queue.get()
                if item is None:
                    break
                batch = [item]
                deadline = time.monotonic() + self.window
                while len(batch) < self.max_batch:
                    try:
                        more = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                    except queue.Empty:
                        break
                    if more is None:
                        stopping = True
                        break
                    batch.append(more)
                self._run(loop, batch)
        finally:
            loop.close()

    def _run(self, loop: asyncio.AbstractEventLoop, batch: list[Any]) -> None:
        groups: dict[Any, list[Any]] = {}
        for item in batch:
            groups.setdefault(item[1], []).append(item)
        for sampling, items in groups.items():
            live = [item for item in items if item[2].set_running_or_notify_cancel()]
            if not live:
                continue
            self.batches.append(len(live))
            try:
                generations = loop.run_until_complete(self.policy.agenerate([r for r, _, _ in live], sampling))
                if not isinstance(generations, list) or len(generations) != len(live):
                    raise RuntimeError(f"{self.name} returned {len(generations) if isinstance(generations, list) else generations!r} "
                                       f"generation(s) for {len(live)} request(s)")
            except BaseException as exc:  # noqa: BLE001 - each caller gets it
                for _, _, future in live:
                    future.set_exception(exc)
                continue
            for (_, _, future), generation in zip(live, generations):
                future.set_result(generation)

    def close(self) -> None:
        """Stop the worker (requests already queued are served first) and, when it owns the
        wrapped policy, close it. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            self._queue.put(None)
        if thread is not None:
            thread.join(60)
        if self.owns_policy:
            self.policy.close()
