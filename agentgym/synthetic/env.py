"""``SyntheticEnv``: any text environment, with every step predicted by an experience model.

DreamGym-style synthetic experience: the real environment only sets the task; what follows is
made up by an :class:`~agentgym.synthetic.experience.ExperienceModel` (any policy) from the
task, the episode so far and the most similar real transitions of a
:class:`~agentgym.synthetic.buffer.ReplayBuffer`::

    buffer = ReplayBuffer.from_jsonl("real_rollouts.jsonl")
    env = SyntheticEnv(env_id="games/GuessTheNumber-v0", experience_model=policy, buffer=buffer, k=3,
                       env_kwargs={"difficulty": "easy"})
    observation, info = env.reset(seed=0)      # the REAL task: instructions, first observation, tools
    observation, reward, terminated, truncated, info = env.step("10")   # predicted

Contract:

* ``reset(seed)`` resets the real environment (made with ``agentgym.make(env_id,
  **env_kwargs)``, no turn budget) on the same seed — the same task the real environment gives
  for that seed — and returns its first observation; ``info["instructions"]`` and
  ``info["tools"]`` are the real ones, ``info["task_id"]`` is the real task's id, or the
  curriculum task's key (``info["real_task_id"]`` keeps the real one). A later unseeded
  ``reset()`` resets the real environment unseeded too, as the real one would be. With a
  ``curriculum`` (:class:`~agentgym.synthetic.curriculum.TaskGenerator`) the task is
  ``curriculum.task_for(seed)``: the real environment is reset on that task's seed and a text
  variation's rewritten text replaces the first observation.
* ``step(action)`` never steps the real environment (unless ``compare_real``): the ``k`` real
  transitions most similar to (task, the last ``history_turns`` turns, action) are retrieved
  and the experience model predicts the observation, the reward (component ``outcome``,
  clipped into ``reward_range``) and the end. ``success`` is ``True`` on a predicted end whose
  reward reaches ``success_reward`` (1.0 by default: every built-in game and the search family
  give an ``outcome`` of 1 for a win). ``info["experience_model"]`` records the model's name,
  its raw reply (cut to 4,000 characters), how many examples it was shown and the parsing
  notes (no timings: the same seed gives the same ``info``).
* An experience model that fails (raises, times out after ``timeout`` seconds, writes an empty
  or unparseable reply) never crashes the step: the observation says the simulation failed,
  ``info["experience_error"]`` says why, and the episode is **truncated**. Actions the core
  refuses (not text, longer than the real environment's ``max_action_chars``) are error
  observations as in the real environment, without calling the model.
* The episode is truncated after ``turn_budget`` steps (default: the real environment's
  registered turn budget), as the real one would be (``info["out_of_turns"]``).
* The hidden answer: the experience model sees the real task's ``reference_answer`` only with
  ``reveal_answer=True`` (the model then plays the real task's secret); the agent never sees
  it from the environment. A model that repeats the secret in an observation would tell the
  agent, so a predicted observation that holds the answer (as a whole word) where the action
  did not is flagged ``info["answer_in_observation"]``. ``reference_answer`` is that answer
  with ``reveal_answer=True`` and ``None`` otherwise (the synthetic episode's secret is
  whatever the model made up), so IGPO runs only on a revealing environment.
* ``compare_real=True`` also steps the real environment with each action and puts its answer
  in ``info["real"]`` (``observation``, ``reward``, ``terminated``, ``truncated``) while it
  lasts: what the agreement benchmark measures. ``oracle_action()`` is the real environment's
  oracle after replaying the episode's actions on it (it wins when the model agrees with the
  real environment); ``random_action(rng)`` is the real one's.

Arguments given as data, so that a training configuration can name them (and each episode's
environment, which the rollout engine makes anew, shares them): ``experience_model`` may be a
:class:`~agentgym.policies.base.Policy`, an :class:`ExperienceModel`, a policy spec string
(``"smollm2-135m"``, ``"hf:PATH"``, ``"openai:URL#MODEL"``) or ``"package.module:factory"``
(a zero-argument callable returning either); ``buffer`` a :class:`ReplayBuffer`, ``None`` (an
empty buffer: no examples) or the path(s) of trajectory JSONL files. Strings are resolved once
per process and shared (:func:`close_shared`); a policy named by a string is shared behind a
:class:`~agentgym.synthetic.experience.BatchingPolicy`, so the predictions of episodes running
at once reach it in batches. In a thread runtime objects are shared as they
are; other runtimes need the string forms (or picklable objects: buffers and curricula are).
The environment never closes the experience model, buffer or curriculum it is given;
:func:`close_shared` closes the ones made from strings.

Images: a multimodal real environment's first observation is reduced to its text; the
simulation is text only.
"""

