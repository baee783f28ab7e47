"""``RemoteEnv``: a Gymnasium env whose environment lives on an agentgym environment server.

::

    env = RemoteEnv("games/Wordle-v0", server="http://127.0.0.1:8000")
    observation, info = env.reset(seed=0)
    observation, reward, terminated, truncated, info = env.step("crane")
    env.close()                                  # closes the server's session too

With the same seed it gives the same observations, rewards, ``terminated`` / ``truncated`` and
infos as ``agentgym.make(id)`` (the infos as JSON carries them: tuples become lists). The
constructor opens the session and raises :class:`RemoteEnvError` when it cannot (no server,
a refused ``env_id`` or ``kwargs``, the server full).

What happens when the server or the network fails, exactly:

- Every request has a timeout (``timeout`` seconds, ``connect_timeout`` to connect). A request
  that could not *connect* (connection refused, connect timeout) was never delivered and is
  retried ``retries`` times, with a pause of ``backoff * 2**attempt`` seconds; any other
  transport failure (a read timeout, a connection dropped mid-answer) is not retried, as the
  server may have carried out the step. Each request after a dropped connection opens a new
  one (a restarted server is reached again); an idle connection is not reused past
  ``KEEPALIVE_EXPIRY`` seconds, under the server's own keep-alive timeout.
- ``step`` never raises and never hangs past those bounds: when the server cannot be reached,
  answers an error, or lost the session (reaped, restarted), it returns an error observation
  ``"Environment server error: <why>"``, reward ``0.0``, ``terminated=False``, ``truncated=True``
  and ``info = {"reward_components": {}, "error": <why>, "success": False,
  "remote_error": <kind>}`` with ``kind`` one of ``"unreachable"`` (no connection), ``"transport"``
  (a timeout or dropped connection), ``"session_lost"`` (404), ``"server"`` (any other status).
  The episode is over for the caller (``truncated``); call ``reset`` to go on.
- ``reset`` re-opens a session when the server lost it (404: reaped or restarted), or when a
  call on it timed out or lost its connection (the server may still be running that call, a
  hung step holding the session for good: it is asked to close it, and left), then resets
  it. When that fails too it returns the same error observation and ``info`` (with ``task_id``
  ``None``) instead of raising; the next ``step`` then answers an error observation as well.
- A bad *argument* (a negative seed, options that are not a dict, or hold a value JSON cannot
  carry) is a caller's bug and raises :class:`~agentgym.core.ConfigError`, as locally.
- ``close`` deletes the session (best effort, one short request) and closes the connections;
  it never raises, and closing twice is a no-op. After it, ``step`` answers the error
  observation (``session_lost``) and ``reset`` opens a new session, as a local environment
  resets after ``close``.

Observations that hold images arrive as uint8 arrays decoded from PNG
(:mod:`agentgym.remote.schemas`).

Rendering: ``RemoteEnv(id, server=..., render_mode="ansi")`` opens the session with that
render mode (refused with :class:`RemoteEnvError` when the environment does not declare it);
``render()`` then returns what the server's environment renders, as the local one would: text
for ``"ansi"``, a uint8 ``H x W x C`` array (sent as PNG) for ``"rgb_array"``, a list for the
``*_list`` modes, ``None`` without a render mode (no request). A render the server cannot
answer (unreachable, the session lost) raises :class:`RemoteEnvError`: a frame is for people
and has no error observation to stand in for it.

What stays on the server: ``random_action(rng)`` is drawn there (a ``random.Random``'s state
travels with the request and comes back moved on, so the action and the generator afterwards
are a local draw's); ``reference_answer`` is ``None`` here (the hidden answer is the server's,
for its reward providers; the ``EnvHints`` wrapper reports it in ``info`` when asked for).
"""

from __future__ import annotations

import copy
import math
import random
import time
from typing import Any, Sequence

import gymnasium as gym
import httpx

from agentgym.core import ConfigError
from agentgym.remote.schemas import decode_frame, decode_observation, dumps
from agentgym.spaces import UnicodeText, space_from_description
from agentgym.trajectory import json_safe

