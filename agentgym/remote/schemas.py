"""The wire format of the environment server: pydantic models and the observation codec.

Every body is JSON. Requests and HTTP answers are ASCII JSON (``ensure_ascii=True``), so even a
lone surrogate (a hostile action can hold one) crosses the wire and comes back unchanged; the
server's WebSocket answers are UTF-8 JSON when ``orjson`` is installed (:func:`dumps_answer`),
and ASCII JSON whenever they hold a lone surrogate (or ``orjson`` is missing).
Observations are a string, or a dict (multimodal environments: ``{"text", "image"}``) whose
NumPy arrays travel as ``{"$png": "<base64 PNG>"}`` (uint8 images, 2-D grey or 3-D with 1, 3 or
4 channels; Pillow encodes them) — never as Python objects. Other arrays, and anything else JSON
cannot hold, go through :func:`agentgym.trajectory.json_safe` (as every ``info`` does).

A rendered frame (``GET /v1/sessions/{id}/render``) is text (``render_mode="ansi"``), an RGB
image as ``{"$png": ...}`` (``"rgb_array"``), ``null`` (no render mode), or a list of those
(the ``*_list`` modes); :func:`encode_frame` refuses anything else with :class:`FrameError`.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from agentgym.images import decode_png, encode_png, is_image
from agentgym.trajectory import json_safe

PNG_KEY = "$png"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WrapperData(_Strict):
    """A wrapper as data (:class:`~agentgym.wrappers.WrapperSpec`): a registered wrapper's name
    and its keyword arguments."""

    name: str = Field(min_length=1, max_length=100)
    kwargs: dict[str, Any] = Field(default_factory=dict)


class CreateRequest(_Strict):
    """``POST /v1/sessions``: make ``agentgym.make(env_id, wrappers=wrappers, max_turns=...,
    **kwargs)`` wrapped by ``outer_wrappers``.

    ``env_id`` must be a registered id (``agentgym list``); ``module:Class`` entry points are
    refused. ``max_turns`` absent means the registered budget, ``null`` no budget. Wrappers are
    registered names (``agentgym.wrappers.registered_wrappers()``); ``wrappers`` go inside the
    turn budget (``AnswerFormat``, ``ToolCalling``), ``outer_wrappers`` outside it
    (``ChatHistory``); wrappers that write files are refused.
    """

    env_id: str = Field(min_length=1, max_length=200)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    max_turns: StrictInt | None = Field(default=None, ge=1)  # strict: true or 1.0 is refused, as locally
    wrappers: list[WrapperData] = Field(default_factory=list, max_length=32)
    outer_wrappers: list[WrapperData] = Field(default_factory=list, max_length=32)
    #: one of the environment's ``metadata["render_modes"]`` (e.g. ``"ansi"``), or none.
    render_mode: str | None = Field(default=None, max_length=100)


class ResetRequest(_Strict):
    """``POST /v1/sessions/{id}/reset``: Gymnasium's ``reset(seed=..., options=...)``."""

    seed: StrictInt | None = None  # strict: true, "1" or 1.0 is refused, as a local reset refuses it
    options: dict[str, Any] | None = None


class RandomActionRequest(_Strict):
    """``POST /v1/sessions/{id}/random_action``: the environment's ``random_action(rng)``.

    ``state`` is the caller's ``random.Random().getstate()`` (as JSON: ``[3, [625 integers],
    null]``): the server draws with a generator in that state and answers the state after the
    draw, so the caller's generator moves on exactly as a local draw would have moved it, and
    the action is the one a local environment would have drawn. ``seed`` instead draws with
    ``random.Random(seed)`` (for generators whose state is not Python's). Exactly one is given.
    """

    seed: StrictInt | None = Field(default=None, ge=0, lt=2**64)
    state: list[Any] | None = Field(default=None, min_length=3, max_length=3)

    @model_validator(mode="after")
    def _one_source(self) -> "RandomActionRequest":
        if (self.seed is None) == (self.state is None):
            raise ValueError("give exactly one of seed and state")
        return self


class StepRequest(_Strict):
    """``POST /v1/sessions/{id}/step``. Any JSON value is accepted: a non-string action is the
    environment's to refuse (an error observation), as it is locally."""

    action: Any


class SessionInfo(BaseModel):
    """The answer to a create: the session id and what the environment declares."""

    session_id: str
    env_id: str
    max_turns: int | None
    instructions: str
    tools: list[dict[str, Any]]
    render_modes: list[str]
    render_mode: str | None = None
    #: the environment's observation space (:func:`agentgym.spaces.describe_space`); ``None``: text
    observation_space: dict[str, Any] | None = None