from __future__ import annotations

import importlib
import os
import random
import re
import threading
from typing import Any, ClassVar, Sequence

import agentgym
from agentgym.core import ConfigError, Feedback, LLMEnv, check_flag, check_int, check_number
from agentgym.policies.base import Policy, SamplingParams
from agentgym.synthetic.buffer import SYNTHETIC_PREFIX, Context, ReplayBuffer
from agentgym.synthetic.curriculum import CurriculumTask, TaskGenerator
from agentgym.synthetic.experience import (MAX_RECORDED_CHARS, BatchingPolicy, EpisodeContext, ExperienceModel,
                                           checked_reward_range)

#: The turn budget when the real environment registers none.
DEFAULT_MAX_TURNS = 64
FAILURE_OBSERVATION = "(The simulated environment could not answer: {reason}. The episode ends here.)"


class SyntheticEnv(LLMEnv):
    """A real environment's tasks with predicted steps (see the module docstring).

    Args:
        env_id: the real environment (any registered text environment).
        experience_model: who predicts the steps (see the module docstring for the forms).
        buffer: the real transitions to retrieve examples from.
        k: examples per step (0: none).
        env_kwargs: the real environment's constructor arguments.
        curriculum: a :class:`TaskGenerator` that picks the tasks (``None``: the seed's task).
        turn_budget: steps before truncation (default: the real environment's registered budget;
            not ``max_turns``, which ``agentgym.make`` takes for its own TurnLimit).
        success_reward: the predicted reward of a successful end.
        reward_range: predicted rewards are clipped into it (not for an ExperienceModel).
        reveal_answer: show the real task's hidden answer to the experience model.
        compare_real: step the real environment too and report it in ``info["real"]``.
        history_turns: earlier turns in a retrieval query (default: the buffer's).
        timeout: seconds one prediction may take (not for an ExperienceModel).
        sampling: the experience model's sampling, a :class:`SamplingParams` or a dict of its
            fields (not for an ExperienceModel, which has its own).
        **kwargs: :class:`LLMEnv`'s; ``invalid_penalty`` and ``max_action_chars`` default to
            the real environment's.
    """

    family = "synthetic"
    #: Arguments that reach the host (see LLMEnv.host_arguments): the model that predicts (a
    #: spec may name a checkpoint folder or a server), the real environment's own arguments, the buffer.
    host_arguments: ClassVar[frozenset[str]] = frozenset({"experience_model", "env_kwargs", "buffer"})

    def __init__(self, env_id: str, experience_model: Any, buffer: Any = None, *, k: int = 3,
                 env_kwargs: dict[str, Any] | None = None, curriculum: TaskGenerator | None = None,
                 turn_budget: int | None = None, success_reward: float = 1.0,
                 reward_range: Sequence[float] = (-1.0, 1.0), reveal_answer: bool = False,
                 compare_real: bool = False, history_turns: int | None = None, timeout: float = 120.0,
                 sampling: Any = None, **kwargs: Any) -> None:
        owner = type(self).__name__
        if not isinstance(env_id, str) or not env_id:
            raise ConfigError(f"{owner}: env_id must be a registered environment id, got {env_id!r}")
        if env_id.startswith(SYNTHETIC_PREFIX):
            raise ConfigError(f"{owner}: env_id must be a real environment, not another synthetic one ({env_id!r})")
        if env_kwargs is not None and not isinstance(env_kwargs, dict):
            raise ConfigError(f"{owner}: env_kwargs must be a dict of constructor arguments, got {env_kwargs!r}")
        if curriculum is not None and not isinstance(curriculum, TaskGenerator):
            raise ConfigError(f"{owner}: curriculum must be a TaskGenerator or None, got {type(curriculum).__name__}")
        if curriculum is not None and curriculum.env_id != env_id:
            raise ConfigError(f"{owner}: the curriculum is for {curriculum.env_id!r}, not {env_id!r}")
        self.k = check_int(owner, "k", k, minimum=0)
        self.success_reward = check_number(owner, "success_reward", success_reward)
        self.reveal_answer = check_flag(owner, "reveal_answer", reveal_answer)
        self.compare_real = check_flag(owner, "compare_real", compare_real)
        self.model = experience_model_from(experience_model, reward_range=reward_range, timeout=timeout,
                                           sampling=sampling)
        self.buffer = buffer_from(buffer)
        self.history_turns = (self.buffer.history_turns if history_turns is None
                              else check_int(owner, "history_turns", history_turns, minimum=0))
        self.curriculum = curriculum
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        registered = agentgym.env_info(env_id).max_turns
        self.turn_budget = check_int(owner, "turn_budget", turn_budget if turn_budget is not None
                                     else registered or DEFAULT_MAX_TURNS, minimum=1)
        self._real = agentgym.make(env_id, max_turns=None, **self.env_kwargs)
        try:
            real = self._real.unwrapped
            kwargs.setdefault("invalid_penalty", getattr(real, "invalid_penalty", 0.0))
            kwargs.setdefault("max_action_chars", getattr(real, "max_action_chars", 20_000))
            super().__init__(None, **kwargs)
        except BaseException:
            self._real.close()
            raise
        self.instructions = ""
        self._task: CurriculumTask | None = None
        self._task_id = ""
        self._real_task_id = ""
        self._first_observation = ""
        self._real_tools: list[dict[str, Any]] = []
        self._history: list[tuple[str, str, float]] = []
        self._actions: list[str] = []
        self._replayed = 0  # actions the real environment has been stepped with
        self._real_live = False  # the real episode can still be stepped
        self._turns = 0
        self._truncate = False

    # ------------------------------------------------------------------ episode
    def new_episode(self, options: dict[str, Any]) -> str:
        seed = self._seed if self._episode == 0 else None
        task = None
        if self.curriculum is not None:
            task = self.curriculum.task_for(seed if seed is not None else self.rng.randrange(2**31))
            seed = task.seed
        observation, info = self._real.reset(seed=seed, options=options or None)
        text = observation.get("text", "") if isinstance(observation, dict) else str(observation)
        self._task = task
        self._real_task_id = str(info.get("task_id", ""))
        self._task_id = task.key if task is not None else self._real_task_id
        self._first_observation = task.rewrite if task is not None and task.rewrite else text
        self.instructions = str(info.get("instructions", ""))
        self._real_tools = list(info.get("tools") or [])
        self._history, self._actions = [], []
        self._replayed, self._real_live = 0, task is None or task.rewrite is None
        self._turns, self._truncate = 0, False
        if task is not None:
            self.curriculum.remember(task, self._first_observation)
        return self._first_observation

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        observation, info = super().reset(seed=seed, options=options)
        info["task_id"] = self._task_id
        info["real_task_id"] = self._real_task_id
        info["tools"] = list(self._real_tools)
        return observation, info

    def play(self, action: str) -> Feedback:
        context = EpisodeContext(self.env_id, self._task_id, self.instructions, self._first_observation,
                                 tuple(self._history), action, self.reference_answer)
        query = Context(self.env_id, f"{self.instructions}\n\n{self._first_observation}".strip(),
                        tuple((a, o) for a, o, _ in self._history[-self.history_turns:]) if self.history_turns else (),
                        action)
        examples = self.buffer.similar(query, self.k) if self.k else []
        prediction = self.model.predict(context, examples, seed=self.rng.randrange(2**31))
        self._actions.append(action)
        info: dict[str, Any] = {"experience_model": {
            "model": self.model.name, "text": prediction.text[:MAX_RECORDED_CHARS], "examples": len(examples),
            "notes": list(prediction.notes), "error": prediction.error}}
        if self.compare_real:
            real = self._replay_real()
            if real is not None:
                info["real"] = real
        if prediction.error is not None:
            self._truncate = True
            info["experience_error"] = prediction.error
            return Feedback(FAILURE_OBSERVATION.format(reason=prediction.error), {"outcome": 0.0}, info=info)
        if context.reference and _mentions(prediction.observation, context.reference) \
                and not _mentions(action, context.reference):
            info["answer_in_observation"] = True  # the model told the agent the secret it was shown
        self._history.append((action, prediction.observation, prediction.reward))
        success = prediction.done and prediction.reward >= self.success_reward
        return Feedback(prediction.observation, {"outcome": prediction.reward}, terminated=prediction.done,
                        success=success, info=info)

    def step(self, action: Any):
        observation, reward, terminated, truncated, info = super().step(action)
        self._turns += 1
        if not terminated and (self._truncate or self._turns >= self.turn_budget):
            if not self._truncate:
                info["out_of_turns"] = True
            self.end_episode()
            truncated = True
        return observation, reward, terminated, truncated, info

    # ------------------------------------------------------------------ the real environment
    def _replay_real(self) -> dict[str, Any] | None:
        """Step the real environment with the actions it has not seen; its last answer."""
        answer = None
        while self._real_live and self._replayed < len(self._actions):
            action = self._actions[self._replayed]
            self._replayed += 1
            try:
                observation, reward, terminated, truncated, _ = self._real.step(action)
            except Exception:  # noqa: BLE001 - an ended or broken real episode stops the comparison
                self._real_live = False
                return None
            text = observation.get("text", "") if isinstance(observation, dict) else str(observation)
            answer = {"observation": text, "reward": float(reward), "terminated": bool(terminated),
                      "truncated": bool(truncated)}
            if terminated or truncated:
                self._real_live = False
        return answer

    def oracle_action(self) -> str:
        """The real environment's oracle, on the real environment replayed with this episode's
        actions (see the module docstring). A rewritten task (a curriculum's text variation) has
        none: ``NotImplementedError``, as for an environment without an oracle."""
        if self._task is not None and self._task.rewrite is not None:
            raise NotImplementedError("a rewritten task (a curriculum's text variation) has no oracle: "
                                      "the real environment cannot play it")
        self._replay_real()
        return self._real.unwrapped.oracle_action()

    def random_action(self, rng: random.Random) -> str:
        return self._real.unwrapped.random_action(rng)

    @property
    def reference_answer(self) -> str | None:
        if not self.reveal_answer or (self._task is not None and self._task.rewrite is not None):
            return None
        return getattr(self._real.unwrapped, "reference_answer", None)

    @property
    def answer_stub(self) -> str | None:
        return getattr(self._real.unwrapped, "answer_stub", None)

    def render_text(self) -> str:
        return (f"Synthetic {self.env_id} ({self.model.name}), task {self._task_id}, turn {self._turns}/"
                f"{self.turn_budget}\n{super().render_text()}")

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._real.close()


