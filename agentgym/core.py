"""The base class of every agentgym environment.

:class:`LLMEnv` is a real :class:`gymnasium.Env` whose actions are the agent's text and whose
observations are text (or ``{"text", "image"}`` for multimodal environments). Subclasses write
two methods and get the rest of the contract for free::

    class Echo(LLMEnv):
        instructions = "Repeat the word you are shown."

        def new_episode(self, options):          # draw a task with self.rng
            self.word = self.rng.choice(["cat", "dog"])
            return f"Word: {self.word}"

        def play(self, action):                  # one move
            if not action.strip():
                raise InvalidAction("Say a word.")
            won = action.strip() == self.word
            return Feedback("Correct!" if won else "Wrong.", {"outcome": float(won)},
                            terminated=True, success=won)

The contract ``reset`` and ``step`` then keep:

* ``reset(seed, options)`` returns ``(observation, info)``; ``info`` holds ``task_id``,
  ``instructions`` (what the agent must be told, e.g. in its system prompt) and ``tools``
  (OpenAI-style schemas, ``[]`` when the environment has none).
* ``step(action)`` returns Gymnasium's 5-tuple. ``info`` holds ``reward_components`` (the reward
  is their sum), ``error`` (``None``, or why the action was invalid) and ``success``.
* A bad action never raises: :class:`InvalidAction` raised by ``play`` (or a non-string action,
  or one longer than ``max_action_chars``) becomes an error observation with the optional
  ``invalid_penalty`` and the episode goes on. A ``str`` subclass (NumPy's ``np.str_``) is
  played as the plain string.
* Each environment owns its randomness: ``self.np_random`` (Gymnasium's) and ``self.rng``, a
  :class:`random.Random` derived from it on every seeded reset for fast scalar draws. Same
  seed, same episode; the process-global generators are never used.
* ``reference_answer`` / ``answer_stub`` expose a hidden ground truth to reward providers
  (information-gain rewards); they never appear in an observation.
* Arguments are checked where they come in: constructor arguments (``dense_reward`` must be a
  real ``bool``, ``invalid_penalty`` a number...), ``reset``'s ``seed`` (a non-negative
  integer or ``None``) and ``options`` (a dict or ``None``). A wrong one raises
  :class:`ConfigError` naming the argument — unlike a bad *action*, which never raises.
* ``random_action`` (what the random baseline plays) picks one of ``example_actions`` when the
  class declares them; an environment without them must implement ``random_action`` itself.
* ``info`` keys are typed in :mod:`agentgym.info` (:class:`~agentgym.info.ResetInfo`,
  :class:`~agentgym.info.StepInfo`); an invalid action also sets ``info["error_kind"]``
  (an :class:`~agentgym.info.ErrorKind`, ``INVALID_ACTION`` unless ``Feedback.error_kind`` says
  otherwise) beside the message in ``info["error"]``.

Asynchronous environments
-------------------------
Every hook has an async twin that defaults to the sync one: ``anew_episode``, ``aplay``,
``aacquire_resources``, ``arelease_resources``, ``aclose``. ``await env.areset(...)`` and
``await env.astep(action)`` keep the same contract as ``reset`` and ``step`` (one implementation
drives both; only the hook calls are awaited). An environment may implement only the async hooks
(an async browser driver, an MCP client): ``reset``/``step``/``close`` then run them on a private
event loop of the environment, so the synchronous API, the vector envs and the rollout engine
keep working; called from inside a running event loop they raise ``RuntimeError`` telling you to
``await env.areset(...)``/``env.astep(...)``/``env.aclose()`` instead. An environment without
async hooks keeps the loop free: ``areset``/``astep`` run ``reset``/``step`` in a worker thread.

Episode resources
-----------------
A browser page, a sandbox process, an MCP session or a database connection that one episode
uses is acquired by ``acquire_resources`` (or ``aacquire_resources``) and released by
``release_resources`` (or ``arelease_resources``). The environment guarantees:

* acquire runs at every ``reset``, before ``new_episode``; if ``acquire_resources`` raises,
  release is *not* called (acquire cleans up after itself, like ``__enter__``);
* release runs exactly once per successful acquire: when the episode terminates, when ``play``
  raises anything but :class:`InvalidAction` or returns no :class:`Feedback` (a ``TypeError``
  naming it; the episode is then over: ``step`` needs a ``reset``), when ``new_episode`` (or
  the reset's ``info``: ``instructions``, the tools) raises, when the episode is abandoned by
  a ``reset`` in the middle of it, and at ``close``/``aclose`` (e.g. after a step that raised
  or timed out). A release that raises is not retried.
* An episode truncated by :class:`~agentgym.wrappers.TurnLimit` is released on its truncating
  step (it calls ``end_episode``); one ended by another wrapper is released at the next
  ``reset`` or at ``close`` — or at once by calling ``env.unwrapped.end_episode()`` (or
  ``await env.unwrapped.aend_episode()``).
* Long-lived resources (a browser, a server process) belong in ``__init__`` and ``close``;
  a subclass that overrides ``close`` or ``aclose`` calls ``super()``'s, which releases the
  episode's resources.

Copies
------
``copy.deepcopy(env)`` and ``pickle`` copy an environment with its episode in progress (its
state, its random generators): the copy plays on from the same point, independently of the
original (a lookahead search, rollouts branching from one state). Its locks and event loops are
made anew. What cannot be copied is refused with a ``TypeError`` that says so: an episode
holding resources (a class that implements ``acquire_resources`` or its async twin, between
``reset`` and the episode's end) or an open toolset. An environment holding an object Python
cannot copy (a database connection, a shared search index) fails with Python's own ``TypeError``.

Tools
-----
An environment offers tools three ways (see :mod:`agentgym.tools`): ``tools`` (static
:class:`~agentgym.tools.Tool` objects, on the class or set in ``__init__``), ``@tool`` methods
of the environment class itself (they read the episode's state on ``self``), and ``toolsets``
(:class:`~agentgym.tools.Toolset` classes, each environment making its own instance, or
instances built in ``__init__``) whose tools share a per-episode session. ``all_tools()`` lists
them all (in that order; two tools of one name are a :class:`ConfigError`) and ``reset``
reports their schemas in ``info["tools"]``. ``tool_call_formats`` names how the agent writes
calls (:mod:`agentgym.tools.formats`; default Hermes and OpenAI). ``call_tool(name, arguments)``
(``await acall_tool(...)``) runs one call and never raises for anything the agent or the tool
did (:class:`~agentgym.tools.ToolOutcome`); the :class:`~agentgym.wrappers.ToolCalling`
wrapper, which ``agentgym.make`` adds to environments that have tools, drives it.

Toolsets live inside the episode-resource lifecycle above: each is opened at ``reset`` after
``acquire_resources`` and before ``new_episode``, and closed (in reverse order) right before
``release_resources``, exactly once per successful open, on every path that releases —
including ``close`` from another thread while one of its tools hangs. From the synchronous
API an async toolset (``aopen``/``aclose``, ``async`` tools) runs on the environment's *toolset
loop*, an event loop in a thread of its own started on first use and stopped by ``close``, so a
hung call and the ``aclose`` that ends its session run side by side on the loop the session is
bound to; a toolset opened by ``await env.areset()`` lives on that caller's loop instead.
Static ``async`` tools run where the environment's own async hooks do (its private loop).
``tool_injections()`` supplies injected tool arguments (``env`` by default).
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import math
import numbers
import random
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any, ClassVar, Coroutine, Generator, Sequence

import gymnasium as gym
from gymnasium.error import ResetNeeded

from agentgym.event_loops import running_loop
from agentgym.info import ErrorKind, ResetInfo, StepInfo
from agentgym.spaces import UnicodeText
from agentgym.tools.host import ToolHost

Observation = Any  # str, or {"text": str, "image": ndarray} for multimodal environments


class ConfigError(ValueError, TypeError):
    """A value a user gave — a constructor argument, a registry call, a command-line option —
    is wrong. The message is meant for the user: it names the argument as they wrote it and
    what would be accepted. It is a ``ValueError`` *and* a ``TypeError``, so code that catches
    either keeps working; the command line prints it as one line instead of a traceback.
    """


def check_flag(owner: str, name: str, value: Any) -> bool:
    """``value`` if it is a real ``bool``, else :class:`ConfigError` (``"yes"``, ``1`` and
    ``None`` are not flags: ``bool("no")`` is ``True``)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{owner}: {name} must be true or false, got {value!r}")
    return value