_UNSET: Any = object()
KEEPALIVE_EXPIRY = 2.0  # seconds an idle connection is kept: under the server's keep-alive timeout


class RemoteEnvError(ConnectionError):
    """The session could not be opened on the server."""


class _Failure(Exception):
    def __init__(self, kind: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind, self.message, self.status = kind, message, status


class RemoteEnv(gym.Env):
    """A session of ``env_id`` on the environment server at ``server`` (see the module docstring).

    Args:
        env_id: a registered id on the server (``agentgym list``).
        server: the server's root URL, e.g. ``http://127.0.0.1:8000`` (a trailing ``/v1`` is
            accepted; an IPv6 address in brackets: ``http://[::1]:8000``); one that is no URL
            raises :class:`~agentgym.core.ConfigError`.
        api_key: sent as ``Authorization: Bearer <key>`` (UTF-8).
        max_turns: the turn budget (absent: the registered one; ``None``: none).
        timeout: seconds a request may take; ``connect_timeout`` to connect.
        retries: how many times a request that could not connect is retried.
        backoff: the first pause between such retries (doubling).
        render_mode: one of the environment's ``metadata["render_modes"]`` (see ``render``).
        wrappers / outer_wrappers: wrappers the server puts inside / outside the turn budget,
            as data (:class:`~agentgym.wrappers.WrapperSpec`, a name, or ``{"name", "kwargs"}``).
        **kwargs: the environment's constructor arguments (JSON values).
    """

    metadata = {"render_modes": []}  # the instance's are the server's environment's
    observation_space = UnicodeText()
    action_space = UnicodeText(100_000)

    def __init__(self, env_id: str, *, server: str, api_key: str | None = None, max_turns: int | None = _UNSET,
                 timeout: float = 30.0, connect_timeout: float = 5.0, retries: int = 2, backoff: float = 0.1,
                 render_mode: str | None = None, wrappers: Sequence[Any] = (), outer_wrappers: Sequence[Any] = (),
                 **kwargs: Any) -> None:
        check_client_options("RemoteEnv", timeout=timeout, connect_timeout=connect_timeout, retries=retries,
                             backoff=backoff, kwargs=kwargs)
        root = server.rstrip("/")
        self.server = root[: -len("/v1")] if root.endswith("/v1") else root
        try:
            httpx.URL(self.server)
        except httpx.InvalidURL as exc:  # an IPv6 address without its brackets, a port that is no number
            raise ConfigError(f"RemoteEnv: server {server!r} is not a URL ({exc}): e.g. http://127.0.0.1:8001, or "
                              "http://[::1]:8001") from None
        self.env_id = env_id
        self.retries, self.backoff = retries, backoff
        self._create_body: dict[str, Any] = {"env_id": env_id, "kwargs": kwargs,
                                             **wrappers_as_data(wrappers, outer_wrappers)}
        if max_turns is not _UNSET:
            self._create_body["max_turns"] = max_turns
        if render_mode is not None:
            self._create_body["render_mode"] = render_mode
        headers: dict[str, Any] = {"content-type": "application/json"}
        if api_key:  # UTF-8, as the server reads it (httpx would encode a str as ASCII and raise)
            headers["authorization"] = f"Bearer {api_key}".encode()
        # A kept-alive connection is dropped here before the server drops it (uvicorn: 5 s idle),
        # never reused in the instant the server closes it (a step lost to that race).
        self._client_options = {"base_url": self.server, "headers": headers,
                                "timeout": httpx.Timeout(timeout, connect=connect_timeout),
                                "limits": httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY)}
        self._http = httpx.Client(**self._client_options)
        self.timeout = timeout
        self.session_id: str | None = None
        self._session_in_doubt = False  # a call on it timed out or lost its connection
        self.spec_info: dict[str, Any] = {}
        try:
            self._open()
        except _Failure as failure:
            self._http.close()
            raise RemoteEnvError(f"cannot open a session of {env_id} on {self.server}: {failure.message}") from None

    # ------------------------------------------------------------------ transport
    def _request(self, method: str, path: str, body: Any = None) -> Any:
        content = dumps(body) if body is not None else None
        if self._http.is_closed:  # close() ran: a reset after it opens new connections, as before it
            self._http = httpx.Client(**self._client_options)
        for attempt in range(self.retries + 1):
            try:
                response = self._http.request(method, path, content=content)
                break
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if attempt == self.retries:
                    raise _Failure("unreachable", f"cannot connect to {self.server}: {exc}") from None
                time.sleep(self.backoff * 2**attempt)
            except httpx.TransportError as exc:
                self._session_in_doubt = True  # the server may be running the call still, the session busy
                raise _Failure("transport", f"{type(exc).__name__} talking to {self.server}: {exc}") from None
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except Exception:  # noqa: BLE001 - a body that is not ours
                message = response.text[:500]
            kind = "session_lost" if response.status_code == 404 else "server"
            raise _Failure(kind, f"HTTP {response.status_code}: {message}", response.status_code)
        try:
            return response.json()
        except ValueError:
            raise _Failure("server", f"the server answered with a body that is not JSON: {response.text[:200]!r}")

    def _open(self) -> None:
        self._session_in_doubt = False
        self.spec_info = created_session(self._request("POST", "/v1/sessions", self._create_body))
        self.session_id = self.spec_info["session_id"]
        self.render_mode = self.spec_info.get("render_mode")
        self.metadata = {**type(self).metadata, "render_modes": list(self.spec_info.get("render_modes", []))}
        self.observation_space = space_from_description(self.spec_info.get("observation_space"))
        self.action_space = copy.deepcopy(type(self).action_space)  # each client its own generator

    @staticmethod
    def _error_info(failure: _Failure) -> dict[str, Any]:
        return {"reward_components": {}, "error": failure.message, "success": False, "remote_error": failure.kind}

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        check_reset_arguments("RemoteEnv.reset", seed, options)
        super().reset(seed=seed)  # np_random, as Gymnasium expects of every env (the game's own RNG is remote)
        body = {"seed": seed, "options": options}
        if self._session_in_doubt:  # its last call may still run there (a hung step): start afresh
            self._abandon_session(min(self.timeout, 2.0))
        try:
            try:
                if self.session_id is None:
                    self._open()
                answer = self._request("POST", f"/v1/sessions/{self.session_id}/reset", body)
            except _Failure as failure:
                if failure.kind != "session_lost" and failure.kind != "unreachable":
                    raise
                self.session_id = None  # reaped or restarted: open a new session once
                self._open()
                answer = self._request("POST", f"/v1/sessions/{self.session_id}/reset", body)
            return reset_outcome(answer)
        except _Failure as failure:
            if failure.kind == "server" and failure.status == 400:
                raise ConfigError(f"RemoteEnv.reset: {failure.message}") from None
            return self._error_observation(failure), {**self._error_info(failure), "task_id": None}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        try:
            if self.session_id is None:
                raise _Failure("session_lost", "no session on the server: reset() after the last failure")
            try:
                answer = self._request("POST", f"/v1/sessions/{self.session_id}/step", {"action": action})
            except (TypeError, ValueError) as exc:  # an action JSON cannot carry
                raise _Failure("server", f"the action cannot be sent as JSON: {exc}") from None
            return step_outcome(answer)
        except _Failure as failure:
            return self._error_observation(failure), 0.0, False, True, self._error_info(failure)

    def render(self) -> Any:
        """What the server's environment renders (see the module docstring); ``None`` without
        a render mode. Raises :class:`RemoteEnvError` when the server cannot answer."""
        if self.render_mode is None:
            return None
        if self.session_id is None:
            raise RemoteEnvError(f"cannot render {self.env_id}: no session on {self.server} (reset() first)")
        try:
            return rendered_frame(self._request("GET", f"/v1/sessions/{self.session_id}/render"))
        except _Failure as failure:
            raise RemoteEnvError(f"cannot render {self.env_id} on {self.server}: {failure.message}") from None

    # ------------------------------------------------------------------ what stays on the server
    @property
    def reference_answer(self) -> str | None:
        """``None``: the hidden answer stays on the server (its reward providers use it there)."""
        return None

    def random_action(self, rng: Any) -> str:
        """The server's environment's ``random_action(rng)``: with a ``random.Random`` its state
        travels there and back, so the action, and ``rng`` afterwards, are what a local draw
        gives (another generator seeds one on the server). Raises ``NotImplementedError`` when
        the environment has none (as locally), :class:`RemoteEnvError` when the server cannot
        answer (the session lost, no reset yet)."""
        if self.session_id is None:
            raise RemoteEnvError(f"no session of {self.env_id} on {self.server}: reset() first")
        try:
            answer = self._request("POST", f"/v1/sessions/{self.session_id}/random_action", generator_as_data(rng))
            return drawn_action(rng, answer)
        except _Failure as failure:
            if failure.status == 501:
                raise NotImplementedError(failure.message) from None
            raise RemoteEnvError(f"random_action of {self.env_id} on {self.server}: {failure.message}") from None

    def _error_observation(self, failure: _Failure) -> str:
        return f"Environment server error: {failure.message}"

    def _abandon_session(self, timeout: float) -> None:
        """Ask the server to close the session (it does once a call still running there ends),
        waiting at most ``timeout`` seconds for its answer, and forget it."""
        if self.session_id is not None and not self._http.is_closed:
            try:
                self._http.delete(f"/v1/sessions/{self.session_id}", timeout=timeout)
            except Exception:  # noqa: BLE001 - best effort: the reaper closes it otherwise
                pass
        self.session_id = None

    def close(self) -> None:
        self._abandon_session(2.0)
        self._http.close()
        super().close()