# ------------------------------------------------------------------ arguments as data
def _mentions(text: str, answer: str) -> bool:
    """``answer`` appears in ``text`` as a whole word or phrase, in any case."""
    return re.search(rf"(?<!\w){re.escape(answer.strip())}(?!\w)", text, re.IGNORECASE) is not None


def experience_model_from(spec: Any, *, reward_range: Sequence[float] = (-1.0, 1.0), timeout: float = 120.0,
                          sampling: Any = None) -> ExperienceModel:
    """The :class:`ExperienceModel` an environment's ``experience_model`` argument names (see
    the module docstring); the other arguments configure one built around a policy."""
    if isinstance(sampling, dict):  # as a configuration writes it
        try:
            sampling = SamplingParams(**sampling)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"sampling: {exc}") from None
    if sampling is not None and not isinstance(sampling, SamplingParams):
        raise ConfigError(f"sampling must be SamplingParams, a dict of its fields or None, got {type(sampling).__name__}")
    reward_range = checked_reward_range("experience_model", reward_range)
    if isinstance(spec, ExperienceModel):
        return spec
    if isinstance(spec, str):
        resolved = _shared_policy(spec)
        if isinstance(resolved, ExperienceModel):
            return resolved
        key = ("experience model", spec, tuple(reward_range), timeout, sampling)
        with _SHARED_LOCK:
            if key not in _SHARED:
                _SHARED[key] = ExperienceModel(resolved, sampling=sampling, reward_range=tuple(reward_range),
                                               timeout=timeout)
            return _SHARED[key]
    if isinstance(spec, Policy):
        return ExperienceModel(spec, sampling=sampling, reward_range=tuple(reward_range), timeout=timeout)
    raise ConfigError(f"experience_model must be a Policy, an ExperienceModel, a policy spec or a "
                      f"'module:factory' string, got {type(spec).__name__}")


