"""Registering, finding and making environments.

agentgym environments live in Gymnasium's own registry under namespaced, versioned ids such as
``games/Wordle-v0``, so ``gymnasium.make("games/Wordle-v0")`` works. This module keeps, beside
each Gymnasium spec, what agentgym knows about the environment (family, tags, description,
turn budget) and adds:

* :func:`register` — a class, a factory or an ``"module:Class"`` entry-point string;
* :func:`make` — ``gymnasium.make`` plus agentgym's default wrappers;
* :func:`list_envs` — the registered environments, filtered by family and tags;
* plugin discovery — third-party packages declare an entry point in the group
  ``agentgym.envs`` whose target is a module or a zero-argument callable that registers their
  environments. Gymnasium 1.x dropped its own plugin mechanism; this is agentgym's.
"""

from __future__ import annotations

import dataclasses
import difflib
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable, Iterable, Sequence

import gymnasium as gym

ENTRY_POINT_GROUP = "agentgym.envs"
_UNSET: Any = object()


@dataclass(frozen=True)
class EnvInfo:
    """agentgym's record of a registered environment."""

    id: str
    entry_point: str | Callable[..., gym.Env]
    family: str
    tags: tuple[str, ...] = ()
    description: str = ""
    max_turns: int | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The id without its namespace, e.g. ``Wordle-v0``."""
        return self.id.split("/", 1)[-1]


_ENVS: dict[str, EnvInfo] = {}
_plugins_loaded = False


def register(
    id: str,
    entry_point: str | Callable[..., gym.Env],
    *,
    family: str | None = None,
    tags: Iterable[str] = (),
    description: str = "",
    max_turns: int | None = None,
    kwargs: dict[str, Any] | None = None,
    nondeterministic: bool = False,
) -> EnvInfo:
    """Register an environment with Gymnasium and agentgym.

    Args:
        id: ``"namespace/Name-vN"``; the namespace is the default ``family``.
        entry_point: the environment class, a factory returning a ``gymnasium.Env``, or an
            ``"package.module:Class"`` string (imported only when the environment is made).
        family: ``games``, ``web``, ``search``, ``tools``, ``gui`` or your own.
        tags: free-form labels to filter on (``"hidden-answer"``, ``"two-player"``...).
        description: one line for tables and ``agentgym info``.
        max_turns: the turn budget ``make`` enforces with :class:`~agentgym.wrappers.TurnLimit`
            (also Gymnasium's ``max_episode_steps``).
        kwargs: default constructor arguments.
        nondeterministic: the environment is not reproducible from its seed.
    """
    namespace, name, version = gym.envs.registration.parse_env_id(id)
    if version is None:
        raise ValueError(f"environment id {id!r} needs a version suffix, e.g. {id}-v0")
    if family is None:
        if namespace is None:
            raise ValueError(f"give a family for {id!r} or a namespaced id like 'games/{id}'")
        family = namespace
    if max_turns is not None and max_turns < 1:
        raise ValueError(f"max_turns must be a positive integer, got {max_turns}")
    if id in gym.registry:
        gym.registry.pop(id)  # re-registering replaces, as in a notebook that reruns a cell
    gym.register(
        id=id,
        entry_point=entry_point,
        kwargs=dict(kwargs or {}),
        max_episode_steps=max_turns,
        nondeterministic=nondeterministic,
    )
    record = EnvInfo(id, entry_point, family, tuple(tags), description, max_turns, dict(kwargs or {}))
    _ENVS[id] = record
    return record


def env_info(id: str) -> EnvInfo:
    """The agentgym record of ``id``; raises ``KeyError`` with suggestions if unknown."""
    load_plugins()
    try:
        return _ENVS[id]
    except KeyError:
        raise KeyError(_unknown_id_message(id)) from None


def list_envs(family: str | None = None, tags: Iterable[str] = ()) -> list[EnvInfo]:
    """Registered environments, sorted by id, optionally of one family and with all ``tags``."""
    load_plugins()
    wanted = set(tags)
    return sorted(
        (
            e
            for e in _ENVS.values()
            if (family is None or e.family == family) and wanted.issubset(e.tags)
        ),
        key=lambda e: e.id,
    )


def families() -> list[str]:
    """The families that have at least one registered environment."""
    return sorted({e.family for e in list_envs()})


def make(
    id: str,
    *,
    max_turns: int | None = _UNSET,
    episode_statistics: bool = False,
    wrappers: Sequence[Callable[[gym.Env], gym.Env]] = (),
    **kwargs: Any,
) -> gym.Env:
    """Make an environment with agentgym's default wrapper: the turn budget.

    The stack is ``TurnLimit(w_n(...w_1(env)))``: your ``wrappers`` (e.g.
    ``[AnswerFormat, ToolCalling]`` or ``functools.partial`` objects of them) are applied first,
    in order, so that the turn budget counts every action — tool calls and format errors too.
    The budget is the registered ``max_turns`` unless given (``None`` disables it). With
    ``episode_statistics=True`` an :class:`~agentgym.wrappers.EpisodeStatistics` goes on top and
    ``info["episode"]`` summarises each episode when it ends (off by default, as in Gymnasium:
    the rollout engine and ``agentgym eval`` keep their own statistics, and the default stack
    stays one thin layer). Gymnasium's passive checker and order enforcer are left out:
    :class:`~agentgym.core.LLMEnv` checks the call order itself, and ``check_env`` runs in the
    test suite instead of on every episode.

    Keyword arguments go to the environment's constructor.
    """
    from agentgym.wrappers import EpisodeStatistics, TurnLimit

    info = env_info(id)
    spec = dataclasses.replace(gym.spec(id), order_enforce=False, max_episode_steps=None)
    env = gym.make(spec, disable_env_checker=True, **kwargs)
    for wrap in wrappers:
        env = wrap(env)
    turns = info.max_turns if max_turns is _UNSET else max_turns
    if turns is not None:
        env = TurnLimit(env, turns)
    if episode_statistics:
        env = EpisodeStatistics(env)
    return env


def load_plugins(*, reload: bool = False) -> None:
    """Import the environment packages that declare the ``agentgym.envs`` entry-point group.

    A plugin that fails to load is reported with a warning and skipped, so one broken package
    cannot break agentgym.
    """
    global _plugins_loaded
    if _plugins_loaded and not reload:
        return
    _plugins_loaded = True
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            target = entry.load()
            if callable(target):
                target()
        except Exception as exc:  # noqa: BLE001 - a plugin's bug must not break the registry
            warnings.warn(
                f"agentgym: environment plugin {entry.name!r} ({entry.value}) failed to load: {exc!r}",
                stacklevel=2,
            )


def _unknown_id_message(id: str) -> str:
    known = list(_ENVS)
    close = difflib.get_close_matches(id, known, n=3, cutoff=0.5)
    if not close:
        bare = id.split("/")[-1].lower()
        close = [k for k in known if bare and bare in k.lower()][:3]
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return f"no environment registered as {id!r}.{hint} `agentgym list` shows them all."
