"""Spaces for language environments.

Gymnasium's :class:`~gymnasium.spaces.Text` only holds strings drawn from a fixed charset
(letters and digits by default). An agent's action is whatever a language model wrote, and an
observation is whatever the environment says, so both need a space that holds *any* unicode.
"""

from __future__ import annotations

import copy
import numbers
from typing import Any

import numpy as np
from gymnasium import spaces

# Characters `sample()` draws from: ASCII, accents, CJK, emoji, and the control and
# formatting characters that break naive parsers. Membership is not limited to these.
_SAMPLE_CHARS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    " \t\n.,;:!?'\"()[]{}<>/\\|-_+=*&^%$#@~`"
    "éüñßøçÅΩπλЖж中文字日本語한국어"
    "\u200b\u202e\x00\x07\x1b\r"
    "🙂🚀👍🏽"
)


class UnicodeText(spaces.Text):
    """A text space that contains every ``str`` of ``min_length..max_length`` characters.

    ``contains`` accepts any unicode; ``sample`` draws short random strings (at most
    ``sample_max_length`` characters) from a deliberately mixed alphabet, so
    ``check_env``-style random actions exercise an environment's parser.
    """

    def __init__(
        self,
        max_length: int = 1_000_000,
        *,
        min_length: int = 0,
        sample_max_length: int = 48,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__(max_length, min_length=min_length, charset=_SAMPLE_CHARS, seed=seed)
        self.sample_max_length = min(sample_max_length, max_length)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        if mask is not None or probability is not None:
            raise NotImplementedError("UnicodeText.sample does not support masks")
        high = max(self.min_length, self.sample_max_length)
        length = int(self.np_random.integers(self.min_length, high + 1))
        picks = self.np_random.integers(0, len(self.character_list), size=length)
        return "".join(self.character_list[i] for i in picks)

    def __deepcopy__(self, memo: dict[int, Any]) -> "UnicodeText":
        # The alphabet's tables are never changed: shared (a full copy took ~0.4 ms, paid by
        # every environment built); the random generator is the copy's own.
        clone = copy.copy(self)
        clone._np_random = copy.deepcopy(self._np_random, memo)
        return clone

    def __repr__(self) -> str:
        return f"UnicodeText({self.min_length}, {self.max_length})"

    def __eq__(self, other: Any) -> bool:
        return (
            isinstance(other, UnicodeText)
            and self.min_length == other.min_length
            and self.max_length == other.max_length
        )

    __hash__ = None  # type: ignore[assignment]  # mutable (seeded) like other spaces


def text_and_image_space(height: int, width: int, *, max_length: int = 1_000_000) -> spaces.Dict:
    """Observation space of a multimodal environment: ``{"text": str, "image": HxWx3 uint8}``."""
    return spaces.Dict(
        {
            "text": UnicodeText(max_length),
            "image": spaces.Box(0, 255, shape=(height, width, 3), dtype=np.uint8),
        }
    )


def describe_space(space: spaces.Space) -> dict[str, Any] | None:
    """An observation space as JSON, for clients in other processes: ``{"kind": "text",
    "max_length"}`` or ``{"kind": "text_image", "height", "width", "max_length"}``; ``None`` for
    any other space (a client then assumes text)."""
    if isinstance(space, UnicodeText):
        return {"kind": "text", "max_length": space.max_length}
    if (isinstance(space, spaces.Dict) and set(space.spaces) == {"text", "image"}
            and isinstance(space["text"], UnicodeText) and isinstance(space["image"], spaces.Box)
            and space["image"].dtype == np.uint8 and len(space["image"].shape) == 3 and space["image"].shape[2] == 3):
        height, width, _ = space["image"].shape
        return {"kind": "text_image", "height": int(height), "width": int(width),
                "max_length": space["text"].max_length}
    return None


def space_from_description(description: Any) -> spaces.Space:
    """The inverse of :func:`describe_space`; ``UnicodeText()`` for ``None`` or a kind this
    version does not know; ``ValueError`` for a known kind described wrongly (a field missing or
    not a positive integer: a server's answer that is not what it should be)."""
    if isinstance(description, dict):
        try:
            length = _positive_int(description, "max_length", 1_000_000)
            if description.get("kind") == "text_image":
                height, width = _positive_int(description, "height"), _positive_int(description, "width")
                return text_and_image_space(height, width, max_length=length)
            if description.get("kind") == "text":
                return UnicodeText(length)
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"a malformed observation space description {description!r:.200} "
                             f"({type(exc).__name__}: {exc})") from None
    return UnicodeText()


def _positive_int(description: dict[str, Any], key: str, default: Any = None) -> int:
    """``description[key]`` (or ``default`` when absent and given) as an ``int``; ``KeyError``
    when missing, ``ValueError`` when not a positive integer (a bool, a float, a string)."""
    value = description[key] if default is None else description.get(key, default)
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{key} must be a positive integer, got {value!r:.40}")
    return int(value)
