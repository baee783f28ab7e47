"""Nothing leaks: no Chromium, driver or thread outlives ``pool.close()`` or the interpreter,
a forked child never touches its parent's browsers, and many threads share two browsers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import psutil
import pytest

from agentgym.browser import BrowserEnv, BrowserPool, PageStatus, shared_pool
from agentgym.browser.launch import MARKER_SWITCH
from agentgym.browser.pool import close_all_pools
from agentgym.browser.processes import browser_processes

from .browser_helpers import wait_until


def _descendants() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True) if _alive(p)}


def _alive(process: psutil.Process) -> bool:
    """Running and not a zombie; a process that exits while it is looked at is not alive."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _marked(marker: str) -> list[psutil.Process]:
    """Every live process on the machine carrying ``marker`` (not only this process's children)."""
    switch = MARKER_SWITCH + marker
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if switch in (process.info["cmdline"] or []) and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return found


def test_close_leaves_no_process_and_no_thread(site):
    url = site.page("/life/page.html", "<p>alive</p>")
    before = _descendants()
    pool = BrowserPool(2)
    sessions = [pool.open_session() for _ in range(2)]  # both browsers start
    for session in sessions:
        session.run(lambda page: page.goto(url))
    workers = pool.browsers
    markers = [w.marker for w in workers]
    assert len(workers) == 2 and len(set(markers)) == 2
    assert all(browser_processes(marker) for marker in markers)
    threads = {w.name for w in workers}
    assert threads <= {t.name for t in threading.enumerate()}
    started = _descendants() - before
    assert any("node" in psutil.Process(pid).name() for pid in started)  # the Playwright drivers

    pool.close()
    assert pool.closed and pool.open_sessions == 0
    assert all(not _marked(marker) for marker in markers)
    assert not threads & {t.name for t in threading.enumerate()}
    assert wait_until(lambda: not (_descendants() - before)), [psutil.Process(p).cmdline()[:2] for p in _descendants() - before]
    pool.close()  # idempotent
    with pytest.raises(Exception, match="closed"):
        pool.open_session()


EXITS_WITHOUT_CLOSING = textwrap.dedent("""
    import atexit, json, sys

    def after_agentgyms_hook():  # registered first, so it runs after agentgym's own hook
        from agentgym.browser.processes import browser_processes
        print(json.dumps({"closed": pool.closed, "left": len(browser_processes(pool.browsers[0].marker))}))

    atexit.register(after_agentgyms_hook)
    from agentgym.browser import BrowserPool
    pool = BrowserPool(1)
    session = pool.open_session()
    session.run(lambda page: page.goto(sys.argv[1]))
    print(json.dumps({"marker": pool.browsers[0].marker, "pids": session.worker.browser_pids()}), flush=True)
    raise SystemExit("leaving with an error, the session and the pool still open")
""")


def test_an_interpreter_that_exits_without_closing_leaves_nothing(site):
    url = site.page("/life/exit.html", "<p>exit</p>")
    result = subprocess.run([sys.executable, "-c", EXITS_WITHOUT_CLOSING, url], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1 and "leaving with an error" in result.stderr, result.stderr[-2000:]
    running, at_exit = (json.loads(line) for line in result.stdout.strip().splitlines()[-2:])
    report = running
    assert len(report["pids"]) >= 2
    # agentgym's atexit hook closed the pool (before Playwright's driver went away)...
    assert at_exit == {"closed": True, "left": 0}
    # ...and no process of its browser is left anywhere.
    assert wait_until(lambda: not _marked(report["marker"]), 5)
    assert not [pid for pid in report["pids"] if psutil.pid_exists(pid)
                and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_child_gets_its_own_pool_and_leaves_the_parents_alone(site):
    url = site.page("/life/fork.html", "<title>parent</title><p>parent page</p>")
    parent_pool = BrowserPool(1)
    try:
        session = parent_pool.open_session()
        session.run(lambda page: page.goto(url))
        parent_shared = shared_pool()
        pids = session.worker.browser_pids()
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # the child: report, then exit without running the parent's atexit hooks
            try:
                mine = shared_pool()
                report = {"new_pool": mine is not parent_shared and mine.id != parent_shared.id,
                          "owner": mine._owner_pid == os.getpid(), "workers": len(mine.browsers)}
                close_all_pools()  # what atexit does: the parent's pools must survive it
                report["closed_own"] = mine.closed
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                report = {"error": repr(exc)}
            os.write(write, json.dumps(report).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as pipe:
            report = json.loads(pipe.read())
        os.waitpid(child, 0)
        assert report == {"new_pool": True, "owner": True, "workers": 0, "closed_own": True}
        # The parent's browser is untouched and still works.
        assert all(psutil.pid_exists(pid) for pid in pids)
        assert session.run(lambda page: page.title()) == "parent"
        assert shared_pool() is parent_shared
    finally:
        parent_pool.close()


class ClickToWin(BrowserEnv):
    """The page shows buttons 0..4; the task (drawn from the seed) names the one to click."""

    instructions = "Click the button the goal names."
    site_url = ""

    def prepare_episode(self, options):
        self.target = self.rng.randrange(5)

    def start_url(self):
        return f"{self.site_url}/life/buttons.html"

    def goal_text(self):
        return f"Click button {self.target}."

    def page_status(self, page):
        clicked = page.evaluate("window.clicked")
        return PageStatus(done=clicked is not None, success=clicked == self.target)


BUTTONS = "<title>buttons</title>" + "".join(
    f"<button onclick='window.clicked = {i}'>Button {i}</button>" for i in range(5))


def _play_to_win(env: ClickToWin, seed: int) -> bool:
    observation, _ = env.reset(seed=seed)
    line = next(line for line in observation.splitlines() if f'"Button {env.target}"' in line)
    bid = line.strip()[1:line.strip().index("]")]
    _, reward, terminated, _, info = env.step(f"click('{bid}')")
    return terminated and info["success"] and reward == 1.0


def test_eight_threads_share_two_browsers(pool, site):
    site.page("/life/buttons.html", BUTTONS)
    errors: list[BaseException] = []
    wins: list[bool] = []
    lock = threading.Lock()

    def player(index: int) -> None:
        env = ClickToWin(pool=pool)
        env.site_url = site.base
        try:
            for episode in range(2):
                won = _play_to_win(env, seed=index * 10 + episode)
                with lock:
                    wins.append(won)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            with lock:
                errors.append(exc)
        finally:
            env.close()

    threads = [threading.Thread(target=player, args=(i,), name=f"player-{i}") for i in range(8)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(t.is_alive() for t in threads), "a player hung"
    assert not errors, errors
    assert wins == [True] * 16, wins
    assert len(pool.browsers) <= 2 and pool.open_sessions == 0
    assert time.monotonic() - start < 120
    # Every episode's context was closed: the browsers hold none.
    for worker in pool.browsers:
        assert wait_until(lambda: worker.call(lambda: len(worker.browser.contexts), 10) == 0)


def test_copies_of_a_pool_are_the_pool_itself():
    """Gymnasium's env checker deep-copies make()'s arguments; a pool given as one must survive it
    (a copy would be a second handle with no browsers, or fail on its thread queue)."""
    import copy

    pool = BrowserPool(1)
    try:
        assert copy.deepcopy({"pool": pool})["pool"] is pool
        assert copy.copy(pool) is pool
    finally:
        pool.close()