_SHARED: dict[Any, Any] = {}  # strings -> what they name; ("buffer", paths) -> (paths and mtimes, buffer)
_SHARED_LOCK = threading.Lock()


def _shared_policy(spec: str) -> Any:
    """A policy or experience model named by a string, made once per process."""
    with _SHARED_LOCK:
        if spec not in _SHARED:
            _SHARED[spec] = _resolve_policy(spec)
        return _SHARED[spec]


_POLICY_KINDS = ("hf", "openai", "random", "oracle", "human")  # spec prefixes that are not modules


def _resolve_policy(spec: str) -> Any:
    """What a string names: ``"package.module:factory"`` (a zero-argument callable, or the
    object itself) or a policy spec; a policy comes back behind a :class:`BatchingPolicy`."""
    from agentgym.policies.specs import make_policy

    module, colon, name = spec.partition(":")
    if (colon and module not in _POLICY_KINDS and all(part.isidentifier() for part in module.split("."))
            and name.isidentifier()):
        try:
            target = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"experience_model {spec!r}: cannot import it ({exc})") from None
        made = target() if callable(target) and not isinstance(target, (Policy, ExperienceModel)) else target
        if not isinstance(made, (Policy, ExperienceModel)):
            raise ConfigError(f"experience_model {spec!r} gave {type(made).__name__}, not a Policy or ExperienceModel")
    else:
        try:
            made = make_policy(spec)
        except ValueError as exc:
            raise ConfigError(f"experience_model: {exc}") from None
    if isinstance(made, Policy) and not isinstance(made, BatchingPolicy):
        made = BatchingPolicy(made)
    return made


