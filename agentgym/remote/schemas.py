"""The wire format of the environment server: pydantic models and the observation codec.

Every body is JSON. Text travels as JSON strings written with ``ensure_ascii=True``, so even a
lone surrogate (a hostile action can hold one) crosses the wire and comes back unchanged.
Observations are a string, or a dict (multimodal environments: ``{"text", "image"}``) whose
NumPy arrays travel as ``{"$png": "<base64 PNG>"}`` (uint8 images, 2-D grey or 3-D with 1, 3 or
4 channels; Pillow encodes them) — never as Python objects. Other arrays, and anything else JSON
cannot hold, go through :func:`agentgym.trajectory.json_safe` (as every ``info`` does).
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from agentgym.trajectory import json_safe

PNG_KEY = "$png"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateRequest(_Strict):
    """``POST /v1/sessions``: make ``agentgym.make(env_id, max_turns=..., **kwargs)``.

    ``env_id`` must be a registered id (``agentgym list``); ``module:Class`` entry points are
    refused. ``max_turns`` absent means the registered budget, ``null`` no budget.
    """

    env_id: str = Field(min_length=1, max_length=200)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    max_turns: int | None = Field(default=None, ge=1)


class ResetRequest(_Strict):
    """``POST /v1/sessions/{id}/reset``: Gymnasium's ``reset(seed=..., options=...)``."""

    seed: int | None = None
    options: dict[str, Any] | None = None


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


def dumps(content: Any) -> bytes:
    """The body of a request or an answer: ASCII JSON, so lone surrogates survive."""
    return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def _png(array: np.ndarray) -> dict[str, str] | None:
    image_like = array.dtype == np.uint8 and (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 3, 4)))
    if not image_like:
        return None
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib/transformers
        return None
    buffer = io.BytesIO()
    Image.fromarray(array[:, :, 0] if array.ndim == 3 and array.shape[2] == 1 else array).save(buffer, "PNG")
    return {PNG_KEY: base64.b64encode(buffer.getvalue()).decode("ascii")}


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


def decode_observation(payload: Any) -> Any:
    """The inverse of :func:`encode_observation`: ``{"$png": ...}`` back to a uint8 array."""
    if isinstance(payload, dict):
        decoded = {}
        for key, value in payload.items():
            if isinstance(value, dict) and set(value) == {PNG_KEY}:
                from PIL import Image

                value = np.asarray(Image.open(io.BytesIO(base64.b64decode(value[PNG_KEY]))))
            decoded[key] = value
        return decoded
    return payload
