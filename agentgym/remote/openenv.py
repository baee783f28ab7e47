"""Adapters between agentgym and OpenEnv (``openenv-core``), in both directions.

agentgym environments behind OpenEnv's own server, for OpenEnv clients::

    app = openenv_app("games/GuessTheNumber-v0", max_concurrent_envs=64)   # OpenEnv's create_app
    uvicorn.run(app, host="127.0.0.1", port=8000)

    async with AgentgymEnvClient(base_url="http://127.0.0.1:8000") as client:  # an OpenEnv EnvClient
        result = await client.reset(seed=0)
        result = await client.step(AgentgymAction(action="7"))

An OpenEnv server (any environment) as a Gymnasium env, for agentgym rollouts::

    env = OpenEnvEnv("http://127.0.0.1:8000", action_field="message", observation_field="echoed_message")
    observation, info = env.reset(seed=0)
    observation, reward, terminated, truncated, info = env.step("hello")
    env.close()

The wire shape of an agentgym environment under OpenEnv (``/ws`` messages, OpenEnv's
protocol): an action is ``{"action": <any JSON value>}``; an observation's fields are
``observation`` (the agentgym observation, encoded as by :mod:`agentgym.remote.schemas`:
text as it is, images as PNG), ``terminated``, ``truncated`` and ``info`` (JSON-safe), next to
OpenEnv's ``reward`` and ``done`` (``terminated or truncated``). OpenEnv's serializer drops an
observation's ``metadata``, so ``info`` is a field of its own. A step whose reward is not
finite is an error answer (OpenEnv's JSON would write NaN or infinity as ``null``: no reward).
:class:`OpenEnvEnv`'s defaults read exactly that shape, so ``OpenEnvEnv`` over ``openenv_app(id)`` gives what
``agentgym.make(id)`` gives, step for step.

``openenv-core`` is optional: importing this module never needs it; using any name from it
raises :class:`ImportError` naming ``pip install openenv-core`` when it is missing.
"""

from __future__ import annotations

import copy
import functools
import json
import math
from typing import Any

import gymnasium as gym

from agentgym.core import ConfigError
from agentgym.remote.client import RemoteEnvError, check_client_options, check_reset_arguments
from agentgym.remote.schemas import decode_observation, encode_observation
from agentgym.spaces import UnicodeText
from agentgym.trajectory import json_safe

_INSTALL_HINT = "agentgym.remote.openenv needs OpenEnv's package: pip install openenv-core"


def _require_openenv() -> None:
    try:
        import openenv.core  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"{_INSTALL_HINT} ({exc})") from exc