def buffer_from(spec: Any) -> ReplayBuffer:
    """The :class:`ReplayBuffer` an environment's ``buffer`` argument names (see the module
    docstring)."""
    if spec is None:
        return ReplayBuffer()
    if isinstance(spec, ReplayBuffer):
        return spec
    paths = [spec] if isinstance(spec, (str, os.PathLike)) else spec
    if isinstance(paths, (list, tuple)) and paths and all(isinstance(p, (str, os.PathLike)) for p in paths):
        key = tuple((os.path.abspath(p), _mtime(p)) for p in paths)
        return _shared_buffer(key)
    raise ConfigError(f"buffer must be a ReplayBuffer, None or trajectory JSONL path(s), got {spec!r:.200}")


def _mtime(path: Any) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


def _shared_buffer(key: tuple[tuple[str, int], ...]) -> ReplayBuffer:
    """The buffer of these files (as of these modification times), read once per process. Files
    modified since the last read are read anew, and that buffer replaces the stale one here
    (environments that hold it keep it): a file that keeps growing costs one buffer, not one
    per modification."""
    paths = ("buffer", tuple(path for path, _ in key))
    with _SHARED_LOCK:
        entry = _SHARED.get(paths)
        if entry is None or entry[0] != key:
            entry = _SHARED[paths] = (key, ReplayBuffer.from_jsonl(list(paths[1])))
        return entry[1]


def close_shared() -> None:
    """Close the policies made from strings in this process and forget them and the buffers
    read from paths (the next environment makes them anew)."""
    with _SHARED_LOCK:
        made = list(_SHARED.values())
        _SHARED.clear()
    policies = {id(p): p for p in (v.policy if isinstance(v, ExperienceModel) else v for v in made)
                if isinstance(p, Policy)}  # not the (modification times, buffer) entries
    for policy in policies.values():
        try:
            policy.close()
        except Exception:  # noqa: BLE001 - closing the others matters more
            pass
