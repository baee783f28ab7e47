"""Finding and killing browser processes with psutil.

Each browser is launched with a marker switch (:data:`agentgym.browser.launch.MARKER_SWITCH`);
its main process is the one whose command line carries it, and its helpers (zygote, renderers,
GPU and utility processes) are that process's descendants.
"""

from __future__ import annotations

import os

import psutil

from agentgym.browser.launch import MARKER_SWITCH

#: Process names of Chromium and of Playwright's node driver.
BROWSER_PROCESS_NAMES = ("chromium", "chromium-browser", "chrome", "headless_shell")
DRIVER_PROCESS_NAMES = ("node",)


def _has_marker(process: psutil.Process, switch: str) -> bool:
    try:
        return switch in process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def browser_processes(marker: str, *, everywhere: bool = True) -> list[psutil.Process]:
    """The live processes of the browser tagged ``marker``: its main process first, then its
    descendants. ``everywhere=False`` looks only among this process's descendants (cheaper);
    ``True`` also finds a browser whose driver died and left it to another parent."""
    switch = MARKER_SWITCH + marker
    candidates = psutil.Process(os.getpid()).children(recursive=True)
    mains = [p for p in candidates if _has_marker(p, switch)]
    if not mains and everywhere:
        mains = [p for p in psutil.process_iter() if _has_marker(p, switch)]
    found: list[psutil.Process] = []
    for main in mains:
        found.append(main)
        try:
            found.extend(main.children(recursive=True))
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            pass
    return [p for p in found if _running(p)]


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False


def kill_process_trees(processes: list[psutil.Process], timeout: float = 5.0) -> None:
    """SIGKILL ``processes`` (and whatever they started) and wait up to ``timeout`` seconds."""
    victims: dict[int, psutil.Process] = {}
    for process in processes:
        victims[process.pid] = process
        try:
            for child in process.children(recursive=True):
                victims[child.pid] = child
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            pass
    for process in victims.values():
        try:
            process.kill()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            pass
    psutil.wait_procs(list(victims.values()), timeout=timeout)


def browser_descendants(root: int | None = None) -> list[psutil.Process]:
    """Live Chromium and Playwright-driver processes among the descendants of ``root`` (this
    process by default): what must be gone once every pool is closed."""
    try:
        children = psutil.Process(root or os.getpid()).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            name = child.name()
            cmdline = " ".join(child.cmdline())
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        is_driver = name.startswith(DRIVER_PROCESS_NAMES) and "playwright" in cmdline
        if (name.startswith(BROWSER_PROCESS_NAMES) or is_driver) and _running(child):
            found.append(child)
    return found