def is_finite_number(value: Any) -> bool:
    """A finite real number (any ``numbers.Real``, NumPy's included), and not a bool; an
    integer too large for a float (``10**400``) is not one."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int past float's range
        return False


def check_number(owner: str, name: str, value: Any, *, minimum: float | None = None) -> float:
    """``value`` as a finite ``float`` (not a bool, not a string), at least ``minimum``."""
    if not is_finite_number(value):
        raise ConfigError(f"{owner}: {name} must be a finite number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{owner}: {name} must be at least {minimum}, got {value!r}")
    return float(value)


def is_int(value: Any) -> bool:
    """An integer (any ``numbers.Integral``, NumPy's included), and not a bool (``True`` is an
    ``int`` to Python, never a count to a user)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(owner: str, name: str, value: Any, *, minimum: int | None = None) -> int:
    """``value`` if it is an integer (not a bool, not a float) of at least ``minimum``."""
    if not is_int(value):
        raise ConfigError(f"{owner}: {name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{owner}: {name} must be at least {minimum}, got {value!r}")
    return int(value)


def check_api_key(api_key: object) -> None:
    """``ValueError`` unless ``api_key`` is ``None`` or a string an HTTP header can carry (no line
    break or other control character, no space at either end: a header value cannot end with
    one, and a server strips the token it reads). A client given such a key fails every call; a
    server given one answers 401 to every client. The message never shows the key."""
    if api_key is None:
        return
    if not isinstance(api_key, str):
        raise ValueError(f"api_key must be a string, got {type(api_key).__name__}")
    if not api_key.isprintable():
        raise ValueError("api_key holds a line break or another control character, which no HTTP header can carry "
                         "(a key read from a file often ends with one): remove it")
    if api_key != api_key.strip():
        raise ValueError("api_key starts or ends with a space, which no HTTP header keeps: remove it")


class NoEpisodeYet(ResetNeeded, AttributeError):
    """``render()`` (``"ansi"``) or ``hint()`` before an environment's first ``reset()``: the
    state they describe (a game's board, say) does not exist yet. Both a Gymnasium
    ``ResetNeeded`` and an ``AttributeError`` (what reading that state raised before)."""


class InvalidAction(Exception):
    """Raised inside :meth:`LLMEnv.play` when the action cannot be carried out.

    The message is shown to the agent, so write it as an instruction ("Guess a number between
    1 and 100."). The environment's state must be unchanged when it is raised.
    """


