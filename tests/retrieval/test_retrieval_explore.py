"""Less common uses of the document store: its ``ids`` is a sequence like any other (negative
indexes count from the end, as its slices already did)."""

from __future__ import annotations

import pytest

from agentgym.retrieval.base import Document
from agentgym.retrieval.docstore import DocStore


def test_ids_take_negative_indexes_like_any_sequence(tmp_path):
    with DocStore.build([Document(f"d{i}", "t", "x") for i in range(3)], tmp_path / "s") as store:
        ids = store.ids
        assert (ids[-1], ids[-3]) == ("d2", "d0") and ids[-1:] == ["d2"]
        assert list(reversed(ids)) == ["d2", "d1", "d0"]
        with pytest.raises(IndexError, match="out of range"):
            ids[-4]
        with pytest.raises(IndexError, match="out of range"):
            ids[3]
