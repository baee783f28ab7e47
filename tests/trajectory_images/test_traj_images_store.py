"""agentgym.images: lossless PNG, content-addressed files written atomically, checked on loading."""

import os

import numpy as np
import pytest

from agentgym import images as images_module
from agentgym.images import (
    ImageFileError,
    ImageLoader,
    ImageRef,
    ImageStore,
    decode_png,
    encode_png,
    image_digest,
    is_image,
    png_data_url,
)

RNG = np.random.default_rng(0)
SHAPES = {"rgb": (17, 23, 3), "rgba": (9, 5, 4), "grey": (12, 7), "one channel": (6, 4, 1)}


@pytest.mark.parametrize("name", SHAPES)
def test_png_round_trip_is_exact(name):
    image = RNG.integers(0, 256, SHAPES[name], dtype=np.uint8)  # noise: nothing for a lossy codec to hide in
    data = encode_png(image)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    back = decode_png(data, image.shape)
    assert back.dtype == np.uint8 and back.shape == image.shape and np.array_equal(back, image)


def test_what_is_an_image():
    assert is_image(np.zeros((2, 2, 3), np.uint8)) and is_image(np.zeros((2, 2), np.uint8))
    for not_image in (np.zeros((2, 2, 3), np.float32), np.zeros((2, 2, 2), np.uint8), np.zeros((0, 2, 3), np.uint8),
                      np.zeros(4, np.uint8), [[0]], "pixels", None):
        assert not is_image(not_image)
    with pytest.raises(ValueError, match="uint8 array of shape H x W"):
        encode_png(np.zeros((2, 2, 3), np.float64))


def test_digest_names_the_pixels_and_the_shape():
    image = RNG.integers(0, 256, (4, 6, 3), dtype=np.uint8)
    assert image_digest(image) == image_digest(image.copy())
    assert image_digest(image) == image_digest(np.asfortranarray(image))  # memory layout does not matter
    changed = image.copy()
    changed[0, 0, 0] ^= 1
    assert image_digest(changed) != image_digest(image)
    assert image_digest(image.reshape(6, 4, 3)) != image_digest(image)  # same bytes, another shape
    assert len(image_digest(image)) == 64


def test_store_writes_each_image_once_under_its_digest(tmp_path, monkeypatch):
    store = ImageStore(tmp_path / "run.images", tmp_path)
    first, second = (RNG.integers(0, 256, (8, 8, 3), dtype=np.uint8) for _ in range(2))
    assert not (tmp_path / "run.images").exists()  # made on the first image only
    ref = store.put(first)
    assert ref == f"run.images/{image_digest(first)}.png"
    assert store.put(first.copy()) == ref and store.put(second) != ref
    assert sorted(p.name for p in (tmp_path / "run.images").iterdir()) == sorted(
        f"{image_digest(i)}.png" for i in (first, second))
    # a second store on the same folder (another writer, a later run) finds the file and keeps it
    mtime = (tmp_path / ref).stat().st_mtime_ns
    encoded = []
    monkeypatch.setattr(images_module, "encode_png", lambda image: encoded.append(1) or encode_png(image))
    assert ImageStore(tmp_path / "run.images", tmp_path).put(first) == ref
    assert encoded == [] and (tmp_path / ref).stat().st_mtime_ns == mtime
    assert np.array_equal(ImageLoader(tmp_path).load(ref, [8, 8, 3]), first)


def test_a_failed_write_leaves_no_file_with_a_final_name(tmp_path, monkeypatch):
    store = ImageStore(tmp_path / "images", tmp_path, fsync=True)
    image = RNG.integers(0, 256, (8, 8, 3), dtype=np.uint8)

    def crash(*_):
        raise OSError("disk gone")

    monkeypatch.setattr(images_module.os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        store.put(image)
    assert list((tmp_path / "images").iterdir()) == []  # neither the image nor its temporary file
    monkeypatch.undo()
    ref = store.put(image)  # not remembered as stored: written now
    store.sync()
    assert np.array_equal(ImageLoader(tmp_path).load(ref, [8, 8, 3]), image)


def test_loader_checks_what_it_reads(tmp_path):
    store = ImageStore(tmp_path / "t.images", tmp_path)
    image, other = (RNG.integers(0, 256, (5, 5, 3), dtype=np.uint8) for _ in range(2))
    ref, other_ref = store.put(image), store.put(other)
    loader = ImageLoader(tmp_path)
    loaded = loader.load(ref, [5, 5, 3])
    assert not loaded.flags.writeable and loader.load(ref, [5, 5, 3]) is loaded  # shared while the loader lives
    with pytest.raises(ImageFileError, match="the record says"):
        ImageLoader(tmp_path).load(ref, [5, 5, 4])
    with pytest.raises(ValueError, match="list of integers"):
        loader.load(ref, "5x5")
    for bad in ("../escape.png", "/etc/hosts.png", "t.images/x.jpg"):
        with pytest.raises(ImageFileError, match="is not an image reference"):
            loader.load(bad, [5, 5, 3])

    os.replace(tmp_path / other_ref, tmp_path / ref)  # a file swapped for another image
    with pytest.raises(ImageFileError, match="does not hold the image its name promises"):
        ImageLoader(tmp_path).load(ref, [5, 5, 3])
    (tmp_path / ref).write_bytes(encode_png(image)[:40])  # cut short
    with pytest.raises(ImageFileError, match="is damaged"):
        ImageLoader(tmp_path).load(ref, [5, 5, 3])
    (tmp_path / ref).unlink()
    with pytest.raises(ImageFileError, match=r"is missing .*t\.images folder"):
        ImageLoader(tmp_path).load(ref, [5, 5, 3])


def test_lazy_loader_gives_references_that_load_on_demand(tmp_path):
    image = RNG.integers(0, 256, (6, 3), dtype=np.uint8)
    ref = ImageStore(tmp_path / "t.images", tmp_path).put(image)
    lazy = ImageLoader(tmp_path, lazy=True).load(ref, [6, 3])
    assert lazy == ImageRef(ref, (6, 3), tmp_path) and lazy.path == tmp_path / ref
    assert np.array_equal(lazy.load(), image) and np.array_equal(np.asarray(lazy), image)
    assert np.asarray(lazy, dtype=np.float32).dtype == np.float32
    (tmp_path / ref).unlink()
    with pytest.raises(ImageFileError, match="is missing"):
        lazy.load()


def test_data_url_carries_the_exact_pixels():
    import base64

    image = RNG.integers(0, 256, (3, 4, 3), dtype=np.uint8)
    url = png_data_url(image)
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    assert np.array_equal(decode_png(base64.b64decode(url[len(prefix):])), image)
