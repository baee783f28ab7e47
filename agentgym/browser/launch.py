"""How agentgym starts Chromium: the system's binary, driven by Playwright.

``playwright install`` cannot download browsers on the project's machines, so the browser is the
Debian ``chromium`` package (``make setup`` installs it). :func:`chromium_executable` finds it
(``AGENTGYM_CHROMIUM`` overrides the search), :func:`launch_options` builds the arguments of
``playwright.chromium.launch``.

Every browser gets a marker switch ``--agentgym-browser=<token>`` on its command line (Chromium
ignores unknown switches) so that its process can be found with psutil — to kill it when a page
hangs, and in tests to check that none is left.

Below the route interception of :mod:`agentgym.browser.network`, which sees requests, Chromium
makes connections no route sees: preconnects (a navigation or ``<link rel=preconnect>`` opens a
TCP connection before any request exists) and WebRTC's STUN packets (UDP). Every browser
therefore sends whatever is not for loopback to a proxy that does not exist
(:func:`dead_end_proxy`: a port of 127.0.0.1 this process holds without listening, so every
connection to it is refused), with only loopback bypassing it, and WebRTC may use no UDP that
does not go through that proxy. A request that got past the routes would find no way out either.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from typing import Any

#: Switches every browser is launched with: no sandbox (containers run as root), no GPU, and no
#: traffic of Chromium's own (updates, sync, safe browsing) — nothing but loopback may leave it.
CHROMIUM_ARGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-breakpad",
    "--disable-dev-shm-usage",
    "--mute-audio",
)

#: Hosts that bypass the dead-end proxy: loopback only (``<-loopback>`` drops Chromium's implicit
#: bypass list, which also holds link-local addresses such as 169.254.169.254).
PROXY_BYPASS = "<-loopback>;localhost;127.0.0.0/8;[::1]"

#: Prefix of the switch that marks a browser's processes.
MARKER_SWITCH = "--agentgym-browser="

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_executable() -> str:
    """The path of the Chromium binary: ``$AGENTGYM_CHROMIUM`` if set, else the first of
    ``chromium``, ``chromium-browser``, ``google-chrome`` on ``PATH``.

    Raises:
        BrowserUnavailable: none is found (the message says how to install one).
    """
    from agentgym.browser.errors import BrowserUnavailable

    override = os.environ.get("AGENTGYM_CHROMIUM")
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise BrowserUnavailable(f"AGENTGYM_CHROMIUM={override!r} is not an executable file")
        return override
    for name in _CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    raise BrowserUnavailable(
        "no Chromium found on PATH (looked for " + ", ".join(_CANDIDATES) + "); install it with "
        "`sudo apt-get install -y chromium` (or `make setup`), or set AGENTGYM_CHROMIUM to its path"
    )


_dead_end: socket.socket | None = None
_dead_end_lock = threading.Lock()


def dead_end_proxy() -> str:
    """``http://127.0.0.1:<port>``, a proxy address where every connection is refused.

    The port is bound (not listening) by a socket this process keeps open, so no other program
    can take it and a connection to it is refused at once.
    """
    global _dead_end
    with _dead_end_lock:
        if _dead_end is None:
            held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.bind(("127.0.0.1", 0))
            _dead_end = held
        return f"http://127.0.0.1:{_dead_end.getsockname()[1]}"


def launch_options(*, headless: bool, marker: str, timeout_s: float) -> dict[str, Any]:
    """Keyword arguments of ``playwright.chromium.launch`` for one browser tagged ``marker``."""
    return {
        "executable_path": chromium_executable(),
        "headless": headless,
        "args": [*CHROMIUM_ARGS, f"--proxy-server={dead_end_proxy()}", f"--proxy-bypass-list={PROXY_BYPASS}",
                 "--webrtc-ip-handling-policy=disable_non_proxied_udp", MARKER_SWITCH + marker],
        "timeout": timeout_s * 1000.0,
        # The pool closes browsers itself (atexit included); Playwright's own signal handlers
        # would close them under a program that handles SIGINT/SIGTERM differently.
        "handle_sigint": False,
        "handle_sigterm": False,
        "handle_sighup": False,
    }


def import_sync_playwright() -> Any:
    """``playwright.sync_api.sync_playwright``, or :class:`BrowserUnavailable` saying how to
    install Playwright."""
    from agentgym.browser.errors import BrowserUnavailable

    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - the web extra installs it
        raise BrowserUnavailable(
            "Playwright is not installed: pip install 'agentgym[web]' (or pip install playwright); "
            "`playwright install` is not needed, the system's Chromium is used"
        ) from exc
    return sync_playwright