def check_client_options(owner: str, *, timeout: Any, connect_timeout: Any, retries: Any, backoff: Any,
                         kwargs: dict[str, Any]) -> None:
    """Raise :class:`~agentgym.core.ConfigError` naming the first option of a client that is out
    of range: ``timeout`` and ``connect_timeout`` positive finite seconds, ``retries`` an int
    ``>= 0``, ``backoff`` finite seconds ``>= 0``, every constructor argument in ``kwargs`` a
    value JSON carries (no object, no NaN or infinity)."""
    for name, value, least in (("timeout", timeout, None), ("connect_timeout", connect_timeout, None),
                               ("backoff", backoff, 0)):
        number = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
        if not number or (value < least if least is not None else not value > 0):
            wanted = "a finite number of seconds >= 0" if least is not None else "a positive, finite number of seconds"
            raise ConfigError(f"{owner}: {name} must be {wanted}, got {value!r}")
    if type(retries) is not int or retries < 0:
        raise ConfigError(f"{owner}: retries must be an int >= 0, got {retries!r}")
    for name, value in kwargs.items():
        try:
            dumps(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{owner}: argument {name!r} cannot travel to the server as JSON: {exc}") from None


def check_reset_arguments(owner: str, seed: Any, options: Any) -> None:
    """Raise :class:`~agentgym.core.ConfigError` naming a ``reset`` argument a caller got wrong:
    ``seed`` not a non-negative ``int`` or ``None``, ``options`` not a dict or ``None``, or
    holding a value JSON cannot carry to the server (an object, NaN)."""
    if seed is not None and (type(seed) is not int or seed < 0):
        raise ConfigError(f"{owner}: seed must be a non-negative integer or None, got {seed!r}")
    if options is not None and not isinstance(options, dict):
        raise ConfigError(f"{owner}: options must be a dict or None, got {options!r}"[:300])
    try:
        dumps(options)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{owner}: options cannot travel to the server as JSON: {exc}") from None


def created_session(answer: Any) -> dict[str, Any]:
    """A create answer (``SessionInfo``), when it is one: an object with a ``session_id`` string;
    a ``"server"`` failure otherwise (not an agentgym server's answer)."""
    if type(answer) is not dict or type(answer.get("session_id")) is not str:
        raise _Failure("server", f"the server's answer to create is malformed (no session_id): {str(answer)[:200]}")
    return answer


def step_outcome(answer: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
    """A ``step`` answer as Gymnasium's 5-tuple (images decoded); a ``"server"`` failure naming
    what is wrong when it is not an agentgym server's answer (a field missing, a PNG that does
    not decode, a reward that is no number, an ``info`` that is no object)."""
    try:
        return (decode_observation(answer["observation"]), float(answer["reward"]), bool(answer["terminated"]),
                bool(answer["truncated"]), _info(answer))
    except (KeyError, TypeError, ValueError, OSError) as exc:
        raise _Failure("server", f"the server's answer to step is malformed ({type(exc).__name__}: "
                                 f"{str(exc)[:200]})") from None


def reset_outcome(answer: Any) -> tuple[Any, dict[str, Any]]:
    """A ``reset`` answer as ``(observation, info)``, checked as :func:`step_outcome` checks a step's."""
    try:
        return decode_observation(answer["observation"]), _info(answer)
    except (KeyError, TypeError, ValueError, OSError) as exc:
        raise _Failure("server", f"the server's answer to reset is malformed ({type(exc).__name__}: "
                                 f"{str(exc)[:200]})") from None


def _info(answer: Any) -> dict[str, Any]:
    info = answer["info"]
    if type(info) is not dict:
        raise TypeError(f"info is {type(info).__name__}, not an object")
    return info


def generator_as_data(rng: Any) -> dict[str, Any]:
    """A ``random_action`` request's body: a ``random.Random``'s state, else a seed drawn from
    ``rng`` (a NumPy ``Generator``, anything with ``integers`` or ``getrandbits``)."""
    if isinstance(rng, random.Random):
        return {"state": json_safe(rng.getstate())}
    if hasattr(rng, "integers"):
        return {"seed": int(rng.integers(0, 2**63))}
    return {"seed": int(rng.getrandbits(63))}


def rendered_frame(answer: Any) -> Any:
    """A ``render`` answer's frame, decoded (text, a uint8 array, ``None`` or a list of those);
    a ``"server"`` failure naming what is wrong when it is not an agentgym server's answer (no
    ``frame``, a PNG that does not decode)."""
    try:
        return decode_frame(answer["frame"])
    except (KeyError, TypeError, ValueError, OSError) as exc:  # binascii.Error is a ValueError
        raise _Failure("server", f"the server's answer to render is malformed ({type(exc).__name__}: "
                                 f"{str(exc)[:200]})") from None


def drawn_action(rng: Any, answer: Any) -> Any:
    """A ``random_action`` answer's action, with ``rng`` moved to the state the server's draw
    left its copy in; a ``"server"`` failure when it is not an agentgym server's answer (no
    ``action``, a generator state of the wrong shape), ``rng`` then left as it was."""
    try:
        action, state = answer["action"], answer.get("state")
        if state is not None and isinstance(rng, random.Random):
            version, internal, gauss_next = state
            moved = random.Random()
            moved.setstate((version, tuple(internal), gauss_next))  # checked on a copy first
            rng.setstate(moved.getstate())
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _Failure("server", f"the server's answer to random_action is malformed ({type(exc).__name__}: "
                                 f"{str(exc)[:200]})") from None
    return action


def wrappers_as_data(wrappers: Sequence[Any], outer_wrappers: Sequence[Any]) -> dict[str, Any]:
    """The create request's wrapper fields (left out when empty, for servers that predate them)."""
    from agentgym.wrappers.specs import as_wrapper_specs

    fields: dict[str, Any] = {}
    for key, given in (("wrappers", wrappers), ("outer_wrappers", outer_wrappers)):
        if given:
            fields[key] = [spec.to_data() for spec in as_wrapper_specs(list(given), what=f"RemoteEnv {key}")]
    return fields
