"""``AsyncRemoteEnv``: the asyncio client of the environment server, over its WebSocket.

::

    async with AsyncRemoteEnv("games/Wordle-v0", server="http://127.0.0.1:8000") as env:
        observation, info = await env.areset(seed=0)
        observation, reward, terminated, truncated, info = await env.astep("crane")

Why a WebSocket and not HTTP: one connection per session, no per-step request overhead, and
the server sees at once (or by its heartbeat) when a client is gone and frees its session.
Many environments can run from one event loop (each has its own connection); one
environment's calls are serialised.

The failure contract is :class:`~agentgym.remote.client.RemoteEnv`'s:

- ``open`` (or the first ``areset``, or ``async with``) opens the connection and the session;
  ``open`` raises :class:`~agentgym.remote.client.RemoteEnvError` when it cannot. Connecting
  is retried ``retries`` times (pause ``backoff * 2**attempt``); it has ``connect_timeout``.
- Every call has ``timeout`` seconds. ``astep`` never raises and never hangs past that: when
  the server cannot be reached, answers an error, or lost the session, it returns the error
  observation ``"Environment server error: <why>"``, reward ``0.0``, ``terminated=False``,
  ``truncated=True`` and ``info = {"reward_components": {}, "error": <why>, "success": False,
  "remote_error": <kind>}``, kind one of ``"unreachable"``, ``"transport"`` (a timeout or a
  connection dropped while the call was in flight: the server may have carried it out),
  ``"session_lost"`` (404) or ``"server"``.
- Resumption (``resumable=True``, the default): the session is created resumable, and when the
  connection is found dropped *before* a call is sent, the client reconnects and takes the
  same session back (``resume``) within the server's grace period, then sends the call — the
  episode goes on. When the session is gone, ``areset`` opens a new one; ``astep`` answers
  ``session_lost``.
- A bad argument (a negative seed, options that are not a dict) raises
  :class:`~agentgym.core.ConfigError`. ``aclose`` closes the session and the connection and
  never raises.
- ``arender()`` (with ``render_mode=...`` given to the constructor) returns what the server's
  environment renders: text, a uint8 array decoded from PNG, a list for the ``*_list`` modes,
  ``None`` without a render mode; it raises :class:`~agentgym.remote.client.RemoteEnvError`
  when the server cannot answer (a frame has no error observation to stand in for it).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any, Sequence

from agentgym.core import ConfigError
from agentgym.remote.client import RemoteEnvError, _Failure, follow_generator, generator_as_data, wrappers_as_data
from agentgym.remote.schemas import decode_frame, decode_observation, dumps

_UNSET: Any = object()


class AsyncRemoteEnv:
    """A session of ``env_id`` on the environment server at ``server``, driven with asyncio.

    Args:
        env_id: a registered id on the server.
        server: the server's root URL (``http://`` or ``ws://``; a trailing ``/v1`` is accepted).
        api_key: sent as ``Authorization: Bearer <key>`` in the handshake.
        max_turns: the turn budget (absent: the registered one; ``None``: none).
        timeout: seconds a call may take; ``connect_timeout`` to connect.
        retries, backoff: connection retries and the first pause between them (doubling).
        resumable: ask the server to keep the session through a dropped connection.
        render_mode: one of the environment's ``metadata["render_modes"]`` (see ``arender``).
        wrappers / outer_wrappers: wrappers the server puts inside / outside the turn budget,
            as data (:class:`~agentgym.wrappers.WrapperSpec`, a name, or ``{"name", "kwargs"}``).
        **kwargs: the environment's constructor arguments (JSON values).
    """

    def __init__(self, env_id: str, *, server: str, api_key: str | None = None, max_turns: int | None = _UNSET,
                 timeout: float = 30.0, connect_timeout: float = 5.0, retries: int = 2, backoff: float = 0.1,
                 resumable: bool = True, render_mode: str | None = None, wrappers: Sequence[Any] = (),
                 outer_wrappers: Sequence[Any] = (), **kwargs: Any) -> None:
        root = server.rstrip("/")
        root = root[: -len("/v1")] if root.endswith("/v1") else root
        self.server = root
        self.url = "ws" + root[len("http"):] + "/v1/ws" if root.startswith("http") else root + "/v1/ws"
        self.env_id = env_id
        self.timeout, self.connect_timeout, self.retries, self.backoff = timeout, connect_timeout, retries, backoff
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
        self._create: dict[str, Any] = {"type": "create", "env_id": env_id, "kwargs": kwargs, "resumable": resumable,
                                        **wrappers_as_data(wrappers, outer_wrappers)}
        if max_turns is not _UNSET:
            self._create["max_turns"] = max_turns
        if render_mode is not None:
            self._create["render_mode"] = render_mode
        self.render_mode = render_mode
        self.session_id: str | None = None
        self.resume_token: str | None = None
        self.spec_info: dict[str, Any] = {}
        self.reconnects = 0
        self._ws: Any = None
        self._reader: asyncio.Task | None = None
        self._pending: dict[int, asyncio.Future] = {}
        self._ids = itertools.count(1)
        self._lock: asyncio.Lock | None = None

    # ------------------------------------------------------------------ transport
    async def _connect(self) -> None:
        from websockets.asyncio.client import connect

        for attempt in range(self.retries + 1):
            try:
                self._ws = await asyncio.wait_for(
                    connect(self.url, additional_headers=self._headers, open_timeout=self.connect_timeout,
                            max_size=None, compression=None), self.connect_timeout + 1)
                break
            except (OSError, asyncio.TimeoutError) as exc:
                if attempt == self.retries:
                    raise _Failure("unreachable", f"cannot connect to {self.url}: {exc or type(exc).__name__}") from None
                await asyncio.sleep(self.backoff * 2**attempt)
            except Exception as exc:  # noqa: BLE001 - a refused handshake (401/403, not a server of ours)
                raise _Failure("server", f"the WebSocket handshake with {self.url} failed: {exc}") from None
        self._reader = asyncio.create_task(self._read(self._ws), name="agentgym-remote-reader")

    async def _read(self, ws: Any) -> None:
        """Answer the server's pings and hand each answer to the call awaiting it."""
        reason = "the connection closed"
        try:
            async for raw in ws:
                message = json.loads(raw)
                if message.get("type") == "ping":
                    await ws.send('{"type":"pong"}')
                    continue
                future = self._pending.pop(message.get("id"), None)
                if future is not None and not future.done():
                    future.set_result(message)
        except Exception as exc:  # noqa: BLE001 - any end of the connection ends the calls in flight
            reason = f"the connection dropped: {type(exc).__name__}: {exc}"
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(_Failure("transport", f"{reason} ({self.url})"))
            self._pending.clear()

    def _connected(self) -> bool:
        # Called before every call: compare with State.OPEN's value, not an import per call.
        return (self._ws is not None and self._ws.state.name == "OPEN"
                and not (self._reader and self._reader.done()))

    async def _drop_connection(self) -> None:
        ws, reader, self._ws, self._reader = self._ws, self._reader, None, None
        if ws is not None:
            try:
                await asyncio.wait_for(ws.close(), 1.0)
            except Exception:  # noqa: BLE001 - best effort
                pass
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    async def _send(self, message: dict[str, Any]) -> dict[str, Any]:
        request_id = next(self._ids)
        try:  # encoded once, before anything is sent: a value JSON cannot carry leaves the connection as it is
            text = dumps({**message, "id": request_id}).decode("ascii")
        except (TypeError, ValueError) as exc:
            what = "the action" if message.get("type") == "step" else f"the {message.get('type')} request"
            raise _Failure("server", f"{what} cannot be sent as JSON: {exc}") from None
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await self._ws.send(text)
            answer = await asyncio.wait_for(future, self.timeout)
        except _Failure:
            raise
        except asyncio.TimeoutError:
            await self._drop_connection()  # a late answer must not be taken for the next call's
            raise _Failure("transport", f"no answer from {self.url} within {self.timeout:g} s") from None
        except Exception as exc:  # noqa: BLE001 - the connection broke while sending
            raise _Failure("transport", f"{type(exc).__name__} talking to {self.url}: {exc}") from None
        finally:
            self._pending.pop(request_id, None)
        if answer.get("type") == "error":
            error = answer.get("error", {})
            code = error.get("code")
            kind = "session_lost" if code == 404 else "server"
            raise _Failure(kind, f"error {code}: {error.get('message')}", code)
        return answer["result"]

    async def _ensure_session(self, *, may_create: bool) -> None:
        """A live connection holding this env's session: resumed if possible, else (when
        ``may_create``) a new one."""
        if self._connected() and self.session_id is not None:
            return
        if not self._connected():
            await self._drop_connection()
            await self._connect()
            if self.session_id is not None and self.resume_token is not None:
                try:
                    self.spec_info = await self._send({"type": "resume", "session_id": self.session_id,
                                                       "resume_token": self.resume_token})
                    self.reconnects += 1
                    return
                except _Failure as failure:
                    if failure.kind != "session_lost":
                        raise
            self.session_id = None
        if not may_create:
            raise _Failure("session_lost", "the server no longer holds this session: reset() to open a new one")
        self.spec_info = await self._send(self._create)
        self.session_id = self.spec_info["session_id"]
        self.resume_token = self.spec_info.get("resume_token")

    def _guard(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    # ------------------------------------------------------------------ the API
    async def open(self) -> "AsyncRemoteEnv":
        """Connect and open the session; raises :class:`RemoteEnvError` when that fails."""
        async with self._guard():
            try:
                await self._ensure_session(may_create=True)
            except _Failure as failure:
                await self._drop_connection()
                raise RemoteEnvError(f"cannot open a session of {self.env_id} on {self.server}: "
                                     f"{failure.message}") from None
        return self

    async def __aenter__(self) -> "AsyncRemoteEnv":
        return await self.open()

    async def __aexit__(self, *_: Any) -> None:
        await self.aclose()

    @staticmethod
    def _error_info(failure: _Failure) -> dict[str, Any]:
        return {"reward_components": {}, "error": failure.message, "success": False, "remote_error": failure.kind}

    async def areset(self, *, seed: int | None = None,
                     options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        if seed is not None and (type(seed) is not int or seed < 0):
            raise ConfigError(f"AsyncRemoteEnv.areset: seed must be a non-negative integer or None, got {seed!r}")
        if options is not None and not isinstance(options, dict):
            raise ConfigError(f"AsyncRemoteEnv.areset: options must be a dict or None, got {options!r}")
        message = {"type": "reset", "seed": seed, "options": options}
        async with self._guard():
            try:
                try:
                    await self._ensure_session(may_create=True)
                    answer = await self._send(message)
                except _Failure as failure:
                    if failure.kind not in ("session_lost", "transport", "unreachable"):
                        raise
                    await self._drop_connection()  # start over once: resume, or a new session
                    if failure.kind == "session_lost":
                        self.session_id = None
                    await self._ensure_session(may_create=True)
                    answer = await self._send(message)
            except _Failure as failure:
                if failure.kind == "server" and failure.status == 400:
                    raise ConfigError(f"AsyncRemoteEnv.areset: {failure.message}") from None
                return f"Environment server error: {failure.message}", {**self._error_info(failure), "task_id": None}
        return decode_observation(answer["observation"]), answer["info"]

    async def astep(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        async with self._guard():
            try:
                if self.session_id is None:
                    raise _Failure("session_lost", "no session on the server: areset() after the last failure")
                await self._ensure_session(may_create=False)
                answer = await self._send({"type": "step", "action": action})
                return (decode_observation(answer["observation"]), float(answer["reward"]),
                        bool(answer["terminated"]), bool(answer["truncated"]), answer["info"])
            except _Failure as failure:
                return f"Environment server error: {failure.message}", 0.0, False, True, self._error_info(failure)

    async def aspec(self) -> dict[str, Any]:
        """The session's description (``SessionInfo``); raises :class:`RemoteEnvError` on failure."""
        async with self._guard():
            try:
                await self._ensure_session(may_create=True)
                return await self._send({"type": "spec"})
            except _Failure as failure:
                raise RemoteEnvError(failure.message) from None

    async def arender(self) -> Any:
        """What the server's environment renders (see the module docstring)."""
        if self.render_mode is None:
            return None
        async with self._guard():
            try:
                if self.session_id is None:
                    raise _Failure("session_lost", "no session on the server: areset() first")
                await self._ensure_session(may_create=False)
                answer = await self._send({"type": "render"})
            except _Failure as failure:
                raise RemoteEnvError(f"cannot render {self.env_id} on {self.server}: {failure.message}") from None
        return decode_frame(answer["frame"])

    async def arandom_action(self, rng: Any) -> str:
        """The server's environment's ``random_action(rng)``, ``rng`` moved on as locally;
        ``NotImplementedError`` when it has none, :class:`RemoteEnvError` when the server cannot
        answer (see :meth:`RemoteEnv.random_action <agentgym.remote.client.RemoteEnv.random_action>`)."""
        async with self._guard():
            try:
                if self.session_id is None:
                    raise _Failure("session_lost", "no session on the server: areset() first")
                await self._ensure_session(may_create=False)
                answer = await self._send({"type": "random_action", **generator_as_data(rng)})
            except _Failure as failure:
                if failure.status == 501:
                    raise NotImplementedError(failure.message) from None
                raise RemoteEnvError(f"random_action of {self.env_id} on {self.server}: {failure.message}") from None
        follow_generator(rng, answer)
        return answer["action"]

    async def aclose(self) -> None:
        """Close the session (best effort, one short call) and the connection; never raises."""
        async with self._guard():
            if self.session_id is not None and self._connected():
                timeout, self.timeout = self.timeout, min(self.timeout, 2.0)
                try:
                    await self._send({"type": "close"})
                except Exception:  # noqa: BLE001 - the server closes it with the connection anyway
                    pass
                finally:
                    self.timeout = timeout
            self.session_id = self.resume_token = None
            await self._drop_connection()


__all__ = ["AsyncRemoteEnv"]
