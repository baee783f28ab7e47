"""The memory settings of every browser (see "Memory" in :mod:`agentgym.browser.launch`): a
headless browser is the headless shell (``make setup`` installs it), the
driver starts with its Node.js and malloc flags (the user's own settings win, and this process's
environment is given back), a page runs in a single renderer (no spare one), the GPU process
does without SwiftShader, and none of it changes a screenshot's pixels. ``webgl=True`` brings
WebGL back."""

from __future__ import annotations

import os
import threading
import time

import psutil
import pytest

from agentgym.browser import BrowserPool
from agentgym.browser.errors import BrowserUnavailable
from agentgym.browser.launch import (DRIVER_MALLOC_ARENA_MAX, chromium_executable, driver_environment,
                                   start_playwright)
from agentgym.browser.processes import browser_processes

from .browser_helpers import wait_until

#: A page that draws text, shapes and a gradient on a 2D canvas and asks for a WebGL context.
CANVAS_PAGE = """<!doctype html><html><body style="margin:0;font:14px sans-serif">
<h3>Memory</h3><p>Text, a <button>button</button> and a canvas.</p>
<canvas id="c" width="200" height="120"></canvas>
<script>
const g = document.getElementById("c").getContext("2d");
const grad = g.createLinearGradient(0, 0, 200, 0);
grad.addColorStop(0, "#c33"); grad.addColorStop(1, "#33c");
g.fillStyle = grad; g.fillRect(0, 0, 200, 60);
g.beginPath(); g.arc(100, 90, 25, 0, Math.PI * 2); g.strokeStyle = "#090"; g.lineWidth = 5; g.stroke();
g.fillStyle = "#000"; g.font = "16px sans-serif"; g.fillText("canvas 2D", 10, 115);
window.webglWorks = !!document.createElement("canvas").getContext("webgl");
</script></body></html>"""


@pytest.fixture(scope="module")
def lean_pool():
    """One browser with the default settings, for this module alone (its processes are counted)."""
    pool = BrowserPool(1)
    yield pool
    pool.close()


def _kind(process: psutil.Process) -> str:
    """``renderer``, ``gpu-process``, ``utility``, ``zygote`` or ``browser`` (the main process)."""
    for arg in process.cmdline():
        if arg.startswith("--type="):
            return arg.split("=", 1)[1]
    return "browser"


def _drivers() -> dict[int, psutil.Process]:
    """Playwright drivers among this process's children (other tests' pools may have some)."""
    found = {}
    for child in psutil.Process().children():
        try:
            if child.name().startswith("node") and "run-driver" in child.cmdline():
                found[child.pid] = child
        except psutil.Error:
            pass
    return found


