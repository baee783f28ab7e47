"""How agentgym starts Chromium: the system's binary, driven by Playwright.

``playwright install`` cannot download browsers on the project's machines, so the browser is
Debian's: ``chromium-headless-shell`` for headless browsers (what Playwright itself launches
headless since 1.49: Chromium's content layer without the desktop browser around it) and
``chromium`` for a window (``make setup`` installs both). :func:`chromium_executable` finds
them (``AGENTGYM_CHROMIUM`` overrides the search), :func:`launch_options` builds the
arguments of ``playwright.chromium.launch``.

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
(The WebRTC policy is given twice: the desktop browser reads ``--webrtc-ip-handling-policy``,
the headless shell, which has no desktop preferences, only the ``--force-`` form.)

Memory. One browser with one page is six to eight processes; the binary and the switches below
keep the per-environment cost down without changing what a page shows or how it steps.
Measured with one MiniWoB environment (PSS of the whole process tree, Chromium 150,
Playwright 1.65):

* The headless shell instead of the desktop browser in headless mode: the browser process
  holds 47 MB instead of 125 (no profile, extension, sync or UI services), the storage
  service runs in it, and a MiniWoB environment takes 355 MB instead of 476 while stepping
  about 30% faster. Pages render with the same Blink and Skia; what can differ from the
  desktop browser's pixels is the font of form controls' labels (a button's text came out a
  pixel narrower), which the shell takes without the desktop's font settings.
* ``--disable-site-isolation-trials``: a page's renderer is chosen by the context alone, and
  Chromium no longer keeps a *spare* renderer warm for the next cross-site navigation (a second
  renderer process with nothing in it): about 6 MB. Our pages are all on loopback, the sandbox
  is off anyway (containers run as root), and contexts never share a renderer either way.
* ``--disable-software-rasterizer``: the GPU process does not load SwiftShader (GL in software),
  about 11 MB. With ``--disable-gpu`` pages are rasterised and composited by Skia in software
  anyway, so canvas 2D and screenshots are unchanged; what goes is WebGL, which no environment
  here uses (``BrowserPool(webgl=True)`` brings it back).
* The Playwright driver (Node.js) runs with ``--max-semi-space-size=1`` (see
  :func:`start_playwright`): its young generation stays at 1 MB semi-spaces instead of growing
  to 16 MB under the stream of short-lived protocol messages, about 22 MB per driver; and with
  ``MALLOC_ARENA_MAX=2``, glibc's malloc arenas shared by its threads, about 5 MB.

Tried and not kept: ``--in-process-gpu`` (the GPU process's memory moves into the browser
process, no saving), ``--no-zygote`` (renderers no longer share the zygote's pages: 26 MB
*more*), ``--single-process`` (the browser dies opening a page), V8 flags for the renderers
(``--js-flags``, lite mode included: under 5 MB), a jitless driver (5 MB, more CPU per step),
Chromium features such as ``NetworkServiceInProcess2`` (about 10 MB less, but
``--enable-features`` replaces Playwright's own list rather than adding to it), and, with no
measurable change, ``--enable-low-end-device-mode``, ``--num-raster-threads=1``,
``--disable-back-forward-cache``, ``--renderer-process-limit=1`` and
``--disable-gpu-compositing`` (``--disable-threaded-compositing`` stalls page loads).

Also tried and not kept: the driver under the machine's Node 20 instead of the Node 26
Playwright 1.65 bundles (Playwright's ``PLAYWRIGHT_NODEJS_PATH``). After 60 steps it held
102-104 MB instead of 126 (its binary's pages 39 MB instead of 60), but over the benchmark's
30 s windows 114 and 140 MB against 120 and 121 (its heap grows further under Node 20): no
dependable saving, and the bundled Node is the one Playwright is tested with. Capping the
driver's heap (``NODE_OPTIONS=--max-old-space-size=32``) changed nothing; at 20 MB the
driver dies (its live heap is larger).

Where the driver's memory goes (sampled from its ``smaps`` while one MiniWoB environment
stepped for 60 s): about 120 MB, of it 52 MB of the Node binary's pages, 53 MB of V8 heap and
14 MB of malloc heap, the same with the machine's Node 20 (``PLAYWRIGHT_NODEJS_PATH``), without
the context's route (the loopback guard) and without the pages' network listeners. BrowserGym's
driver, Playwright 1.44 on its bundled Node 20, holds 74-100 MB in the same benchmark, at a
third of the steps per second; ours stepping at that pace holds 114 MB. The difference is the
newer driver itself, not the route, the listeners, the Node version or the pace.

Everything at once (``probe_browser_memory.py``, click-button, 60 steps): the network service
in the browser process (``NetworkServiceInProcess2`` added to Playwright's own
``--enable-features`` list), ``--in-process-gpu``, ``--no-zygote`` and a driver in V8's lite
mode (no optimising compilers: 9 MB fewer of Node's code pages, about 14 MB in all) leave the
browser and one renderer: 329 MB against 363 with the defaults above, about 0.79x of
BrowserGym's environment. The Node driver (about 100 MB at best, its V8 heap alone 29 MB) and
the Chromium binary's code pages (about 135 MB across the tree) are the floor; none of these
is kept, as each costs a coupling to Playwright's flag list or CPU per step for a few MB.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from typing import Any, Mapping

#: Switches every browser is launched with: no sandbox (containers run as root), no GPU, no
#: traffic of Chromium's own (updates, sync, safe browsing) — nothing but loopback may leave it —
#: and no spare renderer (see "Memory" above).
CHROMIUM_ARGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-site-isolation-trials",
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

#: Added unless the pool asks for WebGL: no SwiftShader in the GPU process (see "Memory" above).
NO_WEBGL_ARGS: tuple[str, ...] = ("--disable-software-rasterizer",)

#: Flags of Playwright's Node.js driver (see "Memory" above and :func:`start_playwright`).
DRIVER_NODE_OPTIONS: tuple[str, ...] = ("--max-semi-space-size=1",)
#: glibc malloc arenas of the driver (its threads share two instead of one each).
DRIVER_MALLOC_ARENA_MAX = "2"

#: Hosts that bypass the dead-end proxy: loopback only (``<-loopback>`` drops Chromium's implicit
#: bypass list, which also holds link-local addresses such as 169.254.169.254).
PROXY_BYPASS = "<-loopback>;localhost;127.0.0.0/8;[::1]"

#: Prefix of the switch that marks a browser's processes.
MARKER_SWITCH = "--agentgym-browser="

#: Desktop browsers, looked up on ``PATH``.
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Headless shells: Debian's binary itself (its ``/usr/bin`` name is a shell script that runs the
#: binary as a child, one more process to signal), then names on ``PATH``.
_HEADLESS_SHELLS = ("/usr/lib/chromium/chromium-headless-shell", "chromium-headless-shell", "headless_shell")


def chromium_executable(headless: bool = True) -> str:
    """The path of the Chromium binary to launch: ``$AGENTGYM_CHROMIUM`` if set; else, for a
    ``headless`` browser, the first headless shell of :data:`_HEADLESS_SHELLS` that exists;
    else (or when there is none) the first of ``chromium``, ``chromium-browser``,
    ``google-chrome`` on ``PATH`` (the desktop browser runs headless too, with more memory).

    Raises:
        BrowserUnavailable: none is found (the message says how to install one).
    """
    from agentgym.browser.errors import BrowserUnavailable

    override = os.environ.get("AGENTGYM_CHROMIUM")
    if override:
        if not _is_executable(override):
            raise BrowserUnavailable(f"AGENTGYM_CHROMIUM={override!r} is not an executable file")
        return override
    for name in (_HEADLESS_SHELLS if headless else ()) + _CANDIDATES:
        path = name if os.path.isabs(name) else shutil.which(name)
        if path and _is_executable(path):
            return path
    raise BrowserUnavailable(
        "no Chromium found on PATH (looked for " + ", ".join(_CANDIDATES) + "); install it with "
        "`sudo apt-get install -y chromium chromium-headless-shell` (or `make setup`), or set "
        "AGENTGYM_CHROMIUM to its path"
    )


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


_dead_end_port: int | None = None
_dead_end_lock = threading.Lock()


def dead_end_proxy() -> str:
    """``http://127.0.0.1:<port>``, a proxy address where every connection is refused.

    The port is bound (not listening) by a socket whose descriptor this process holds until it
    exits (detached from its Python object: no ``ResourceWarning`` at interpreter exit, and
    still held while the pools' exit hook closes the browsers), so no other program can take
    it and a connection to it is refused at once.
    """
    global _dead_end_port
    with _dead_end_lock:
        if _dead_end_port is None:
            held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.bind(("127.0.0.1", 0))
            _dead_end_port = held.getsockname()[1]
            held.detach()  # the descriptor stays open, owned by no object, for the process's life
        return f"http://127.0.0.1:{_dead_end_port}"


def launch_options(*, headless: bool, marker: str, timeout_s: float, webgl: bool = False) -> dict[str, Any]:
    """Keyword arguments of ``playwright.chromium.launch`` for one browser tagged ``marker``
    (``webgl``: keep SwiftShader so that pages get WebGL contexts, at ~11 MB per browser)."""
    return {
        "executable_path": chromium_executable(headless),
        "headless": headless,
        "args": [*CHROMIUM_ARGS, *(() if webgl else NO_WEBGL_ARGS),
                 f"--proxy-server={dead_end_proxy()}", f"--proxy-bypass-list={PROXY_BYPASS}",
                 "--webrtc-ip-handling-policy=disable_non_proxied_udp",
                 "--force-webrtc-ip-handling-policy=disable_non_proxied_udp", MARKER_SWITCH + marker],
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


_driver_env_lock = threading.Lock()


def driver_environment(environ: Mapping[str, str], temp_dir: str | None = None) -> dict[str, str]:
    """The variables :func:`start_playwright` sets while the driver starts, given the
    environment ``environ`` it would get otherwise: ``NODE_OPTIONS`` with each flag of
    :data:`DRIVER_NODE_OPTIONS` appended that it does not set already, and
    ``MALLOC_ARENA_MAX`` (:data:`DRIVER_MALLOC_ARENA_MAX`) unless it is set. What the user set
    wins. ``temp_dir`` becomes ``TMPDIR``: the folder where the driver puts each browser's
    profile and artifacts folders and Chromium its shared-memory files."""
    words = environ.get("NODE_OPTIONS", "").split()
    for flag in DRIVER_NODE_OPTIONS:
        name = flag.split("=", 1)[0]
        if not any(word == name or word.startswith(name + "=") for word in words):
            words.append(flag)
    changes = {"NODE_OPTIONS": " ".join(words)}
    if "MALLOC_ARENA_MAX" not in environ:
        changes["MALLOC_ARENA_MAX"] = DRIVER_MALLOC_ARENA_MAX
    if temp_dir is not None:
        changes["TMPDIR"] = temp_dir
    return changes


def start_playwright(temp_dir: str | None = None) -> Any:
    """Start Playwright (its Node.js driver) for the calling thread and return it; the driver
    and its browsers keep their temporary files in ``temp_dir`` (see :func:`driver_environment`).

    Playwright hands its driver a copy of this process's environment and takes no other
    options, so the variables of :func:`driver_environment` are set in ``os.environ`` while the
    driver starts and put back (or removed) right after, under a lock (one driver start at a
    time). A subprocess another thread starts in that moment inherits them too; they only size
    Node's young generation and glibc's malloc arenas and name a temporary folder (this
    process's own, :func:`tempfile.gettempdir`, is the one it had: make ``temp_dir`` with
    :mod:`tempfile` before, which fixes it for good). This process's own malloc is not
    affected (glibc reads ``MALLOC_ARENA_MAX`` at start-up); Chromium, which the driver starts,
    inherits both and is not affected either (its malloc is PartitionAlloc's).
    """
    sync_playwright = import_sync_playwright()
    with _driver_env_lock:
        changes = driver_environment(os.environ, temp_dir)
        saved = {name: os.environ.get(name) for name in changes}
        os.environ.update(changes)
        try:
            playwright = sync_playwright().start()
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
    loop = getattr(playwright, "_loop", None)  # the event loop Playwright's sync API runs on
    if loop is not None:
        loop.set_exception_handler(_dead_driver_is_handled)
    return playwright


#: What Playwright's connection reports when its driver process ends without being stopped.
DRIVER_GONE = "Connection closed while reading from the driver"


def _dead_driver_is_handled(loop: Any, context: dict[str, Any]) -> None:
    """The event loop's exception handler: a driver that died while no call waited on it (killed
    to free a stuck call, see the browser worker, or crashed) leaves Playwright's error future
    unretrieved, which asyncio would print as "Future exception was never retrieved" when it is
    collected -- later, on stderr, long after the worker relaunched. The worker finds the dead
    driver itself (its next launch starts a new one), so that one report is dropped; every
    other goes to asyncio's default handler."""
    exception = context.get("exception")
    if type(exception) is Exception and str(exception) == DRIVER_GONE:
        return
    loop.default_exception_handler(context)