@functools.lru_cache(maxsize=1)
def _classes() -> dict[str, type]:
    """The classes that subclass OpenEnv's, made on first use (``openenv-core`` is optional)."""
    _require_openenv()
    from openenv.core.client_types import StepResult
    from openenv.core.env_client import EnvClient
    from openenv.core.env_server.interfaces import Environment
    from openenv.core.env_server.types import Action, Observation, State
    from pydantic import Field

    import agentgym

    class AgentgymAction(Action):
        """One agentgym action: any JSON value (text for language environments)."""

        action: Any = Field(description="the action given to the agentgym environment's step()")

    class AgentgymObservation(Observation):
        """What an agentgym environment's ``reset``/``step`` returned, JSON-safe."""

        observation: Any = Field(default="", description="the observation, encoded as agentgym.remote.schemas does")
        terminated: bool = Field(default=False)
        truncated: bool = Field(default=False)
        info: dict[str, Any] = Field(default_factory=dict)

    class AgentgymEnvironment(Environment):
        """An OpenEnv ``Environment`` that is ``agentgym.make(env_id, **env_kwargs)``; one per session."""

        SUPPORTS_CONCURRENT_SESSIONS = True  # every session makes its own environment

        def __init__(self, env_id: str, env_kwargs: dict[str, Any] | None = None) -> None:
            super().__init__()
            self._env = agentgym.make(env_id, **(env_kwargs or {}))
            self._state = State(episode_id=None, step_count=0)

        def reset(self, seed: int | None = None, episode_id: str | None = None,
                  options: dict[str, Any] | None = None, **kwargs: Any) -> AgentgymObservation:
            if kwargs:
                raise ValueError(f"reset takes seed, episode_id and options, not {sorted(kwargs)}")
            observation, info = self._env.reset(seed=seed, options=options)
            self._state = State(episode_id=episode_id, step_count=0)
            return AgentgymObservation(observation=encode_observation(observation), info=json_safe(info))

        def step(self, action: AgentgymAction, timeout_s: float | None = None, **kwargs: Any) -> AgentgymObservation:
            observation, reward, terminated, truncated, info = self._env.step(action.action)
            self._state.step_count += 1
            return AgentgymObservation(observation=encode_observation(observation), reward=_finite_reward(reward),
                                       done=bool(terminated or truncated), terminated=bool(terminated),
                                       truncated=bool(truncated), info=json_safe(info))

        @property
        def state(self) -> State:
            return self._state

        def close(self) -> None:
            self._env.close()

    class AgentgymEnvClient(EnvClient[AgentgymAction, AgentgymObservation, State]):
        """OpenEnv's WebSocket client for a server made by :func:`openenv_app` (an ``EnvClient``:
        ``await reset(seed=...)``, ``await step(action)``, ``.sync()`` for a blocking twin)."""

        def _step_payload(self, action: Any) -> dict[str, Any]:
            return {"action": action.action if isinstance(action, AgentgymAction) else action}

        def _parse_result(self, payload: dict[str, Any]) -> StepResult[AgentgymObservation]:
            fields = payload.get("observation", {})
            observation = AgentgymObservation(observation=fields.get("observation", ""), reward=payload.get("reward"),
                                              done=payload.get("done", False),
                                              terminated=fields.get("terminated", False),
                                              truncated=fields.get("truncated", False), info=fields.get("info", {}))
            return StepResult(observation=observation, reward=payload.get("reward"), done=payload.get("done", False))

        def _parse_state(self, payload: dict[str, Any]) -> State:
            return State(**payload)

    return {cls.__name__: cls for cls in (AgentgymAction, AgentgymObservation, AgentgymEnvironment,
                                          AgentgymEnvClient)}


def _finite_reward(reward: Any) -> float:
    """``reward`` as a float; ``ValueError`` (an error answer to the client) when it is not a
    finite number: OpenEnv's JSON writes NaN and infinity as ``null``, which a client reads as
    no reward, so the environment's fault would pass as a reward of 0."""
    value = float(reward)
    if not math.isfinite(value):
        raise ValueError(f"the environment's step returned a reward of {value!r}: a reward must be a finite number")
    return value


def __getattr__(name: str) -> Any:
    if name in ("AgentgymAction", "AgentgymObservation", "AgentgymEnvironment", "AgentgymEnvClient"):
        return _classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def openenv_app(env_id: str, *, max_concurrent_envs: int = 64, **env_kwargs: Any) -> Any:
    """OpenEnv's FastAPI app (``create_fastapi_app``: ``/ws``, ``/reset``, ``/step``, ``/health``...)
    serving ``agentgym.make(env_id, **env_kwargs)``, one environment per WebSocket session, at
    most ``max_concurrent_envs`` at once.

    ``env_id`` must be a registered id (``module:Class`` entry points are refused, as by
    agentgym's own server); raises :class:`~agentgym.core.ConfigError` otherwise. Run it with
    uvicorn; OpenEnv's server has no authentication: keep it on loopback.
    """
    from agentgym.registry import env_info

    if not isinstance(env_id, str) or ":" in env_id:
        raise ConfigError(f"openenv_app: env_id must be a registered id, got {env_id!r}")
    env_info(env_id)  # raises for an unknown id
    if type(max_concurrent_envs) is not int or max_concurrent_envs < 1:
        raise ConfigError(f"openenv_app: max_concurrent_envs must be a positive integer, got {max_concurrent_envs!r}")
    classes = _classes()
    from openenv.core.env_server.http_server import create_fastapi_app

    factory = functools.partial(classes["AgentgymEnvironment"], env_id, env_kwargs)
    return create_fastapi_app(factory, classes["AgentgymAction"], classes["AgentgymObservation"],
                              max_concurrent_envs=max_concurrent_envs)