@dataclass(slots=True)
class Feedback:
    """What one move did.

    Attributes:
        observation: what the agent sees next.
        rewards: the reward by component (``outcome``, ``progress``, ``invalid``...); the
            step's reward is their sum.
        terminated: the episode reached a terminal state (won, lost, solved).
        success: the task was accomplished (meaningful when the episode ends).
        error: why the action was invalid, or ``None``.
        info: extra keys merged into the step's ``info`` (not its own: ``reward_components``,
            ``error``, ``error_kind``, ``success`` come from the fields above).
        error_kind: what kind of error ``error`` is (default :attr:`ErrorKind.INVALID_ACTION`).
    """

    observation: Observation
    rewards: dict[str, float] = field(default_factory=dict)
    terminated: bool = False
    success: bool = False
    error: str | None = None
    info: dict[str, Any] | None = None
    error_kind: ErrorKind | None = None


#: The step's own info keys, made from :class:`Feedback`'s fields: ``Feedback.info`` may not set them
#: (an ``info["success"]`` beside ``success=False`` would say two things).
_STEP_INFO_FIELDS = frozenset({"reward_components", "error", "error_kind", "success"})

#: A request from the contract's program to its driver: the hook's sync name and its arguments.
_HookCall = tuple[Any, ...]
_Program = Generator[_HookCall, Any, Any]
#: The hooks that have an async twin named ``"a" + name``.
_HOOKS = ("new_episode", "play", "acquire_resources", "release_resources", "close")
# Per class: which hooks it implements only as async twins. Asked on every reset and step, and
# a class's methods do not change once it is used, so each answer is computed once.
_HAS_ASYNC_HOOKS: dict[type, bool] = {}
_ONLY_ASYNC: dict[tuple[type, str], bool] = {}
_NOT_YET = object()  # the difficulty of a task_id prefix not formatted yet
_NONE = ()  # ``tools``/``toolsets`` left empty (the one empty tuple: compared by identity)
#: :meth:`LLMEnv.hint` levels: 1 the rules, 2 a strategy, 3 a good next move
HINT_LEVELS = (1, 2, 3)


def own_copy(observation: Observation) -> Observation:
    """A multimodal observation with each value copied (an image array the environment keeps
    stays as it was, whatever the caller does in place to the one it was given); text as it is."""
    if isinstance(observation, dict):
        return {key: copy.copy(value) for key, value in observation.items()}
    return observation


def _first_sentence(text: str, limit: int = 300) -> str:
    """The first sentence of ``text`` (up to ``limit`` characters), stripped. A sentence ends
    at ``.``, ``!`` or ``?`` before a space and a word that starts no sentence of its own (a
    lower-case letter or a digit follows "e.g." and "i.e."), or at the end of the text."""
    text = " ".join(text.split())
    end = next((i + 1 for i, c in enumerate(text) if c in ".!?" and _ends_sentence(text, i + 1)), len(text))
    return text[:min(end, limit)].strip()


def _ends_sentence(text: str, after: int) -> bool:
    """Whether the punctuation right before ``text[after]`` ends a sentence."""
    if after == len(text):
        return True
    following = text[after + 1:after + 2]
    return text[after] == " " and not (following.islower() or following.isdigit())