class RenderResponse(BaseModel):
    """``GET /v1/sessions/{id}/render``: what the environment's ``render()`` gave, encoded by
    :func:`encode_frame` (text, ``{"$png": ...}``, ``null`` or a list of those)."""

    render_mode: str | None
    frame: Any


class ResetResponse(BaseModel):
    observation: Any
    info: dict[str, Any]


class StepResponse(BaseModel):
    """Gymnasium's 5-tuple; ``info`` is JSON-safe (see :func:`~agentgym.trajectory.json_safe`)."""

    observation: Any
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any]


# One encoder for every message: json.dumps with these options would build a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":"))
# The server's answers are json_safe'd: no cycles to look for.
_ANSWER_ENCODER = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":"), check_circular=False)
try:
    import orjson as _orjson
except ImportError:  # optional: the standard library's encoder writes every answer
    _orjson = None
else:  # dataclasses and datetimes raise, as with the standard library, instead of being written
    _ORJSON_OPTIONS = _orjson.OPT_PASSTHROUGH_DATACLASS | _orjson.OPT_PASSTHROUGH_DATETIME


def dumps_answer(content: Any) -> str:
    """A server's WebSocket answer as JSON text: ``orjson`` when installed (UTF-8, several times
    faster), the standard library otherwise and for what ``orjson`` refuses (a lone surrogate:
    then ASCII JSON, as :func:`dumps`). Only for answers made of JSON-safe values
    (:func:`~agentgym.trajectory.json_safe`): ``orjson`` would write a non-finite float as
    ``null`` where :func:`dumps` raises."""
    if _orjson is not None:
        try:
            return _orjson.dumps(content, option=_ORJSON_OPTIONS).decode()
        except TypeError:  # a lone surrogate, an integer past 64 bits, a key that is not a string
            pass
    return _ANSWER_ENCODER.encode(content)


def dumps(content: Any) -> bytes:
    """The body of a request or an answer: ASCII JSON, so lone surrogates survive (``ValueError``
    for a non-finite float, ``TypeError`` for a value JSON cannot hold)."""
    return _ENCODER.encode(content).encode("ascii")


def _png(array: np.ndarray) -> dict[str, str] | None:
    """``{"$png": <base64 PNG>}`` of an image array (:func:`agentgym.images.is_image`); None for
    any other array, or where Pillow is not installed (the array then travels as a JSON list)."""
    if not is_image(array):
        return None
    try:
        data = encode_png(array)
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib/transformers
        return None
    return {PNG_KEY: base64.b64encode(data).decode("ascii")}


def encode_observation(observation: Any) -> Any:
    """An observation as JSON: text as it is, image arrays inside a dict as PNG."""
    if isinstance(observation, str):
        return observation
    if isinstance(observation, dict):
        encoded = {}
        for key, value in observation.items():
            png = _png(value) if isinstance(value, np.ndarray) else None
            encoded[str(key)] = png if png is not None else json_safe(value)
        return encoded
    return json_safe(observation)


def _is_png(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {PNG_KEY} and isinstance(value[PNG_KEY], str)


def _unpng(value: dict[str, str]) -> np.ndarray:
    return decode_png(base64.b64decode(value[PNG_KEY], validate=True))


def decode_observation(payload: Any) -> Any:
    """The inverse of :func:`encode_observation`: ``{"$png": ...}`` back to a uint8 array."""
    if isinstance(payload, dict):
        return {key: _unpng(value) if _is_png(value) else value for key, value in payload.items()}
    return payload


class FrameError(ValueError):
    """A ``render()`` result the wire cannot carry faithfully (an environment's bug)."""


def encode_frame(frame: Any) -> Any:
    """What ``render()`` gave, as JSON: text as it is, a uint8 image as ``{"$png": ...}``,
    ``None`` as ``null``, a list (``*_list`` render modes) item by item. Anything else (a float
    array, an object) raises :class:`FrameError` rather than travel as a lossy stand-in."""
    if frame is None or isinstance(frame, str):
        return frame
    if isinstance(frame, np.ndarray):
        png = _png(frame)
        if png is None:
            raise FrameError(f"render() gave an array of shape {frame.shape} and dtype {frame.dtype}; only uint8 "
                             "images (H x W, or H x W x 1/3/4) travel, as PNG")
        return png
    if isinstance(frame, (list, tuple)):
        return [encode_frame(item) for item in frame]
    raise FrameError(f"render() gave a {type(frame).__name__}; a frame is text, a uint8 image array, None, or a "
                     "list of those")


def decode_frame(payload: Any) -> Any:
    """The inverse of :func:`encode_frame`: text, a uint8 array, ``None`` or a list of those."""
    if _is_png(payload):
        return _unpng(payload)
    if isinstance(payload, list):
        return [decode_frame(item) for item in payload]
    return payload