class OpenEnvEnv(gym.Env):
    """A Gymnasium env that is one session of an OpenEnv server, driven by ``openenv-core``'s
    client (``GenericEnvClient`` over the server's ``/ws``; its sync wrapper runs an event
    loop on a thread of its own, stopped by :meth:`close`).

    Args:
        base_url: the server's root, ``http://host:port`` (or ``ws://``).
        action_field: a non-dict action is sent as ``{action_field: action}``; a dict action is
            sent as it is (the server's action schema).
        observation_field: the observation field returned as the observation (``None``: the
            whole observation dict); ``reset`` raises :class:`~agentgym.core.ConfigError` when
            the server's observation has no such field.
        timeout: seconds an answer may take; ``connect_timeout`` to connect (positive, finite).

    The constructor connects (OpenEnv opens the session with the connection) and raises
    :class:`~agentgym.remote.client.RemoteEnvError` when it cannot. ``info`` is the
    observation's ``info`` field when it has one (a dict), else its other fields;
    ``terminated``/``truncated`` are its fields of those names when present, else OpenEnv's
    ``done`` and ``False``.

    Failures follow :class:`~agentgym.remote.client.RemoteEnv`: ``step`` never raises; an
    error answer, a timeout or a dropped connection gives the observation ``"Environment server
    error: <why>"``, reward ``0.0``, ``truncated=True`` and ``info["remote_error"]`` (``"server"``
    or ``"transport"``). After a transport failure the connection is dropped (OpenEnv's
    protocol has no request ids: a late answer must not be read as the next one), and so it is
    after the error answers that end the session (the server at capacity, its environment
    factory or the session failed: the server closes the WebSocket); ``reset`` then
    reconnects, which opens a new session. ``reset`` returns the same error observation
    when the server refuses or cannot be reached; a bad argument raises
    :class:`~agentgym.core.ConfigError`. ``close`` never raises.
    """

    metadata = {"render_modes": []}
    observation_space = UnicodeText()
    action_space = UnicodeText(100_000)

    def __init__(self, base_url: str, *, action_field: str = "action", observation_field: str | None = "observation",
                 timeout: float = 30.0, connect_timeout: float = 5.0) -> None:
        _require_openenv()
        if not isinstance(base_url, str):
            raise ConfigError(f"OpenEnvEnv: base_url must be a string (http://host:port), got {base_url!r}")
        check_client_options("OpenEnvEnv", timeout=timeout, connect_timeout=connect_timeout, retries=0, backoff=0,
                             kwargs={})
        if not isinstance(action_field, str) or not action_field:
            raise ConfigError(f"OpenEnvEnv: action_field must be a non-empty string, got {action_field!r}")
        if observation_field is not None and not isinstance(observation_field, str):
            raise ConfigError(f"OpenEnvEnv: observation_field must be a string or None, got {observation_field!r}")
        self.base_url = base_url.rstrip("/")
        self.action_field, self.observation_field = action_field, observation_field
        self.timeout, self.connect_timeout = timeout, connect_timeout
        self.observation_space = copy.deepcopy(type(self).observation_space)  # each instance its own generator
        self.action_space = copy.deepcopy(type(self).action_space)
        self._client: Any = None
        try:
            self._connect()
        except Exception as exc:  # noqa: BLE001 - any failure to connect
            raise RemoteEnvError(f"cannot open an OpenEnv session on {self.base_url}: {exc}") from None

    # ------------------------------------------------------------------ transport
    def _connect(self) -> None:
        from openenv.core.generic_client import GenericEnvClient

        client = GenericEnvClient(base_url=self.base_url, connect_timeout_s=self.connect_timeout,
                                  message_timeout_s=self.timeout).sync()
        try:
            client.connect()
        except BaseException:
            self._close_client(client)
            raise
        self._client = client

    @staticmethod
    def _close_client(client: Any) -> None:
        try:
            client.close()  # sends "close", closes the socket, stops the loop thread
        except Exception:  # noqa: BLE001 - best effort; the loop thread is stopped below either way
            pass
        client._stop_loop()

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            self._close_client(client)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """One request; returns the answer's payload or raises ``(kind, message)`` as ``_Failed``."""
        if self._client is None:
            raise _Failed("transport", "no connection: reset() opens a new session")
        try:
            result = getattr(self._client, method)(*args, **kwargs)
        except RuntimeError as exc:  # OpenEnv's client: an error answer ("Server error: ... (code: CODE)")
            if str(exc).startswith("Server error"):
                if str(exc).endswith(_SESSION_REFUSED):  # the server closed the WebSocket after it
                    self._drop()
                raise _Failed("server", str(exc)) from None
            self._drop()
            raise _Failed("transport", f"{type(exc).__name__}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - a timeout or a dropped connection
            self._drop()
            raise _Failed("transport", f"{type(exc).__name__} talking to {self.base_url}: {exc}") from None
        return {"observation": result.observation, "reward": result.reward, "done": result.done}

    def _unpack(self, answer: dict[str, Any]) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        fields = answer["observation"] if isinstance(answer["observation"], dict) else {"value": answer["observation"]}
        if self.observation_field is None:
            observation = fields
        else:
            observation = decode_observation(fields.get(self.observation_field, ""))
        info = fields.get("info")
        if not isinstance(info, dict):
            info = {key: value for key, value in fields.items() if key != self.observation_field}
        truncated = bool(fields.get("truncated", False))
        terminated = bool(fields["terminated"]) if "terminated" in fields else bool(answer["done"]) and not truncated
        return observation, float(answer["reward"] or 0.0), terminated, truncated, info

    def _check_observation_field(self, answer: dict[str, Any]) -> None:
        """:class:`~agentgym.core.ConfigError` when the server's observations lack
        ``observation_field`` (every observation would be ``""``), naming the fields they have."""
        fields = answer["observation"]
        if self.observation_field is not None and isinstance(fields, dict) and self.observation_field not in fields:
            raise ConfigError(f"OpenEnvEnv: observation_field {self.observation_field!r} is not a field of "
                              f"{self.base_url}'s observations (they have {sorted(fields)}); pass one of them, "
                              f"or None for the whole observation")

    @staticmethod
    def _error(failure: "_Failed") -> tuple[str, dict[str, Any]]:
        return (f"Environment server error: {failure.message}",
                {"reward_components": {}, "error": failure.message, "success": False, "remote_error": failure.kind})

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        check_reset_arguments("OpenEnvEnv.reset", seed, options)  # before the wire: a bad one keeps the session
        super().reset(seed=seed)
        arguments: dict[str, Any] = {"seed": seed}
        if options is not None:
            arguments["options"] = options
        try:
            if self._client is None:
                try:
                    self._connect()
                except Exception as exc:  # noqa: BLE001
                    raise _Failed("transport", f"cannot connect to {self.base_url}: {exc}") from None
            answer = self._call("reset", **arguments)
            self._check_observation_field(answer)
            observation, _, _, _, info = self._unpack(answer)
        except _Failed as failure:
            text, info = self._error(failure)
            return text, {**info, "task_id": None}
        return observation, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        payload = action if isinstance(action, dict) else {self.action_field: action}
        try:
            try:
                json.dumps(payload)  # OpenEnv's client would fail inside its send: check here, keep the session
            except (TypeError, ValueError) as exc:
                raise _Failed("server", f"the action cannot be sent as JSON: {exc}") from None
            return self._unpack(self._call("step", payload))
        except _Failed as failure:
            text, info = self._error(failure)
            return text, 0.0, False, True, info

    def close(self) -> None:
        self._drop()
        super().close()


#: The error answers after which OpenEnv's server closes the WebSocket (the session was refused
#: or lost): the connection is dropped, so that the next ``reset`` opens a new session.
_SESSION_REFUSED = tuple(f"(code: {code})" for code in ("CAPACITY_REACHED", "FACTORY_ERROR", "SESSION_ERROR"))


class _Failed(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


__all__ = ["AgentgymAction", "AgentgymEnvClient", "AgentgymEnvironment", "AgentgymObservation", "OpenEnvEnv",
           "openenv_app"]
