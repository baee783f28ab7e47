"""Lazy image references behave as the arrays they stand for under numpy's conversions."""

from __future__ import annotations

import numpy as np

from agentgym.images import ImageLoader, ImageStore


def test_np_array_of_a_lazy_reference_is_a_writable_copy_as_of_an_array(tmp_path):
    """``np.array(x)`` copies, and a copy is the caller's to change: for a loaded image and for
    the ImageRef a lazy loader gives in its place alike; ``np.asarray`` may share, read-only."""
    image = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    reference = ImageStore(tmp_path / "t.images", tmp_path).put(image)
    loaded = ImageLoader(tmp_path).load(reference, [4, 5, 3])
    lazy = ImageLoader(tmp_path, lazy=True).load(reference, [4, 5, 3])
    for source in (loaded, lazy):
        copy = np.array(source)
        assert copy.flags.writeable and np.array_equal(copy, image)
        copy[0, 0] = 255  # the caller's own pixels
    assert not np.asarray(lazy).flags.writeable
    assert np.array_equal(np.asarray(lazy), image) and np.asarray(lazy, dtype=np.float32).dtype == np.float32