def _environ_of(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/environ", "rb") as f:
        pairs = [item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item]
    return {key.decode(): value.decode(errors="replace") for key, value in pairs}


# ------------------------------------------------------------------ the binary
def test_a_headless_browser_is_the_headless_shell_and_a_window_the_desktop_browser(monkeypatch):
    monkeypatch.delenv("AGENTGYM_CHROMIUM", raising=False)
    shell = chromium_executable(headless=True)
    assert os.path.basename(shell) in ("chromium-headless-shell", "headless_shell"), \
        f"{shell}: no headless shell found (make setup installs the Debian package chromium-headless-shell)"
    desktop = chromium_executable(headless=False)
    assert "headless" not in os.path.basename(desktop) and os.access(desktop, os.X_OK)
    # The user's choice wins for both.
    monkeypatch.setenv("AGENTGYM_CHROMIUM", desktop)
    assert chromium_executable(headless=True) == chromium_executable(headless=False) == desktop
    monkeypatch.setenv("AGENTGYM_CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(BrowserUnavailable, match="not an executable file"):
        chromium_executable()


# ------------------------------------------------------------------ the driver's environment
def test_driver_environment_adds_the_flags_and_keeps_the_users():
    assert driver_environment({}) == {"NODE_OPTIONS": "--max-semi-space-size=1",
                                      "MALLOC_ARENA_MAX": DRIVER_MALLOC_ARENA_MAX}
    # The user's NODE_OPTIONS stays and comes first; their own semi-space size and arena count win.
    assert driver_environment({"NODE_OPTIONS": "--enable-source-maps"})["NODE_OPTIONS"] == \
        "--enable-source-maps --max-semi-space-size=1"
    mine = {"NODE_OPTIONS": "--max-semi-space-size=8 --trace-warnings", "MALLOC_ARENA_MAX": "4"}
    assert driver_environment(mine) == {"NODE_OPTIONS": "--max-semi-space-size=8 --trace-warnings"}
    assert driver_environment({"NODE_OPTIONS": "--max-semi-space-size 8"})["NODE_OPTIONS"] == \
        "--max-semi-space-size 8"


def test_the_driver_gets_the_flags_and_this_process_gets_its_environment_back(monkeypatch):
    monkeypatch.setenv("NODE_OPTIONS", "--trace-warnings")
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    others = _drivers()
    playwright = start_playwright()
    try:
        new = [pid for pid in _drivers() if pid not in others]
        assert len(new) == 1, "start_playwright() started no driver (or several)"
        env = _environ_of(new[0])
        assert env.get("NODE_OPTIONS") == "--trace-warnings --max-semi-space-size=1"
        assert env.get("MALLOC_ARENA_MAX") == DRIVER_MALLOC_ARENA_MAX
    finally:
        playwright.stop()
    assert os.environ["NODE_OPTIONS"] == "--trace-warnings"
    assert "MALLOC_ARENA_MAX" not in os.environ


def test_driver_starts_from_several_threads_each_get_the_flags_and_restore_the_environment():
    before = dict(os.environ)
    others = _drivers()
    count = 3
    all_started = threading.Barrier(count + 1, timeout=60)
    checked = threading.Event()
    errors: list[BaseException] = []

    def start() -> None:
        # Playwright's synchronous objects belong to their thread: each thread stops its own.
        playwright = None
        try:
            playwright = start_playwright()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        try:
            all_started.wait()
            checked.wait(60)
        finally:
            if playwright is not None:
                playwright.stop()

    threads = [threading.Thread(target=start) for _ in range(count)]
    for t in threads:
        t.start()
    try:
        all_started.wait()
        assert not errors
        new = [pid for pid in _drivers() if pid not in others]
        assert len(new) == count
        assert all("--max-semi-space-size=1" in _environ_of(pid).get("NODE_OPTIONS", "").split() for pid in new)
    finally:
        checked.set()
        for t in threads:
            t.join(60)
    assert dict(os.environ) == before


# ------------------------------------------------------------------ the browser's processes
def test_one_page_runs_in_one_renderer_of_the_headless_shell_and_the_gpu_process_has_no_swiftshader(lean_pool, site):
    url = site.page("/memory/canvas.html", CANVAS_PAGE)
    session = lean_pool.open_session()
    try:
        session.run(lambda page: page.goto(url))
        marker = session.worker.marker

        def kinds() -> list[str]:
            return sorted(_kind(p) for p in browser_processes(marker))

        # Chromium starts a spare renderer shortly after a navigation when site isolation is on:
        # give it the time to show up, then there must be exactly one renderer.
        wait_until(lambda: "gpu-process" in kinds(), timeout=10)
        time.sleep(1.0)
        assert kinds().count("renderer") == 1, kinds()
        main = [p for p in browser_processes(marker) if _kind(p) == "browser"]
        assert len(main) == 1 and os.path.samefile(main[0].exe(), chromium_executable()), main
        gpu = [p for p in browser_processes(marker) if _kind(p) == "gpu-process"]
        maps = " ".join(m.path for p in gpu for m in p.memory_maps())
        assert "swiftshader" not in maps.lower() and "libGLESv2" not in maps, maps
        assert session.run(lambda page: page.evaluate("window.webglWorks")) is False
        assert session.run(lambda page: page.evaluate(
            "() => !!document.createElement('canvas').getContext('2d')")) is True
    finally:
        session.close()


def test_webgl_pool_brings_webgl_back_and_screenshots_are_the_same_pixels(lean_pool, site):
    url = site.page("/memory/canvas.html", CANVAS_PAGE)
    webgl_pool = BrowserPool(1, webgl=True)
    try:
        shots = []
        for pool in (lean_pool, webgl_pool):
            session = pool.open_session(viewport=(320, 240))
            try:
                session.run(lambda page: page.goto(url))
                shots.append(session.run(lambda page: page.screenshot(type="png")))
                webgl = session.run(lambda page: page.evaluate("window.webglWorks"))
            finally:
                session.close()
        assert webgl is True  # the last pool's
        assert shots[0][:8] == b"\x89PNG\r\n\x1a\n" and len(shots[0]) > 1000
        assert shots[0] == shots[1], "the screenshot differs without the software rasteriser"
    finally:
        webgl_pool.close()
