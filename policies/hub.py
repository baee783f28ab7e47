"""Loading a model by hub name without waiting on a network that is not there.

``from_pretrained("org/model")`` asks the Hugging Face hub first, and ``huggingface_hub`` retries a
connection that fails five times with growing pauses: on a machine without network a name that is
not in the local cache took about 50 s, and ten "Retrying" warnings, to fail. :func:`hub_reachable`
tries one connection to the hub first (a few seconds at most); when it fails, :func:`loadable_source`
gives the model's folder in the local hub cache instead of its name, so a cached model loads at once
and an uncached one fails at once, saying why.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

#: Seconds the reachability check waits for the hub to accept a connection.
CONNECT_TIMEOUT = 3.0


def hub_endpoint() -> str:
    """The hub's address: ``$HF_ENDPOINT`` if set (a mirror), else ``https://huggingface.co``."""
    return os.environ.get("HF_ENDPOINT", "").rstrip("/") or "https://huggingface.co"


def hub_reachable(timeout: float = CONNECT_TIMEOUT) -> bool:
    """Whether a TCP connection to the hub's host and port opens within ``timeout`` seconds.

    Only the connection is tried (no TLS, no request): it tells "no network" (an unknown host,
    a refused or unanswered connection) from "the network is there". A malformed endpoint (a
    port that is not a number or out of range, a broken IPv6 address) cannot be reached either."""
    try:
        parts = urlsplit(hub_endpoint())
        port = parts.port or (80 if parts.scheme == "http" else 443)
    except ValueError:  # urlsplit and .port raise on a malformed address or port
        return False
    if not parts.hostname:
        return False
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return True
    except (OSError, ValueError):  # unknown host, refused, timed out, no route
        return False


def behind_a_proxy() -> bool:
    """Whether HTTP requests go through a proxy (``HTTPS_PROXY``, ``ALL_PROXY``...): a direct
    connection then tells nothing, so :func:`loadable_source` leaves the decision to Hugging Face."""
    return any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy",
                                                 "HTTP_PROXY", "http_proxy"))


def offline_mode() -> bool:
    """Whether the user already asked Hugging Face for no network (``HF_HUB_OFFLINE``)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def loadable_source(name: str, *, is_folder: bool, revision: str | None = None) -> str:
    """What ``from_pretrained`` should be given for ``name``: ``name`` itself for a folder, in
    offline mode (Hugging Face then reads only its cache), behind a proxy, or when the hub
    answers; when it cannot be reached, the folder of ``name``'s snapshot (at ``revision``) in
    the local hub cache, so that nothing asks the network (``local_files_only`` alone does not
    stop every lookup: transformers' adapter check still asks the hub, with the retries).

    Raises:
        OSError: the hub cannot be reached and ``name`` is not in the local cache (the message
            says so, naming the endpoint).
    """
    if is_folder or offline_mode() or behind_a_proxy() or hub_reachable():
        return name
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(name, revision=revision, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - not cached (LocalEntryNotFoundError), a malformed repo id
        raise OSError(unreachable_hub_hint(name)) from exc


def unreachable_hub_hint(name: str) -> str:
    """Why ``name`` could not be loaded when the hub could not be reached. A name that is no
    path here is said to be none (``runs/wordle-sft`` from another directory, or mistyped, reads
    as a hub name ``org/model``), with the directory it was looked for in."""
    folder = "" if Path(name).expanduser().exists() else f", nor a folder here ({os.getcwd()}),"
    return (f"{name!r} is not in the local Hugging Face cache{folder} and {hub_endpoint()} cannot be reached "
            f"(no network?): download it where there is network, or give a folder")
