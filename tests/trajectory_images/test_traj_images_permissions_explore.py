"""Image files beside a trajectory are readable by whoever may read the trajectory file: they take
the permissions any new file takes (the umask's), not a private temporary file's 0600."""

from __future__ import annotations

import os
import stat
import sys

import numpy as np
import pytest

from agentgym.images import ImageLoader, ImageStore


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_a_stored_image_has_the_permissions_of_any_new_file(tmp_path):
    store = ImageStore(tmp_path / "images", tmp_path)
    reference = store.put(np.zeros((2, 3, 3), dtype=np.uint8))
    plain = tmp_path / "trajectories.jsonl"
    plain.write_text("{}\n")

    mode = stat.S_IMODE(os.stat(tmp_path / reference).st_mode)

    assert mode == stat.S_IMODE(os.stat(plain).st_mode), oct(mode)
    assert ImageLoader(tmp_path).load(reference, [2, 3, 3]).shape == (2, 3, 3)
    assert not [name for name in os.listdir(tmp_path / "images") if name.endswith(".tmp")]