class LLMEnv(ToolHost, gym.Env):
    """A multi-turn environment for language agents. See the module docstring for the contract.

    Args:
        difficulty: one of the class's ``difficulties``.
        dense_reward: add a ``progress`` reward component on moves that get closer to the goal
            (environments without a notion of progress ignore it).
        invalid_penalty: subtracted (as component ``invalid``) when an action is invalid; at
            least 0 (a negative one would reward invalid actions).
        max_action_chars: longer actions are rejected as invalid without being parsed.
        render_mode: ``None`` or ``"ansi"``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}
    #: The family the environment belongs to (``games``, ``web``, ``search``, ``tools``, ``gui``).
    family: ClassVar[str] = "misc"
    #: Difficulty levels, easiest first; the first is the default.
    difficulties: ClassVar[tuple[str, ...]] = ("default",)
    #: What the agent is told about the task and the format of its actions.
    instructions: ClassVar[str] = ""
    # ``tools``, ``toolsets`` and ``tool_call_formats``: see ToolHost (agentgym.tools.host).
    #: Typical actions (e.g. ``("even", "odd")``); the default ``random_action`` draws from them.
    example_actions: ClassVar[Sequence[str]] = ()
    #: Hints (:meth:`hint`): a one-line reminder of the rules (level 1; empty: the first
    #: sentence of ``instructions``) and a one-line strategy (level 2; empty: none).
    rule_reminder: ClassVar[str] = ""
    strategy_hint: ClassVar[str] = ""
    #: Constructor arguments that reach the machine the environment runs on -- its files, its
    #: processes, its network -- or weaken its isolation. The environment server refuses them
    #: from remote clients unless its operator allows them (``serve-env --allow-host-arguments``).
    host_arguments: ClassVar[frozenset[str]] = frozenset()

    observation_space = UnicodeText()
    action_space = UnicodeText(100_000)

    def __init__(
        self,
        difficulty: str | None = None,
        *,
        dense_reward: bool = False,
        invalid_penalty: float = 0.0,
        max_action_chars: int = 20_000,
        render_mode: str | None = None,
    ) -> None:
        owner = type(self).__name__
        if isinstance(self.difficulties, str) or not self.difficulties:
            raise ConfigError(f"{owner}.difficulties must name at least one level, e.g. ('easy', 'hard'), "
                              f"got {self.difficulties!r}")
        difficulty = self.difficulties[0] if difficulty is None else difficulty
        if not isinstance(difficulty, str):
            raise ConfigError(f"{owner}: difficulty must be one of {', '.join(self.difficulties)}, "
                              f"got {difficulty!r}")
        if difficulty not in self.difficulties:
            raise ConfigError(
                f"{owner}: unknown difficulty {difficulty!r}; "
                f"choose one of {', '.join(self.difficulties)}"
            )
        render_modes = list(self.metadata.get("render_modes", ()))  # a class's own metadata may lack them
        if render_mode not in (None, *render_modes):
            raise ConfigError(f"{owner}: render_mode must be None or one of {render_modes}, got {render_mode!r}")
        self.difficulty = difficulty
        self.dense_reward = check_flag(owner, "dense_reward", dense_reward)
        self.invalid_penalty = check_number(owner, "invalid_penalty", invalid_penalty, minimum=0)
        self.max_action_chars = check_int(owner, "max_action_chars", max_action_chars, minimum=1)
        self.render_mode = render_mode
        for name in ("observation_space", "action_space"):
            if name not in self.__dict__:  # each instance its own (seeding one seeded every one)
                setattr(self, name, copy.deepcopy(getattr(type(self), name)))
        self.rng = random.Random()
        self._seed: int | None = None
        self._episode = -1
        self._task_id_prefix: tuple[Any, str] = (_NOT_YET, "")  # (difficulty, task_id up to the episode)
        self._done = True
        self._last_observation: Observation = ""
        self._has_episode = False  # a reset has succeeded (render and hint need an episode)
        self._episode_resources_held = False
        self._private_loop: asyncio.AbstractEventLoop | None = None
        # Held by the worker thread of ``areset``/``astep`` (no async hooks) while it runs.
        self._worker_turn = threading.Lock()
        # No async hooks: ``reset``/``step`` take the sync fast path (see ``_reset_sync``).
        self._sync_hooks_only = not self.has_async_hooks()
        # No ``@tool`` methods and ToolHost's own tool listing: with ``tools`` and ``toolsets``
        # left empty, a reset knows there are no tools without asking (see ``_episode_started``).
        cls = type(self)
        self._plain_tool_host = (not cls._method_tools and cls.all_tools is ToolHost.all_tools
                                 and cls.toolset_instances is ToolHost.toolset_instances)
        self._init_tools()

    # ----------------------------------------------------------------- copies
    def __getstate__(self) -> dict[str, Any]:
        """What ``copy.deepcopy`` and ``pickle`` take (see "Copies" in the module docstring)."""
        state = dict(self.__dict__)
        if "_worker_turn" not in state:  # LLMEnv.__init__ never ran
            return state
        if state["_episode_resources_held"] and self._acquires_resources():
            raise TypeError(f"{type(self).__name__} cannot be copied or pickled while an episode holds its "
                            "resources (acquire_resources): copy it before reset() or after the episode has ended")
        state["_worker_turn"] = state["_private_loop"] = None
        return self._tool_state_to_copy(state)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "_worker_turn" in state:
            self._worker_turn = threading.Lock()
            self._restore_tool_state()

    @classmethod
    def _acquires_resources(cls) -> bool:
        """The class implements an acquire or release hook (sync or async) of its own."""
        return any(getattr(cls, name) is not getattr(LLMEnv, name) for name in
                   ("acquire_resources", "aacquire_resources", "release_resources", "arelease_resources"))

    # ----------------------------------------------------------------- to implement
    def new_episode(self, options: dict[str, Any]) -> Observation:
        """Draw a new task using ``self.rng`` and return the first observation."""
        raise NotImplementedError

    def play(self, action: str) -> Feedback:
        """Carry out one action; raise :class:`InvalidAction` if it cannot be carried out."""
        raise NotImplementedError

    # -------------------------------------------------------------- optional hooks
    def acquire_resources(self) -> None:
        """Acquire what one episode uses (see "Episode resources" in the module docstring)."""

    def release_resources(self) -> None:
        """Release what ``acquire_resources`` acquired. Called once per successful acquire."""

    async def anew_episode(self, options: dict[str, Any]) -> Observation:
        """Async ``new_episode``; the default calls the sync one."""
        return self.new_episode(options)

    async def aplay(self, action: str) -> Feedback:
        """Async ``play``; the default calls the sync one."""
        return self.play(action)

    async def aacquire_resources(self) -> None:
        """Async ``acquire_resources``; the default calls the sync one."""
        self.acquire_resources()

    async def arelease_resources(self) -> None:
        """Async ``release_resources``; the default calls the sync one."""
        self.release_resources()

    @classmethod
    def has_async_hooks(cls) -> bool:
        """The class implements at least one async hook itself (``aplay``, ``anew_episode``...):
        ``areset``/``astep`` then run on the caller's event loop instead of a worker thread.
        Decided once per class, on first use (every environment asks when it is made: without
        async hooks, its ``reset`` and ``step`` take a sync fast path)."""
        try:
            return _HAS_ASYNC_HOOKS[cls]
        except KeyError:
            answer = any(getattr(cls, "a" + name) is not getattr(LLMEnv, "a" + name) for name in _HOOKS)
            _HAS_ASYNC_HOOKS[cls] = answer
            return answer

    @property
    def reference_answer(self) -> str | None:
        """The hidden ground truth of this episode (for reward providers), or ``None``."""
        return None

    @property
    def answer_stub(self) -> str | None:
        """Text an agent writes right before stating the answer, e.g. ``"The secret word is "``."""
        return None

    def random_action(self, rng: random.Random) -> str:
        """A random, usually legal, action drawn with ``rng``: what the random baseline plays.

        The default picks one of the class's ``example_actions``; an environment that declares
        none must override this method (a random baseline of empty strings would be 100%
        invalid and meaningless), so the default then raises :class:`NotImplementedError`
        saying so — the random policy reports it as the episode's error.
        """
        if self.example_actions:
            return rng.choice(list(self.example_actions))
        raise NotImplementedError(
            f"{type(self).__name__} has no random_action: declare example_actions = (...) on the class "
            f"or implement random_action(self, rng) returning a random, usually legal, action"
        )

    def oracle_action(self) -> str:
        """The move of a policy that solves the task (an upper bound for evaluation)."""
        raise NotImplementedError(f"{type(self).__name__} has no oracle")

    def hint(self, level: int = HINT_LEVELS[-1]) -> str | None:
        """A hint for the current state that gives away at most ``level`` (:data:`HINT_LEVELS`):
        1 a reminder of the rules, 2 a strategy, 3 a good next move (the oracle's; none once the
        episode has ended, when the strategy or the reminder is given). The strongest hint the
        environment has at or below ``level``; ``None`` when it has none.
        For guidance when a whole group of episodes fails (Guide, Scaf-GRPO: see
        :class:`~agentgym.wrappers.Hinted`); override to give better ones."""
        if level not in HINT_LEVELS:
            raise ValueError(f"{type(self).__name__}.hint: level must be one of {HINT_LEVELS}, got {level!r}")
        self._need_episode("hint()")
        if level >= 3 and not self._done:  # an ended episode has no next move to suggest
            try:
                return f"A good next move: {self.oracle_action()}"
            except NotImplementedError:
                pass
        if level >= 2 and self.strategy_hint:
            return self.strategy_hint
        reminder = self.rule_reminder or _first_sentence(self.instructions)
        return reminder or None

    def render_text(self) -> str:
        """The current state for people; defaults to the last observation."""
        obs = self._last_observation
        return obs["text"] if isinstance(obs, dict) else str(obs)

    # ------------------------------------------------------------- gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Observation, ResetInfo]:
        try:
            sync_hooks_only = self._sync_hooks_only
        except AttributeError:
            raise self._not_initialised() from None
        if sync_hooks_only:
            return self._reset_sync(seed, options)
        self._refuse_inside_running_loop("areset(seed=..., options=...)")
        return self._drive_sync(self._reset_program(seed, options))

    def step(self, action: Any) -> tuple[Observation, float, bool, bool, StepInfo]:
        try:
            sync_hooks_only = self._sync_hooks_only
        except AttributeError:
            raise self._not_initialised() from None
        if sync_hooks_only:
            return self._step_sync(action)
        self._refuse_inside_running_loop("astep(action)")
        return self._drive_sync(self._step_program(action))

    def _not_initialised(self) -> TypeError:
        """What ``reset``/``step`` raise when ``LLMEnv.__init__`` never ran (a subclass's
        ``__init__`` that does not call ``super().__init__``)."""
        return TypeError(f"{type(self).__name__}.__init__ must call super().__init__(...): the state "
                         f"LLMEnv keeps (seeding, episode, resources) was never set up")

    async def areset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Observation, ResetInfo]:
        """``reset`` for event loops: awaits the async hooks, or, for an environment without
        any, runs ``reset`` in a worker thread so that blocking code never stalls the loop (after
        an earlier ``areset``/``astep`` whose await was cancelled while its thread still runs)."""
        if not self.has_async_hooks():
            return await asyncio.to_thread(self._in_turn, self.reset, seed=seed, options=options)
        return await self._drive_async(self._reset_program(seed, options))

    async def astep(self, action: Any) -> tuple[Observation, float, bool, bool, StepInfo]:
        """``step`` for event loops (see ``areset``)."""
        if not self.has_async_hooks():
            return await asyncio.to_thread(self._in_turn, self.step, action)
        return await self._drive_async(self._step_program(action))

    def _in_turn(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        """``call`` in a worker thread of ``areset``/``astep``, once no earlier one runs: a
        cancelled await leaves its thread running, and a reset beside the move it abandoned
        would let that move end the new episode."""
        with self._worker_turn:
            return call(*args, **kwargs)

    def end_episode(self) -> None:
        """End the current episode now and release its resources (idempotent). For wrappers
        that end an episode the environment does not see end (a turn budget)."""
        self._refuse_async_release_inside_running_loop("aend_episode()")
        self._done = True
        self._drive_sync(self._release_program())

    async def aend_episode(self) -> None:
        """``end_episode`` for event loops."""
        self._done = True
        await self._drive_async(self._release_program())

    def close(self) -> None:
        """Release the episode's resources, run an ``aclose`` the class implements alone, and
        close the private event loop. Safe to call more than once. A release that raises is
        raised once the rest is closed."""
        if not hasattr(self, "_sync_hooks_only"):  # LLMEnv.__init__ never ran: nothing to release
            return super().close()
        self._refuse_async_release_inside_running_loop("aclose()")
        self._done = True
        try:
            self._drive_sync(self._release_program())
        finally:
            self._stop_toolset_loop()
            try:
                if self._only_async("close"):
                    self._run_coroutine(self.aclose(), "close")
            finally:
                self._close_private_loop()
                super().close()

    async def aclose(self) -> None:
        """``close`` for event loops: awaits the release of the episode's resources, then runs
        a ``close`` the class implements itself (a release that raises is raised after it)."""
        if not hasattr(self, "_sync_hooks_only"):  # LLMEnv.__init__ never ran: nothing to release
            return self.close() if type(self).close is not LLMEnv.close else None
        self._done = True
        try:
            await self._drive_async(self._release_program())
        finally:
            if self._toolset_loop is not None:
                await asyncio.to_thread(self._stop_toolset_loop)
            try:
                if type(self).close is not LLMEnv.close:
                    self.close()
            finally:
                self._close_private_loop()

    @property
    def episode_active(self) -> bool:
        """An episode has started and not ended (tool calls and steps are accepted)."""
        return not self._done

    # ------------------------------------------- the contract, once, as a program
    # ``reset`` and ``step`` are written once, as generators that yield the hook calls they need
    # (``("play", action)``) and receive their results; ``_drive_sync`` runs them with the sync hooks,
    # ``_drive_async`` awaits the async ones. Everything else is shared.
    #
    # The one exception is the fast path of a class without async hooks (``has_async_hooks()``
    # false, decided once per class): ``_reset_sync`` and ``_step_sync`` take the same steps in
    # the same order, calling the sync hooks directly, because driving a generator is most of
    # the cost of a step whose move takes microseconds. Both share the helpers below (argument
    # checks, seeding, info building, release); a change to a program goes to its twin too
    # (tests/core/test_llm_env_fast_path.py compares the two).
    def _reset_program(self, seed: int | None, options: dict[str, Any] | None) -> _Program:
        seed = self._checked_reset_arguments(seed, options)
        self._done = True
        yield from self._release_program()  # an episode abandoned in the middle
        self._next_episode(seed)
        yield ("acquire_resources",)
        self._episode_resources_held = True
        try:
            for toolset in self.toolset_instances():
                yield ("_open_toolset", toolset)
            observation = yield ("new_episode", options or {})
            info = self._episode_started(observation)
        except BaseException as exc:
            error = self._carried(exc, self._hook_name("new_episode"))
            yield from self._release_after(error)
            raise error
        return observation, info

    def _reset_sync(self, seed: int | None, options: dict[str, Any] | None) -> tuple[Observation, ResetInfo]:
        """``_reset_program`` with the sync hooks called directly (no async hooks: see above)."""
        seed = self._checked_reset_arguments(seed, options)
        self._done = True
        if self._episode_resources_held or self._toolsets_open:  # (what _release_sync releases)
            self._release_sync()  # an episode abandoned in the middle, or ended by a wrapper
        self._next_episode(seed)
        self.acquire_resources()
        self._episode_resources_held = True
        try:
            if not (self._plain_tool_host and self.toolsets is _NONE):  # else there are none
                for toolset in self.toolset_instances():
                    self._call_hook("_open_toolset", toolset)
            observation = self.new_episode(options or {})
            info = self._episode_started(observation)
        except BaseException as exc:
            error = self._carried(exc, "new_episode")
            self._drive_sync(self._release_after(error))
            raise error
        return observation, info

    def _checked_reset_arguments(self, seed: int | None, options: dict[str, Any] | None) -> int | None:
        """``seed`` as an ``int`` (or ``None``); :class:`ConfigError` for a bad seed or options."""
        if seed is not None:
            seed = check_int(f"{type(self).__name__}.reset", "seed", seed, minimum=0)  # np.int64 -> int
        if options is not None and not isinstance(options, dict):
            raise ConfigError(f"{type(self).__name__}.reset: options must be a dict or None, got {options!r}")
        return seed

    def _next_episode(self, seed: int | None) -> None:
        """Reseed (on a new seed, or the first reset) and count the episode."""
        if seed is not None or self._seed is None:
            if seed is None:
                seed = secrets.randbits(63)
            super().reset(seed=seed)
            self.rng.seed(int(self.np_random.integers(2**63)))
            self._seed = seed
            self._episode = -1
            self._task_id_prefix = (_NOT_YET, "")
        self._episode += 1

    def _episode_started(self, observation: Observation) -> ResetInfo:
        """Mark the episode begun with ``observation``; the reset's ``info``.

        Per reset, only what may change is worked out: ``task_id`` up to the episode number is
        formatted once per seed (again if ``difficulty`` is replaced), and ``all_tools()`` is
        not asked when it is sure to be empty: ``tools`` and ``toolsets`` the empty tuple
        (ToolHost's defaults) in an environment without ``@tool`` methods or a tool listing of
        its own (most environments). The episode counts as begun only once ``info`` is built
        (``instructions`` or the tools may raise: the reset then fails and releases)."""
        made_for, prefix = self._task_id_prefix
        if made_for is not self.difficulty:
            made_for, prefix = self.difficulty, f"{type(self).__name__}-{self.difficulty}-{self._seed}-"
            self._task_id_prefix = made_for, prefix
        if self._plain_tool_host and self.tools is _NONE and self.toolsets is _NONE:
            tools = []
        else:
            tools = [tool.schema() for tool in self.all_tools()]
        info: ResetInfo = {"task_id": prefix + str(self._episode), "instructions": self.instructions, "tools": tools}
        self._done = False
        self._has_episode = True
        self._last_observation = own_copy(observation)
        return info

    def _step_program(self, action: Any) -> _Program:
        if self._done:
            raise ResetNeeded("call reset() before step(): the episode has ended or not started")
        try:
            if type(action) is not str or len(action) > self.max_action_chars:
                action = self._plain_action(action)
            feedback = yield ("play", action)
        except InvalidAction as exc:
            feedback = self._invalid(str(exc))
        except BaseException as exc:  # a bug, a dead resource, a cancelled (timed-out) step
            self._done = True
            error = self._carried(exc, self._hook_name("play"))
            yield from self._release_after(error)
            raise error
        try:
            info = self._record_step(feedback)
            reward = float(sum(feedback.rewards.values()))
        except Exception as exc:  # play returned no well-formed Feedback: a bug, as if it raised
            self._done = True
            error = self._malformed_feedback(feedback, self._hook_name("play")) or exc
            yield from self._release_after(error)
            raise error
        if feedback.terminated:
            yield from self._release_program()
        return feedback.observation, reward, feedback.terminated, False, info

    def _step_sync(self, action: Any) -> tuple[Observation, float, bool, bool, StepInfo]:
        """``_step_program`` with ``play`` called directly (no async hooks: see above)."""
        if self._done:
            raise ResetNeeded("call reset() before step(): the episode has ended or not started")
        try:
            if type(action) is not str or len(action) > self.max_action_chars:
                action = self._plain_action(action)
            feedback = self.play(action)
        except InvalidAction as exc:
            feedback = self._invalid(str(exc))
        except BaseException as exc:  # a bug, a dead resource, a cancelled (timed-out) step
            self._done = True
            error = self._carried(exc, "play")
            self._drive_sync(self._release_after(error))
            raise error
        try:
            info = self._record_step(feedback)
            reward = float(sum(feedback.rewards.values()))
        except Exception as exc:  # play returned no well-formed Feedback: a bug, as if it raised
            self._done = True
            error = self._malformed_feedback(feedback, "play") or exc
            self._drive_sync(self._release_after(error))
            raise error
        if feedback.terminated:
            self._release_sync()
        return feedback.observation, reward, feedback.terminated, False, info

    def _malformed_feedback(self, feedback: Any, hook: str) -> TypeError | None:
        """Why ``feedback``, which ``hook`` returned and the step could not take in, is no
        well-formed :class:`Feedback` (a ``TypeError`` naming the hook); ``None`` if it is one
        (the step's error was something else)."""
        where = f"{type(self).__name__}.{hook} must return a Feedback"
        if not isinstance(feedback, Feedback):
            return TypeError(f"{where}, got {feedback!r:.100}")
        rewards = feedback.rewards
        if not isinstance(rewards, dict) or not all(is_finite_number(v) for v in rewards.values()):
            return TypeError(f"{where} whose rewards are a dict of numbers by component, got rewards={rewards!r:.100}")
        if feedback.info is not None and not isinstance(feedback.info, dict):
            return TypeError(f"{where} whose info is a dict or None, got info={feedback.info!r:.100}")
        clash = sorted(_STEP_INFO_FIELDS.intersection(feedback.info or ()))
        if clash:
            return TypeError(f"{where} whose info leaves {clash} to the step (they come from Feedback's "
                             f"rewards, error, error_kind and success fields)")
        return None

    @classmethod
    def _hook_name(cls, hook: str) -> str:
        """How the author wrote ``hook`` for the contract program (for messages): its async
        twin if the class implements that, else the hook."""
        twin = "a" + hook
        return twin if getattr(cls, twin) is not getattr(LLMEnv, twin) else hook

    def _carried(self, error: BaseException, hook: str) -> BaseException:
        """``error`` as a step or reset raises it: a StopIteration (a ``next()`` past the end of
        an iterator), which no generator or future can carry (an awaited ``astep`` hung), as a
        RuntimeError naming ``hook``, caused by it. (An ``async`` hook's is one already, which
        says a "coroutine" raised it: named the same way.)"""
        if type(error) is RuntimeError and isinstance(error.__cause__, (StopIteration, StopAsyncIteration)):
            error = error.__cause__
        if not isinstance(error, (StopIteration, StopAsyncIteration)):
            return error
        carried = RuntimeError(f"{type(self).__name__}.{hook} raised {type(error).__name__} "
                               f"(a next() past the end of an iterator?)")
        carried.__cause__ = error
        return carried

    def _record_step(self, feedback: Feedback) -> StepInfo:
        """Take in what a move did (the episode ends if it terminated); the step's ``info``."""
        self._done = self._done or feedback.terminated  # already done: closed while ``play`` ran
        self._last_observation = own_copy(feedback.observation)
        info: StepInfo = {"reward_components": feedback.rewards, "error": feedback.error,
                          "success": feedback.success}
        if feedback.error is not None:
            info["error_kind"] = feedback.error_kind or ErrorKind.INVALID_ACTION
        if feedback.info:
            if not _STEP_INFO_FIELDS.isdisjoint(feedback.info):
                raise TypeError("Feedback.info sets a key of the step's own")  # named by _malformed_feedback
            info.update(feedback.info)  # type: ignore[typeddict-item]
        return info

    def _release_sync(self) -> None:
        """``_release_program`` with the sync hooks: the program itself when toolsets are open,
        else its last step (release the resources if held) done directly."""
        if self._toolsets_open:
            self._drive_sync(self._release_program())
        elif self._episode_resources_held:
            self._episode_resources_held = False  # first: a release that raises is not retried
            self.release_resources()

    def _release_program(self) -> _Program:
        failure: Exception | None = None
        for toolset in self._claim_open_toolsets():
            try:
                yield ("_close_toolset", toolset)
            except Exception as exc:  # noqa: BLE001 - the others are closed all the same
                failure = failure or exc
        if self._episode_resources_held:
            self._episode_resources_held = False  # first: a release that raises is not retried
            yield ("release_resources",)
        if failure is not None:
            raise failure

    def _release_after(self, error: BaseException) -> _Program:
        """Release while ``error`` propagates; a release failure is noted on ``error``."""
        try:
            yield from self._release_program()
        except Exception as release_error:  # noqa: BLE001 - the first error is the one to report
            if hasattr(error, "add_note"):  # Python >= 3.11
                error.add_note(f"and release_resources raised too: {release_error!r}")

    def _drive_sync(self, program: _Program) -> Any:
        """Run a contract program with the sync hooks (or an async-only hook's coroutine)."""
        send, value = program.send, None
        while True:
            try:
                request = send(value)
            except StopIteration as stop:
                return stop.value
            try:
                value, send = self._call_hook(*request), program.send
            except BaseException as exc:  # noqa: BLE001 - handed to the program, which re-raises
                value, send = exc, program.throw

    async def _drive_async(self, program: _Program) -> Any:
        """Run a contract program, awaiting the async hooks."""
        send, value = program.send, None
        while True:
            try:
                request = send(value)
            except StopIteration as stop:
                return stop.value
            name, *args = request
            try:
                value, send = await getattr(self, "a" + name)(*args), program.send
            except TypeError as exc:  # perhaps a twin written without ``async``: named if so
                value, send = self._awaited_no_awaitable(name, exc) or exc, program.throw
            except BaseException as exc:  # noqa: BLE001 - handed to the program, which re-raises
                value, send = exc, program.throw

    def _awaited_no_awaitable(self, hook: str, error: TypeError) -> TypeError | None:
        """The error of awaiting what the async twin of ``hook``, a plain ``def``, returned
        (``error`` raised at the ``await`` itself, not inside the hook); ``None`` otherwise."""
        twin = getattr(type(self), "a" + hook, None)
        if error.__traceback__ is None or error.__traceback__.tb_next is not None or twin is None \
                or inspect.iscoroutinefunction(twin):
            return None
        return self._not_an_async_def(hook, str(error))

    def _not_an_async_def(self, hook: str, detail: str) -> TypeError:
        """The error for an async twin of ``hook`` written as a plain ``def``."""
        return TypeError(f"{type(self).__name__}.a{hook} must be an async def (it is awaited); {detail}")

    def _call_hook(self, name: str, *args: Any) -> Any:
        if self._only_async(name):
            return self._run_coroutine(getattr(self, "a" + name)(*args), name)
        return getattr(self, name)(*args)

    @classmethod
    def _only_async(cls, name: str) -> bool:
        """The class implements the async twin of hook ``name`` but not the hook itself
        (decided once per class and hook)."""
        try:
            return _ONLY_ASYNC[cls, name]
        except KeyError:
            answer = (getattr(cls, name) is getattr(LLMEnv, name)
                      and getattr(cls, "a" + name) is not getattr(LLMEnv, "a" + name))
            _ONLY_ASYNC[cls, name] = answer
            return answer

    def _refuse_inside_running_loop(self, async_call: str) -> None:
        if self.has_async_hooks() and running_loop() is not None:
            raise RuntimeError(
                f"{type(self).__name__} has async hooks and an event loop is running in this thread: "
                f"use `await env.{async_call}` instead of the synchronous call"
            )

    def _refuse_async_release_inside_running_loop(self, async_call: str) -> None:
        # Checked before anything changes, so that the resources stay held for ``aclose``.
        self._refuse_toolset_close_inside_loop(async_call)
        if self._episode_resources_held and self._only_async("release_resources") and running_loop() is not None:
            raise RuntimeError(
                f"{type(self).__name__}.arelease_resources is async and an event loop is running in "
                f"this thread: use `await env.{async_call}` instead of the synchronous call"
            )

    def _run_coroutine(self, coroutine: Coroutine[Any, Any, Any], hook: str) -> Any:
        """Run an async-only hook from the sync API, on this environment's private loop (one
        loop for its whole life, so resources bound to a loop keep working between calls)."""
        if not inspect.isawaitable(coroutine):  # a twin written as a plain ``def``
            raise self._not_an_async_def(hook, f"it returned {coroutine!r:.80}")
        if running_loop() is not None:
            coroutine.close()
            entry = "aclose()" if hook in ("close", "release_resources") else "areset(...)/astep(...)"
            raise RuntimeError(
                f"{type(self).__name__}.a{hook} is async and an event loop is running in this thread: "
                f"use `await env.{entry}` instead of the synchronous call"
            )
        loop = self._private_loop
        if loop is None or loop.is_closed():
            loop = self._private_loop = asyncio.new_event_loop()
        elif loop.is_running():  # a timed-out call still runs on it in another thread
            temporary = asyncio.new_event_loop()
            try:
                return temporary.run_until_complete(coroutine)
            finally:
                temporary.close()
        return loop.run_until_complete(coroutine)

    def _close_private_loop(self) -> None:
        loop = self._private_loop
        if loop is not None and not loop.is_running():  # a running one is closed by its caller
            self._private_loop = None
            loop.close()

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            self._need_episode("render()")
            return self.render_text()
        return None

    def _need_episode(self, call: str) -> None:
        """:class:`NoEpisodeYet` before the first successful reset (no state to describe)."""
        if not self._has_episode:
            raise NoEpisodeYet(f"{type(self).__name__}: call reset() before {call}: no episode has started")

    # ------------------------------------------------------------------ helpers
    def _invalid(self, message: str) -> Feedback:
        rewards = {"invalid": -self.invalid_penalty} if self.invalid_penalty else {}
        text = f"Invalid action: {message}"
        last = self._last_observation
        # A multimodal environment keeps showing its last image with the error text: a copy, as
        # every observation is the caller's own (one that changes it leaves the last one alone).
        observation = {**own_copy(last), "text": text} if isinstance(last, dict) else text
        return Feedback(observation, rewards, error=message, error_kind=ErrorKind.INVALID_ACTION)

    def _plain_action(self, action: Any) -> str:
        """An action that is no plain ``str`` of at most ``max_action_chars`` characters, as one:
        a ``str`` subclass (NumPy's ``np.str_``, the items of an array of actions) as the plain
        string; :class:`InvalidAction` for anything else or a longer text."""
        if not isinstance(action, str):
            raise InvalidAction(f"the action must be text, got {type(action).__name__}")
        if len(action) > self.max_action_chars:
            raise InvalidAction(f"the action is {len(action)} characters long; the limit is {self.max_action_chars}")
        return str.__str__(action)  # the plain str of a subclass's characters
