"""Images as PNG: encoding, content-addressed files beside a trajectory file, loading them back.

An *image* here is what environments put in ``{"text", "image"}`` observations: a ``uint8``
array of shape ``H x W`` (grey), ``H x W x 3`` (RGB) or ``H x W x 4`` (RGBA)
(:func:`is_image`). PNG is lossless, so an image read back is equal to the one written, shape
and dtype included.

**Content addressing.** An image's name is :func:`image_digest`: the SHA-256 of its shape and
pixels (not of the PNG bytes, so the name does not depend on the encoder, and an image already
stored is recognised without encoding it again). :class:`ImageStore` writes each distinct image
once, as ``<digest>.png`` in its folder; :class:`ImageLoader` checks, on reading, that a file's
pixels still hash to its name.

**Crash safety.** A file is written under a temporary name in the same folder and renamed into
place (``os.replace``, atomic on POSIX and Windows), so a file with a final name is always whole.
A crash may leave a ``.tmp`` file behind, which nothing reads. Callers write an image before the
record that refers to it (:class:`~agentgym.trajectory.TrajectoryWriter` does).

Pillow is needed to encode and decode (``pip install pillow``); it is imported on first use.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

PNG_SUFFIX = ".png"
#: zlib level of written PNGs: 1 is several times faster than the default 6 on screenshots and
#: the files come out within a few percent of its size.
PNG_COMPRESS_LEVEL = 1
_CHANNELS = (1, 3, 4)
#: Pillow modes of 8-bit channels whose array is not their colours (palette indices, ink,
#: another colour space, premultiplied or padding channels): converted to RGB, as Pillow does.
_PIL_CONVERTED_MODES = frozenset({"1", "P", "PA", "LA", "La", "CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa"})


class ImageFileError(OSError):
    """An image file that a record refers to is missing, unreadable or not the image it names."""


def is_image(value: Any) -> bool:
    """``value`` is a ``uint8`` array PNG holds exactly: ``H x W``, or ``H x W x 1/3/4``, not empty."""
    return (isinstance(value, np.ndarray) and value.dtype == np.uint8 and value.size > 0
            and (value.ndim == 2 or (value.ndim == 3 and value.shape[2] in _CHANNELS)))


def as_rgb(image: Any) -> np.ndarray:
    """``image`` (an image as :func:`is_image` defines it, or what ``numpy.asarray`` makes one
    of, e.g. a PIL image) as a contiguous ``H x W x 3`` uint8 array, the layout vision-language
    processors take: a grey image's one channel repeated three times, an RGBA image's alpha
    dropped (as Pillow's ``convert("RGB")`` does). A PIL image whose array is not its colours
    (palette, CMYK, grey with alpha, ...) is first converted as ``image.convert("RGB")``; one of
    16-bit, integer or float pixels is refused, not clipped. ``ValueError`` for anything else."""
    mode = getattr(image, "mode", None)
    if isinstance(mode, str) and mode in _PIL_CONVERTED_MODES and callable(getattr(image, "convert", None)):
        image = image.convert("RGB")
    array = np.asarray(image)
    _check(array)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    return np.ascontiguousarray(array[:, :, :3])


def image_digest(image: np.ndarray) -> str:
    """The SHA-256 (hex) of an image's shape and pixels: its content address."""
    _check(image)
    digest = hashlib.sha256(f"uint8 {image.shape}\n".encode("ascii"))
    digest.update(np.ascontiguousarray(image).data)
    return digest.hexdigest()


def encode_png(image: np.ndarray) -> bytes:
    """The PNG file of ``image`` (``ValueError`` for anything :func:`is_image` refuses)."""
    _check(image)
    Image = _pillow()
    pixels = np.ascontiguousarray(image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def decode_png(data: bytes, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """The image of a PNG file (``ValueError`` when ``data`` is not one, or holds pixels wider
    than 8 bits: 16-bit samples, of any colour type). With ``shape`` (the shape it was written
    with), a one-channel image comes back ``H x W x 1`` as it was. A PNG that other encoders
    write in another mode comes back in its colours (:func:`_colour_mode`): palette as RGB (RGBA
    with transparency), 1-bit as grey, grey with alpha as RGBA."""
    Image = _pillow()
    try:
        with Image.open(io.BytesIO(data)) as png:
            if png.format != "PNG":
                raise ValueError(f"not a PNG file but {png.format}")
            if data[12:16] == b"IHDR" and data[24] > 8:  # Pillow cuts 16-bit colour to its high bytes
                raise ValueError(f"the PNG holds {data[24]}-bit samples, not uint8 pixels")
            image = np.asarray(_colour_mode(png))
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds for damaged files
        raise ValueError(f"not a readable PNG file ({type(exc).__name__}: {exc})") from None
    if image.dtype != np.uint8:
        raise ValueError(f"the PNG holds {image.dtype} pixels, not uint8")
    if shape is not None and len(shape) == 3 and shape[2] == 1 and image.ndim == 2:
        image = image[:, :, None]
    return image


def _colour_mode(png: Any) -> Any:
    """A decoded PNG in a mode whose array is its colours as :func:`is_image` takes them (grey,
    RGB, RGBA); modes of wider pixels are left for the caller to refuse."""
    if png.mode in ("P", "PA"):
        return png.convert("RGBA" if png.mode == "PA" or "transparency" in png.info else "RGB")
    if png.mode == "LA":
        return png.convert("RGBA")
    if png.mode == "1":
        return png.convert("L")
    return png


def png_data_url(image: np.ndarray) -> str:
    """``data:image/png;base64,...``: the image as a URL an OpenAI-style image message carries."""
    return "data:image/png;base64," + base64.b64encode(encode_png(image)).decode("ascii")


class ImageStore:
    """Content-addressed PNG files in one folder, created on the first image.

    :meth:`put` returns the image's name relative to ``base`` (the folder a record's
    references are relative to, e.g. the JSONL file's folder). Safe to share between threads
    and processes: two writers of one image write the same bytes, and each rename is atomic.
    With ``fsync=True`` each new file, and then the folder (:meth:`sync`), is forced to disk.
    Relative folders are taken from the working directory of the moment the store is made: a
    later ``os.chdir`` does not move the images away from the records that refer to them.
    """

    def __init__(self, folder: str | os.PathLike[str], base: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.folder = Path(folder).absolute()
        self.base = Path(base).absolute()
        self.fsync = fsync
        self._prefix = Path(os.path.relpath(self.folder, self.base)).as_posix()
        self._stored: set[str] = set()  # digests known to be on disk
        self._unsynced = False
        self._lock = threading.Lock()

    def put(self, image: np.ndarray | ImageRef) -> str:
        """Store ``image`` (unless an image with its digest is stored already); its reference.
        An :class:`ImageRef` is loaded (and checked) first."""
        if isinstance(image, ImageRef):
            image = image.load()
        digest = image_digest(image)
        name = digest + PNG_SUFFIX
        if digest not in self._stored:
            path = self.folder / name
            if not path.exists():
                self._write(path, encode_png(image))
            self._stored.add(digest)
        return f"{self._prefix}/{name}"

    def sync(self) -> None:
        """With ``fsync``, force the folder's new entries to disk (call before writing a record
        that refers to them); otherwise nothing."""
        with self._lock:
            if not (self.fsync and self._unsynced):
                return
            self._unsynced = False
        if hasattr(os, "O_DIRECTORY"):  # POSIX: a directory's entries are synced through it
            descriptor = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)

    def _write(self, path: Path, data: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = _new_temporary(self.folder, path.stem[:16])
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                if self.fsync:
                    os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        with self._lock:
            self._unsynced = True


def _new_temporary(folder: Path, stem: str) -> tuple[int, str]:
    """A new ``.<stem>.<random>.tmp`` file in ``folder``, open for writing: its descriptor and
    path. Created with mode 0666 less the umask, as any new file (``tempfile.mkstemp``'s 0600
    would make the images unreadable to those who may read the trajectory file beside them)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temporary = os.path.join(folder, f".{stem}.{secrets.token_hex(8)}.tmp")
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:
            continue


@dataclass(frozen=True)
class ImageRef:
    """An image stored as a file and not read yet: what a lazy :class:`ImageLoader` gives.

    :meth:`load` (or ``np.asarray(ref)``) reads and checks it, raising :class:`ImageFileError`
    as :meth:`ImageLoader.load` does. ``reference`` is the path as recorded, relative to ``base``.
    """

    reference: str
    shape: tuple[int, ...]
    base: Path

    @property
    def path(self) -> Path:
        return ImageLoader(self.base).path(self.reference)

    def load(self) -> np.ndarray:
        return ImageLoader(self.base).load(self.reference, list(self.shape))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """The pixels, as an array's ``__array__`` gives them: read-only unless a copy is asked
        for (``np.array(ref)``, ``copy=True``) or a dtype conversion makes one, which is writable."""
        image = self.load()
        if dtype is not None and np.dtype(dtype) != image.dtype:
            return image.astype(dtype)
        return image.copy() if copy else image


class ImageLoader:
    """Load the images a record refers to, relative to ``base``, each checked against its name.

    A reference must be a relative path inside ``base`` ending in ``<digest>.png``; anything
    else, a missing file, a damaged file, or pixels that do not hash to the name (or do not
    have the recorded shape) raise :class:`ImageFileError` naming the file. Loaded images are
    read-only, and a reference loaded again (the same image in several messages) gives the same
    array object while the loader lives (see :meth:`forget`). A ``lazy`` loader reads nothing:
    :meth:`load` gives an :class:`ImageRef` to load when needed. A relative ``base`` is taken
    from the working directory of the moment the loader is made (its images load after an
    ``os.chdir``).
    """

    def __init__(self, base: str | os.PathLike[str], *, lazy: bool = False) -> None:
        self.base = Path(base).absolute()
        self.lazy = lazy
        self._loaded: dict[str, np.ndarray] = {}

    def load(self, reference: str, shape: Any) -> np.ndarray | ImageRef:
        """The image ``reference`` names (an :class:`ImageRef` when lazy); ``shape``, the shape
        recorded with it, must be a list of integers (``ValueError`` otherwise: a damaged record)."""
        if not isinstance(shape, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in shape):
            raise ValueError(f"an image reference's shape must be a list of integers, got {shape!r}")
        self.path(reference)  # a malformed reference is refused first (lazy: now, not when loaded)
        if self.lazy:
            return ImageRef(reference, tuple(shape), self.base)
        image = self._loaded.get(reference)
        if image is None:
            image = self._read(reference, shape)
            self._loaded[reference] = image
        if list(image.shape) != shape:
            raise ImageFileError(f"{self.path(reference)}: the image is {list(image.shape)}, the record says {shape}")
        return image

    def forget(self) -> None:
        """Drop the images loaded so far (the arrays handed out stay valid)."""
        self._loaded.clear()

    def path(self, reference: str) -> Path:
        """The file a reference names (``ImageFileError`` for one that points outside ``base``)."""
        if (not isinstance(reference, str) or Path(reference).is_absolute() or ".." in Path(reference).parts
                or not reference.endswith(PNG_SUFFIX)):
            raise ImageFileError(f"{reference!r} is not an image reference (a relative path to a .png file "
                                 f"inside {self.base})")
        return self.base / reference

    def _read(self, reference: str, shape: Any) -> np.ndarray:
        path = self.path(reference)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ImageFileError(f"image file {path} is missing (a trajectory file was copied without its "
                                 f"{Path(reference).parent} folder?)") from None
        except OSError as exc:
            raise ImageFileError(f"image file {path} cannot be read: {exc}") from None
        try:
            image = decode_png(data, tuple(shape))
        except ValueError as exc:
            raise ImageFileError(f"image file {path} is damaged: {exc}") from None
        if image_digest(image) != Path(reference).name[: -len(PNG_SUFFIX)]:
            raise ImageFileError(f"image file {path} does not hold the image its name promises "
                                 "(changed or damaged after it was written)")
        image.setflags(write=False)
        return image


def _check(image: Any) -> None:
    if not is_image(image):
        described = (f"an array of shape {image.shape} and dtype {image.dtype}" if isinstance(image, np.ndarray)
                     else f"a {type(image).__name__}")
        raise ValueError(f"an image must be a non-empty uint8 array of shape H x W or H x W x 1/3/4, got {described}")


def _pillow() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("storing and loading images needs Pillow: pip install pillow") from None
    return Image
