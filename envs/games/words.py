"""The bundled English word lists (derived from SCOWL; see ``data/README.md``).

Each list is read once, on first use, and shared by every environment in the process.
"""

from __future__ import annotations

import functools
from importlib.resources import files

#: Common English words of 3-10 letters (SCOWL size 35), base forms only.
COMMON = "words_common.txt"
#: Less common words of 3-10 letters (SCOWL sizes 40-50), base forms only.
RARE = "words_rare.txt"
#: Every five-letter word of SCOWL up to size 80, inflected forms included: Wordle's valid guesses.
FIVE_LETTERS = "words_five_letters.txt"


@functools.cache
def load_words(name: str) -> tuple[str, ...]:
    """The words of the bundled list ``name`` (lowercase ASCII, sorted)."""
    return tuple((files("agentgym.envs.games") / "data" / name).read_text(encoding="ascii").split())


@functools.cache
def words_of_length(name: str, low: int, high: int) -> tuple[str, ...]:
    """The words of list ``name`` whose length is between ``low`` and ``high`` inclusive."""
    return tuple(word for word in load_words(name) if low <= len(word) <= high)
