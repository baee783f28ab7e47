"""ImageLoader.load refuses every reference that is no path, as its docstring promises: with
ImageFileError, whether eager or lazy, not a TypeError from its cache."""

from __future__ import annotations

import pytest

from agentgym.images import ImageFileError, ImageLoader


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("reference", [["images/a.png"], {"path": "a.png"}, None, 7])
def test_a_reference_that_is_no_path_is_an_image_file_error(tmp_path, lazy, reference):
    with pytest.raises(ImageFileError, match="is not an image reference"):
        ImageLoader(tmp_path, lazy=lazy).load(reference, [2, 2, 3])
