"""Registering, finding and making environments.

agentgym environments live in Gymnasium's own registry under namespaced, versioned ids such as
``games/Wordle-v0``, so ``gymnasium.make("games/Wordle-v0")`` works. This module keeps, beside
each Gymnasium spec, what agentgym knows about the environment (family, tags, description,
turn budget) and adds:

* :func:`register` — a class, a factory or an ``"module:Class"`` entry-point string;
* :func:`make` — ``gymnasium.make`` plus agentgym's default wrappers;
* :func:`list_envs` — the registered environments, filtered by family and tags;
* plugin discovery — third-party packages declare an entry point in the group
  ``agentgym.envs`` (environments) or ``agentgym.suites`` (benchmark suites) whose target is a
  module or a zero-argument callable that registers them, e.g. in ``pyproject.toml``::

      [project.entry-points."agentgym.envs"]
      my_envs = "my_package.envs:register_all"

      [project.entry-points."agentgym.suites"]
      my_suites = "my_package.suites"

  Environment plugins load before suite plugins, so a suite may name a plugin's environments.
  Gymnasium 1.x dropped its own plugin mechanism; this is agentgym's.
* :func:`import_user_module` — what ``agentgym --import MODULE`` runs: import a module (or a
  ``.py`` file) whose ``register``/``register_suite`` calls then take effect.

An id is registered once: registering an existing id again with a different entry point or
settings raises :class:`~agentgym.core.ConfigError` (so a plugin cannot silently hijack
``games/Wordle-v0``) unless ``override=True`` is passed, which replaces it with a warning.
Registering exactly the same thing twice is a no-op, and so is registering a class or factory
defined again by the same code (a notebook cell or a script run again); an edited definition
is a different entry point.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import functools
import importlib
import importlib.util
import inspect
import sys
import warnings
from pathlib import Path
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import gymnasium as gym

from agentgym.core import ConfigError, is_int
from agentgym.same_definition import same_definition

ENTRY_POINT_GROUP = "agentgym.envs"
SUITE_ENTRY_POINT_GROUP = "agentgym.suites"
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
    override: bool = False,
) -> EnvInfo:
    """Register an environment with Gymnasium and agentgym.

    Args:
        id: ``"namespace/Name-vN"``; the namespace is the default ``family``.
        entry_point: the environment class, a factory returning a ``gymnasium.Env``, or an
            ``"package.module:Class"`` string (imported only when the environment is made; its
            form is checked here: a dotted module path, one ``:``, one name).
        family: ``games``, ``web``, ``search``, ``tools``, ``gui`` or your own.
        tags: free-form labels to filter on (``"hidden-answer"``, ``"two-player"``...).
        description: one line for tables and ``agentgym info``.
        max_turns: the turn budget ``make`` enforces with :class:`~agentgym.wrappers.TurnLimit`
            (also Gymnasium's ``max_episode_steps``).
        kwargs: default constructor arguments.
        nondeterministic: the environment is not reproducible from its seed.
        override: replace an environment already registered under ``id`` (with a warning).
            Without it, registering a taken id with a different entry point or settings
            raises :class:`~agentgym.core.ConfigError`; the very same registration again is a
            no-op (a module imported twice, a notebook cell rerun with an unchanged class).

    Raises:
        ConfigError: a malformed id or argument, or an id that is already taken.
    """
    if not isinstance(id, str):
        raise ConfigError(f"register: the environment id must be a string like 'games/Wordle-v0', got {id!r}")
    if not (isinstance(entry_point, str) or callable(entry_point)):
        raise ConfigError(f"register({id!r}): entry_point must be a class, a factory or a 'module:Class' "
                          f"string, got {entry_point!r}")
    if isinstance(entry_point, str) and not _is_entry_point_string(entry_point):
        raise ConfigError(f"register({id!r}): an entry-point string needs the form 'package.module:Class', "
                          f"got {entry_point!r}")
    if max_turns is not None and (not is_int(max_turns) or max_turns < 1):
        raise ConfigError(f"register({id!r}): max_turns must be a positive integer or None, got {max_turns!r}")
    tags = _checked_tags(f"register({id!r})", tags)
    if family is not None and (not isinstance(family, str) or not family):
        raise ConfigError(f"register({id!r}): family must be a non-empty string, got {family!r}")
    if not isinstance(description, str):
        raise ConfigError(f"register({id!r}): description must be a string, got {description!r}")
    if kwargs is not None and not isinstance(kwargs, dict):
        raise ConfigError(f"register({id!r}): kwargs must be a dict of constructor arguments, got {kwargs!r}")
    bad_names = [key for key in kwargs or {} if not isinstance(key, str)]
    if bad_names:
        raise ConfigError(f"register({id!r}): constructor argument names must be strings, got {bad_names[0]!r:.60}")
    for flag, value in (("nondeterministic", nondeterministic), ("override", override)):
        if not isinstance(value, bool):
            raise ConfigError(f"register({id!r}): {flag} must be True or False, got {value!r}")
    if ":" in id:  # gymnasium.make("a:b/C-v0") imports a module "a" and makes "b/C-v0"
        raise ConfigError(f"register: environment id {id!r} holds a ':', which gymnasium.make reads as "
                          f"'module:id'; pick an id without one")
    try:
        namespace, name, version = gym.envs.registration.parse_env_id(id)
    except gym.error.Error as exc:
        raise ConfigError(f"register: malformed environment id {id!r}: {exc}") from None
    if version is None:
        stem, marker, after = id.rpartition("-v")
        tried = marker and (not stem or stem.endswith("/") or after[:1].isdigit() or after[:1] == "-")
        if not tried:  # no version written (a -v inside the name, like Move-vertical, is no try)
            raise ConfigError(f"environment id {id!r} needs a version suffix, e.g. {id}-v0")
        raise ConfigError(f"environment id {id!r} is malformed: write a name, then -v and a whole number "
                          f"(e.g. 'games/Wordle-v0')")
    canonical = gym.envs.registration.get_env_id(namespace, name, version)
    if canonical != id:  # Gymnasium files the spec under its own spelling: make(id) would not find it
        raise ConfigError(f"register: environment id {id!r} is not written as Gymnasium writes it: "
                          f"write {canonical!r}")
    if family is None:
        if namespace is None:
            raise ConfigError(f"give a family for {id!r} or a namespaced id like 'games/{id}'")
        family = namespace
    record = EnvInfo(id, entry_point, family, tags, description, max_turns, dict(kwargs or {}))
    if id in _ENVS or id in gym.registry:
        existing = _ENVS.get(id)
        # The same registration again: equal settings, and the same entry point or the same
        # definition of it made again (a notebook cell or a script run twice).
        if existing is not None and same_definition(existing, record) \
                and gym.spec(id).nondeterministic == nondeterministic:
            return existing
        holder = f"by {_describe(existing.entry_point)}" if existing else "directly with Gymnasium"
        if not override:
            raise ConfigError(
                f"register: {id!r} is already registered {holder}; pick another id (e.g. "
                f"{_next_version(id)}), or pass override=True to replace it"
            )
        warnings.warn(f"agentgym: {id!r} was registered {holder} and is now replaced by {_describe(entry_point)} "
                      f"(override=True)", stacklevel=2)
        gym.registry.pop(id)
    gym.register(
        id=id,
        entry_point=entry_point,
        kwargs=dict(kwargs or {}),
        max_episode_steps=max_turns,
        nondeterministic=nondeterministic,
    )
    _ENVS[id] = record
    return record


def _is_entry_point_string(entry_point: str) -> bool:
    """Whether ``entry_point`` has the form Gymnasium loads, ``package.module:Name``: a dotted
    module path, one ``:``, one attribute name."""
    module, colon, attribute = entry_point.partition(":")
    return (bool(colon) and attribute.isidentifier()
            and all(part.isidentifier() for part in module.split(".")))


def _checked_tags(where: str, tags: Any) -> tuple[str, ...]:
    """``tags`` as a tuple of strings, or a :class:`ConfigError` naming ``where`` (one string is
    no list of tags: iterated, it would be its letters; nor is ``None`` or another value that
    cannot be iterated)."""
    if isinstance(tags, str):
        raise ConfigError(f"{where}: tags must be a list of strings, got the string {tags!r}")
    if not isinstance(tags, Iterable):
        raise ConfigError(f"{where}: tags must be a list of strings, got {tags!r:.80}")
    tags = tuple(tags)
    if any(not isinstance(tag, str) for tag in tags):
        raise ConfigError(f"{where}: tags must be strings, got {tags!r}")
    return tags


def _describe(entry_point: Any) -> str:
    if isinstance(entry_point, str):
        return entry_point
    return f"{getattr(entry_point, '__module__', '?')}:{getattr(entry_point, '__qualname__', repr(entry_point))}"


def _next_version(id: str) -> str:
    stem, _, version = id.rpartition("-v")
    return f"{stem}-v{int(version) + 1}" if version.isdigit() else f"{id}-v0"


def env_info(id: str) -> EnvInfo:
    """The agentgym record of ``id``; raises ``KeyError`` with suggestions if unknown (and
    :class:`~agentgym.core.ConfigError` if ``id`` is not a string)."""
    if not isinstance(id, str):
        raise ConfigError(f"the environment id must be a string like 'games/Wordle-v0', got {id!r}")
    load_plugins()
    try:
        return _ENVS[id]
    except KeyError:
        raise KeyError(_unknown_id_message(id)) from None


def is_registered(id: str) -> bool:
    """Whether ``id`` is registered with agentgym (plugins included)."""
    load_plugins()
    return id in _ENVS


def list_envs(family: str | None = None, tags: Iterable[str] = ()) -> list[EnvInfo]:
    """Registered environments, sorted by id, optionally of one family and with all ``tags``
    (a list of strings: :class:`ConfigError` for one string, ``None`` or another value that is no
    list; and for a ``family`` that is no string)."""
    if family is not None and not isinstance(family, str):
        raise ConfigError(f"list_envs: family must be a family name such as 'games' or None, got {family!r:.80}")
    wanted = set(_checked_tags("list_envs", tags))
    load_plugins()
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


def _make_remote(id: str, server: str, max_turns: Any, episode_statistics: bool,
                 wrappers: Sequence[Callable[[gym.Env], gym.Env]], kwargs: dict[str, Any]) -> gym.Env:
    """``make(id, server=...)``: a :class:`~agentgym.remote.RemoteEnv`, wrapped by ``wrappers``."""
    if episode_statistics:
        raise ConfigError(f"make({id!r}, server=...): episode_statistics is not available for a remote env; "
                          "wrap it yourself: EpisodeStatistics(make(...))")
    try:
        from agentgym.remote.client import RemoteEnv
    except ImportError as exc:
        raise ConfigError(f"make({id!r}, server=...) needs the serve extra: pip install 'agentgym[serve]' "
                          f"({exc})") from None
    if max_turns is not _UNSET:
        kwargs = {**kwargs, "max_turns": max_turns}
    return _wrapped(f"make({id!r}, server=...)", RemoteEnv(id, server=server, **kwargs), wrappers)


def checked_wrappers(where: str, wrappers: Any) -> tuple[Callable[[gym.Env], gym.Env], ...]:
    """``wrappers`` (a list of wrapper classes or callables taking the env; ``None`` is none) as a
    tuple, read once (a generator too), or a :class:`ConfigError` naming, after ``where`` (e.g.
    ``make('games/Wordle-v0')``), what is not a wrapper: it would fail every environment made."""
    if wrappers is None:
        return ()
    if isinstance(wrappers, (str, bytes, Mapping)) or not isinstance(wrappers, Iterable):
        raise ConfigError(f"{where}: wrappers must be a list of wrapper classes or callables, got {wrappers!r:.80} "
                          f"(a registered wrapper by name is WrapperSpec(name, kwargs))")
    wrappers = tuple(wrappers)
    for wrap in wrappers:
        if not callable(wrap):
            raise ConfigError(f"{where}: every item of wrappers must be a wrapper class or a callable taking the "
                              f"env, got {wrap!r:.80} (a registered wrapper by name is WrapperSpec(name, kwargs))")
    return wrappers


def _wrapped(where: str, env: gym.Env, wrappers: Sequence[Callable[[gym.Env], gym.Env]]) -> gym.Env:
    """``env`` inside ``wrappers`` (the first innermost); closed if one of them raises or returns
    something that is not an environment (a :class:`ConfigError` after ``where`` naming it:
    e.g. a function that wraps and forgets to return)."""
    try:
        for wrap in wrappers:
            wrapped = wrap(env)
            if not isinstance(wrapped, gym.Env):
                raise ConfigError(f"{where}: the wrapper {_describe(wrap)} returned {wrapped!r:.80}, not an "
                                  f"environment (a wrapper takes the env and returns the wrapped env)")
            env = wrapped
    except BaseException:
        env.close()
        raise
    return env


def make(
    id: str,
    *,
    max_turns: int | None = _UNSET,
    episode_statistics: bool = False,
    wrappers: Sequence[Callable[[gym.Env], gym.Env]] = (),
    server: str | None = None,
    tool_calling: bool = True,
    **kwargs: Any,
) -> gym.Env:
    """Make an environment with agentgym's default wrappers: tool calling and the turn budget.

    With ``server`` (an environment server's URL, ``agentgym serve-env``) the environment runs
    there instead: ``make(id, server=URL, **kwargs)`` is ``RemoteEnv(id, server=URL, **kwargs)``
    (:class:`~agentgym.remote.RemoteEnv`; ``api_key``, ``timeout``, ``max_turns`` and the
    constructor's arguments go to it; ``wrappers`` wrap the remote env; ``episode_statistics``
    is refused with a server, as the server applies the turn budget; the server's own ``make``
    adds the tool calling, so ``tool_calling`` has no effect there).

    The stack is ``TurnLimit(w_n(...w_1(env)))``: your ``wrappers`` (e.g.
    ``[AnswerFormat, ToolCalling]`` or ``functools.partial`` objects of them) are applied first,
    in order, so that the turn budget counts every action — tool calls and format errors too.
    The budget is the registered ``max_turns`` unless given (``None`` disables it). With
    ``episode_statistics=True`` an :class:`~agentgym.wrappers.EpisodeStatistics` goes on top and
    ``info["episode"]`` summarises each episode when it ends (off by default, as in Gymnasium:
    the rollout engine and ``agentgym eval`` keep their own statistics, and the default stack
    stays one thin layer). An environment that has tools (``env.unwrapped.all_tools()`` is not
    empty: static tools, ``@tool`` methods, toolsets) gets a
    :class:`~agentgym.wrappers.ToolCalling` as the outermost of the inner wrappers —
    ``TurnLimit(ToolCalling(w_n(...)))`` — unless one is already in the stack or
    ``tool_calling=False``, so ``agentgym eval``, ``evaluate()`` and the trainer run its tools
    without extra wrappers (an environment without tools, every game, is unchanged).
    Gymnasium's passive checker and order enforcer are left out:
    :class:`~agentgym.core.LLMEnv` checks the call order itself, and ``check_env`` runs in the
    test suite instead of on every episode.

    Keyword arguments go to the environment's constructor; a name the constructor does not take
    raises :class:`~agentgym.core.ConfigError` listing the ones it does, and so does an argument
    it requires (no default) that neither the registration nor the call gives.
    """
    from agentgym.wrappers import EpisodeStatistics, TurnLimit

    for flag, value in (("tool_calling", tool_calling), ("episode_statistics", episode_statistics)):
        if not isinstance(value, bool):
            raise ConfigError(f"make({id!r}): {flag} must be True or False, got {value!r:.80}")
    wrappers = checked_wrappers(f"make({id!r})", wrappers)
    if server is not None and (not isinstance(server, str) or not server.strip()):
        raise ConfigError(f"make({id!r}): server must be an environment server's URL (a string such as "
                          f"'http://127.0.0.1:8000') or None, got {server!r:.80}")
    if max_turns is not _UNSET and max_turns is not None and (not is_int(max_turns) or max_turns < 1):
        raise ConfigError(f"make({id!r}): max_turns must be a positive integer or None, got {max_turns!r}")
    if server is not None:
        return _make_remote(id, server, max_turns, episode_statistics, wrappers, kwargs)
    info = env_info(id)
    spec = dataclasses.replace(gym.spec(id), order_enforce=False, max_episode_steps=None)
    _check_constructor_arguments(id, spec.entry_point, {**spec.kwargs, **kwargs})
    try:
        env = gym.make(spec, disable_env_checker=True, **kwargs)
    except ConfigError as exc:  # gymnasium re-raises TypeErrors with its own suffix: keep ours
        if isinstance(exc.__cause__, ConfigError):
            raise exc.__cause__ from None
        raise
    # The user's wrappers, then the defaults (tool calling asks the environment for its tools,
    # which may fail): the environment is closed if any of them fails.
    turns = info.max_turns if max_turns is _UNSET else max_turns
    defaults = [with_tool_calling] if tool_calling else []
    if turns is not None:
        defaults.append(functools.partial(TurnLimit, max_turns=turns))
    if episode_statistics:
        defaults.append(EpisodeStatistics)
    return _wrapped(f"make({id!r})", env, [*wrappers, *defaults])


def with_tool_calling(env: gym.Env) -> gym.Env:
    """``ToolCalling(env)`` when the environment has tools and no ``ToolCalling`` is in the
    stack yet; ``env`` otherwise."""
    from agentgym.wrappers import ToolCalling

    all_tools = getattr(env.unwrapped, "all_tools", None)
    if all_tools is None or not all_tools():
        return env
    layer = env
    while isinstance(layer, gym.Wrapper):
        if isinstance(layer, ToolCalling):
            return env
        layer = layer.env
    return ToolCalling(env)


def _constructors(entry_point: Any) -> list[Any] | None:
    """What runs when the environment is made, outermost first: for a class the ``__init__``
    of the class and of each base that defines one (Gymnasium's and ``object``'s left out),
    for a factory the factory. ``None`` when the entry point cannot be imported (``gym.make``
    reports that)."""
    if isinstance(entry_point, str):
        try:
            entry_point = gym.envs.registration.load_env_creator(entry_point)
        except Exception:  # noqa: BLE001 - gym.make reports an entry point that cannot be imported
            return None
    if inspect.isclass(entry_point):
        return [k.__dict__["__init__"] for k in entry_point.__mro__
                if "__init__" in k.__dict__ and not k.__module__.startswith(("gymnasium", "builtins"))]
    return [entry_point]


def constructor_arguments(entry_point: Any) -> dict[str, inspect.Parameter] | None:
    """The keyword arguments an environment's constructor takes, by name, or ``None`` when
    they cannot be known (a factory taking ``**kwargs``, an entry point that cannot be
    inspected).

    For a class the ``__init__`` methods of the class and its bases are followed as long as
    each passes ``**kwargs`` on, so ``Wordle`` reports ``difficulty``, ``dense_reward``,
    ``invalid_penalty``... (Gymnasium's own base classes are not looked into).
    """
    constructors = _constructors(entry_point)
    if not constructors:
        return None
    found: dict[str, inspect.Parameter] = {}
    for function in constructors:
        try:
            parameters = inspect.signature(function).parameters
        except (TypeError, ValueError):
            return None
        passes_on = False
        for name, param in parameters.items():
            if name == "self" or param.kind is param.VAR_POSITIONAL:
                continue
            if param.kind is param.VAR_KEYWORD:
                passes_on = True
                continue
            if param.kind is not param.POSITIONAL_ONLY:
                found.setdefault(name, param)
        if not passes_on:
            return found
    return None  # the last constructor passes **kwargs on to something we cannot see


def required_constructor_arguments(entry_point: Any) -> tuple[str, ...]:
    """The names an environment's constructor cannot do without: the parameters of the
    outermost constructor (see :func:`constructor_arguments`) that have no default and can be
    given by keyword. Empty when it cannot be inspected.

    Only the outermost constructor is read: a base class's required argument may be supplied
    by the subclass that calls it.
    """
    constructors = _constructors(entry_point)
    if not constructors:
        return ()
    try:
        parameters = inspect.signature(constructors[0]).parameters
    except (TypeError, ValueError):
        return ()
    keyword_kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return tuple(name for name, p in parameters.items()
                 if name != "self" and p.kind in keyword_kinds and p.default is inspect.Parameter.empty)


#: :func:`make`'s own keyword arguments (``max_turns``, ``wrappers``, ``server``...): the rest of
#: its keyword arguments go to the environment's constructor.
MAKE_ARGUMENTS = frozenset(name for name, parameter in inspect.signature(make).parameters.items()
                           if parameter.kind is inspect.Parameter.KEYWORD_ONLY)


def check_env_kwargs(env_id: str, kwargs: dict[str, Any]) -> None:
    """Check, without making the environment, that its constructor takes every name in
    ``kwargs`` and gets every argument it requires (its module is imported; values are
    checked by the constructor itself).

    Raises:
        KeyError: ``env_id`` is not registered (with the nearest ids).
        ConfigError: ``kwargs`` not a dict, a name the constructor does not take (with the
            ones it does), or a required argument that is missing.
    """
    env_info(env_id)
    if not isinstance(kwargs, dict):
        raise ConfigError(f"check_env_kwargs({env_id!r}): kwargs must be a dict of constructor arguments, "
                          f"got {kwargs!r:.80}")
    spec = gym.spec(env_id)
    _check_constructor_arguments(env_id, spec.entry_point, {**spec.kwargs, **kwargs})


@functools.lru_cache(maxsize=512)
def _cached_constructor_arguments(entry_point: Any) -> dict[str, inspect.Parameter] | None:
    return constructor_arguments(entry_point)


@functools.lru_cache(maxsize=512)
def _cached_required_arguments(entry_point: Any) -> tuple[str, ...]:
    return required_constructor_arguments(entry_point)


def _check_constructor_arguments(id: str, entry_point: Any, kwargs: dict[str, Any]) -> None:
    try:  # make() runs once per episode in a rollout: inspect each entry point once
        required = _cached_required_arguments(entry_point)
        accepted = _cached_constructor_arguments(entry_point) if kwargs else {}
    except TypeError:  # an unhashable callable
        required = required_constructor_arguments(entry_point)
        accepted = constructor_arguments(entry_point) if kwargs else {}
    missing = [name for name in required if name not in kwargs]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise ConfigError(f"{id} cannot be made without the constructor argument{plural} "
                          f"{', '.join(map(repr, missing))}")
    if accepted is None:
        return
    unknown = [name for name in kwargs if name not in accepted]
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        close = [m for name in unknown if isinstance(name, str)  # a name of another type: no match to suggest
                 for m in difflib.get_close_matches(name, accepted, n=1, cutoff=0.7)]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(
            f"{id} has no constructor argument{plural} {', '.join(map(repr, unknown))}{hint}; "
            f"it takes: {', '.join(accepted) or 'none'}"
        )


def load_plugins(*, reload: bool = False) -> None:
    """Import the packages that declare the ``agentgym.envs`` and ``agentgym.suites``
    entry-point groups (environments first, then suites).

    A plugin that fails to load — including one that tries to register an id that is already
    taken without ``override=True``, or a script-like module that calls ``sys.exit`` (an
    ``argparse`` run at import) — is reported with a warning and skipped, so one broken
    package cannot break agentgym: what it registered before failing is taken back. Entry
    points that cannot be read (a malformed ``entry_points.txt`` of any installed package)
    are reported the same way. An entry point naming an environment class (the class, not
    what registers it) is skipped with a warning, the class not called. (A
    ``KeyboardInterrupt`` still stops it.)
    """
    global _plugins_loaded
    if _plugins_loaded and not reload:
        return
    _plugins_loaded = True
    try:
        entries = [(kind, entry) for group, kind in ((ENTRY_POINT_GROUP, "environment"),
                                                     (SUITE_ENTRY_POINT_GROUP, "suite"))
                   for entry in metadata.entry_points(group=group)]
    except Exception as exc:  # noqa: BLE001 - another package's broken metadata must not break agentgym
        warnings.warn(f"agentgym: the installed packages' entry points cannot be read ({exc!r}); "
                      f"no plugin was loaded", stacklevel=2)
        return
    for kind, entry in entries:
        before = _registrations()
        try:
            target = entry.load()
            if inspect.isclass(target) and issubclass(target, gym.Env):
                warnings.warn(f"agentgym: {kind} plugin {entry.name!r} ({entry.value}) names an environment class, "
                              f"not a module or a function that registers; skipped (point the entry point at a "
                              f"function calling agentgym.register)", stacklevel=2)
                continue
            if callable(target):
                target()
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a plugin's bug must not break the registry
            _restore_registrations(before)
            warnings.warn(
                f"agentgym: {kind} plugin {entry.name!r} ({entry.value}) failed to load and was skipped: {exc!r}",
                stacklevel=2,
            )


@contextlib.contextmanager
def plugins_held() -> Iterator[None]:
    """Within the block :func:`load_plugins` loads nothing (``import agentgym`` registers the
    built-in families under it: a built-in suite looking its ids up would otherwise load the
    plugins half-way, and a plugin could take an id of a family not yet registered)."""
    global _plugins_loaded
    held, _plugins_loaded = _plugins_loaded, True
    try:
        yield
    finally:
        _plugins_loaded = held


def _registrations() -> tuple[dict[str, Any], ...]:
    """What a plugin may add to or replace: agentgym's and Gymnasium's environments, suites."""
    from agentgym import suites

    return dict(_ENVS), dict(gym.registry), dict(suites._SUITES)


def _restore_registrations(saved: tuple[dict[str, Any], ...]) -> None:
    from agentgym import suites

    for current, before in zip((_ENVS, gym.registry, suites._SUITES), saved):
        current.clear()
        current.update(before)


def import_user_module(name: str) -> Any:
    """Import ``name`` — a module (``my_envs``, ``my_pkg.envs``) or a ``.py`` file path — so
    the ``register``/``register_suite`` calls it makes take effect; what ``agentgym --import``
    does. The current directory is searched first, as ``python -m`` does. A file's folder is
    appended to ``sys.path``, so that processes started from this one (process isolation, which
    gets this ``sys.path``) import the module by its name as well.

    Raises:
        ConfigError: the module or file cannot be found, ``name`` is a folder without
            ``__init__.py`` (Python would import it as an empty namespace package that runs
            no code; the ``.py`` modules in it are named instead), or importing it raised
            :class:`ImportError` (a missing dependency) or a ``ConfigError`` (e.g. an id that
            is already registered), or a file is named like a module already imported from
            elsewhere (``json.py``: it would replace that module for the whole process).
            Other exceptions — bugs in the module — propagate.
    """
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"--import needs a module name or a .py file, got {name!r}")
    path = Path(name)
    if not name.endswith(".py") and not all(part.isidentifier() for part in name.split(".")):
        what = "is a folder" if path.is_dir() else "is neither a module name nor a .py file"
        raise ConfigError(f"--import {name}: {what}; give a module (my_envs, my_pkg.envs) or a file (my_envs.py)")
    try:
        if name.endswith(".py"):
            if not path.is_file():
                raise ConfigError(f"--import {name}: no such file")
            module_name = path.stem
            loaded = sys.modules.get(module_name)
            loaded_from = getattr(loaded, "__file__", None)
            if loaded is not None and (loaded_from is None or Path(loaded_from).resolve() != path.resolve()):
                raise ConfigError(f"--import {name}: a module named {module_name!r} is already imported (from "
                                  f"{loaded_from or 'built in'}); importing the file under that name would "
                                  f"replace it for the whole process: rename the file")
            folder = str(path.resolve().parent)
            if folder not in sys.path:
                sys.path.append(folder)
            spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(module_name, None)
                raise
            return module
        if "" not in sys.path and str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))
        imported_before = name in sys.modules
        module = importlib.import_module(name)
        if getattr(module, "__file__", None) is None and hasattr(module, "__path__"):
            if not imported_before:  # an empty namespace package: not left behind, as if imported
                sys.modules.pop(name, None)
            raise ConfigError(_namespace_package_message(name, list(module.__path__)))
        return module
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise ConfigError(f"--import {name}: no module named {exc.name!r} (run from the folder that holds "
                              f"it, or add that folder to PYTHONPATH)") from None
        raise ConfigError(f"--import {name}: it needs a module that is not installed: {exc.name!r}") from None
    except ImportError as exc:
        raise ConfigError(f"--import {name}: {exc}") from None
    except ConfigError as exc:
        message = str(exc)
        raise ConfigError(message if message.startswith("--import") else f"--import {name}: {message}") from None


def _namespace_package_message(name: str, folders: list[str]) -> str:
    """Why ``--import NAME`` of a folder without ``__init__.py`` is refused: Python imports it as
    an empty namespace package, which runs no code and so registers nothing; the modules in it
    that could be imported instead."""
    inside = sorted({f"{name}.{p.stem}" for folder in folders for p in Path(folder).glob("*.py")
                     if p.stem.isidentifier() and p.stem != "__init__"})
    where = ", ".join(folders) or name
    if inside:
        shown = ", ".join(inside[:5]) + (", ..." if len(inside) > 5 else "")
        return (f"--import {name}: {where} is a folder without __init__.py, so importing it runs no code and "
                f"registers nothing; import a module in it instead ({shown})")
    return (f"--import {name}: {where} is a folder without __init__.py and has no .py file; importing it "
            f"would register nothing (give the module that calls agentgym.register)")


def _unknown_id_message(id: str) -> str:
    """The nearest registered ids; for a namespace nothing is registered under (most often a
    user's own environments whose module was not imported), how to register them instead; for
    an id registered with Gymnasium alone (``gymnasium.register``), that it needs agentgym's."""
    shown = repr(id) if len(id) <= 200 else f"{id[:200]!r}... ({len(id)} characters)"
    if id in gym.registry:
        return (f"{shown} is registered with Gymnasium but not with agentgym: register it with "
                f"agentgym.register({shown}, ...) to make it with agentgym (or make it with gymnasium.make).")
    known = list(_ENVS)
    namespace = id.rpartition("/")[0]
    foreign = bool(namespace) and not any(k.startswith(namespace + "/") for k in known)
    close = difflib.get_close_matches(id, known, n=3, cutoff=0.8 if foreign else 0.5)
    if not close and not foreign:
        bare = id.split("/")[-1].lower()
        close = [k for k in known if bare and bare in k.lower()][:3]
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    if foreign:
        hint += (f" Nothing is registered under {namespace + '/'!r}: if these are your own environments,"
                 " import the module that registers them first (in Python `import MODULE`, on the command line"
                 " `agentgym --import MODULE COMMAND ...`).")
    return f"no environment registered as {shown}.{hint} `agentgym list` shows them all."
