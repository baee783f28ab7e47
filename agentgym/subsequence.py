"""The longest common subsequence of two strings, in time ``O(len(a) * len(b) / wordsize)``.

Used where a similarity of two texts needs it: GiGPO's similarity grouping (an upper bound of
``difflib``'s ratio) and the web shop's fuzzy matching of option and attribute phrases.
"""

from __future__ import annotations


def lcs_length(a: str, b: str) -> int:
    """The length of a longest common subsequence of ``a`` and ``b``, by the bit-parallel
    algorithm of Allison and Dix: Python's unbounded integers hold one row of the LCS table as
    bits (bit ``i`` of ``v`` is cleared where the row steps up at position ``i`` of ``a``), one
    row per character of ``b``; ``LCS = len(a) - popcount(v)``."""
    if not a or not b:
        return 0
    positions: dict[str, int] = {}
    for i, char in enumerate(a):
        positions[char] = positions.get(char, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for char in b:
        u = v & positions.get(char, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - bin(v).count("1")
