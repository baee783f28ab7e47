"""A browser that dies or hangs mid-episode: the step raises, the episode's resources are
released, the browser is relaunched, and the next episode works. Popups and pages that close
themselves are followed.

These tests kill browsers, so they run on a pool of their own (not the shared ``pool``).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import tempfile
import time

import psutil
import pytest

import agentgym.browser.actions as browser_actions
import agentgym.browser.launch as browser_launch
import agentgym.browser.worker as browser_worker
from agentgym.browser import BrowserCrashed, BrowserEnv, BrowserPool, BrowserTimeout, PageStatus
from agentgym.browser.processes import browser_processes

from .browser_helpers import wait_until

PAGES = {
    "/crash/start.html": "<title>start</title><button onclick=\"document.title = 'clicked'\">Press</button>",
    "/crash/hang.html": "<title>hang</title><button onclick='while (true) {}'>Freeze</button>",
    "/crash/hang-on-load.html": "<title>hang on load</title><script>while (true) {}</script>",
    "/crash/popup.html": (
        "<title>opener</title>"
        "<button onclick=\"window.opened = !!window.open('/crash/child.html')\">Open a window</button>"
    ),
    "/crash/child.html": ("<title>child</title><p>the popup</p>"
                          "<button onclick='window.close()'>Close the popup</button>"),
}


class PageTask(BrowserEnv):
    """Open ``options["path"]`` (default the start page); done when the title is ``clicked``."""

    instructions = "Press the button."
    site_url = ""

    def prepare_episode(self, options):
        self.path = options.get("path", "/crash/start.html")

    def start_url(self):
        return self.site_url + self.path

    def goal_text(self):
        return "Press the button."

    def page_status(self, page):
        done = page.title() == "clicked"
        return PageStatus(done=done, success=done)


@pytest.fixture(scope="module")
def own_pool():
    pool = BrowserPool(1)
    yield pool
    pool.close()


@pytest.fixture
def make_env(own_pool, site):
    """``make_env(action_timeout, load_timeout)``: a PageTask on the module's pool."""
    for path, html in PAGES.items():
        site.page(path, html)
    made = []

    def make(action_timeout: float = 5.0, load_timeout: float = 10.0) -> PageTask:
        env = PageTask(pool=own_pool, action_timeout=action_timeout, load_timeout=load_timeout)
        env.site_url = site.base
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()


@pytest.fixture
def env(make_env):
    return make_env()


@pytest.fixture
def quick_hang_limits(monkeypatch):
    """Shorter margins than the defaults (5 s beyond an action's limit, 2 s of grace), so that a
    hang is detected in about three seconds."""
    monkeypatch.setattr(browser_actions, "HANG_MARGIN_S", 1.0)
    monkeypatch.setattr(browser_worker, "HANG_GRACE_S", 0.5)


def _button(observation: str, name: str) -> str:
    line = next(line for line in observation.splitlines() if f'button "{name}"' in line)
    return line.strip()[1:line.strip().index("]")]


def test_a_killed_browser_fails_the_step_and_the_next_episode_relaunches(env, own_pool):
    observation, _ = env.reset(seed=0)
    worker = env.session.worker
    generation = worker.generation
    pids = worker.browser_pids()
    assert pids and psutil.Process(pids[0]).is_running()
    victims = [psutil.Process(pid) for pid in pids]
    for process in victims:
        process.kill()
    psutil.wait_procs(victims, timeout=5)

    with pytest.raises(BrowserCrashed):
        env.step(f"click('{_button(observation, 'Press')}')")
    assert env.session is None and own_pool.open_sessions == 0  # released
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in victims)

    observation, _ = env.reset(seed=1)
    assert worker.generation == generation + 1 and env.session.generation == generation + 1
    assert set(worker.browser_pids()).isdisjoint(pids)
    _, reward, terminated, _, info = env.step(f"click('{_button(observation, 'Press')}')")
    assert terminated and info["success"] and reward == 1.0


def test_a_killed_browser_between_episodes_is_relaunched_at_reset(env, own_pool):
    env.reset(seed=0)
    env.end_episode()
    worker = own_pool.browsers[0]
    generation, marker = worker.generation, worker.marker
    worker.kill_browser()
    assert not browser_processes(marker)
    observation, _ = env.reset(seed=0)
    assert worker.generation == generation + 1 and 'button "Press"' in observation


def test_a_driver_that_dies_while_idle_is_replaced_without_a_report_on_stderr(env, own_pool, caplog):
    observation, _ = env.reset(seed=0)
    worker = env.session.worker
    generation = worker.generation
    worker.kill_driver()  # no call waits on it: Playwright's error future goes unretrieved
    with pytest.raises(BrowserCrashed):
        env.step(f"click('{_button(observation, 'Press')}')")
    observation, _ = env.reset(seed=1)
    assert worker.generation == generation + 1 and 'button "Press"' in observation
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        gc.collect()  # collecting that future is when asyncio would print "never retrieved"
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()], caplog.text


def test_a_killed_driver_leaves_no_temporary_files(site, monkeypatch, tmp_path):
    """A driver killed to free a stuck call cannot remove its browser's profile and artifacts
    folders (nor Chromium its shared-memory files): they must not pile up in the temp folder."""
    for path, html in PAGES.items():
        site.page(path, html)
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where the driver and Chromium put theirs
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # and this process
    pool = BrowserPool(1)
    env = PageTask(pool=pool)
    env.site_url = site.base
    try:
        observation, _ = env.reset(seed=0)
        assert list(tmp_path.iterdir())  # the running browser's files are there
        env.session.worker.kill_driver()
        with pytest.raises(BrowserCrashed):
            env.step(f"click('{_button(observation, 'Press')}')")
        env.reset(seed=1)  # a new driver and browser
    finally:
        env.close()
        pool.close()
    assert not list(tmp_path.iterdir())


def test_the_event_loop_still_reports_every_other_unretrieved_error(caplog):
    loop = asyncio.new_event_loop()
    try:
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            browser_launch._dead_driver_is_handled(loop, {"message": "Future exception was never retrieved",
                                                          "exception": ValueError("a real bug")})
            browser_launch._dead_driver_is_handled(loop, {"message": "Future exception was never retrieved",
                                                          "exception": Exception(browser_launch.DRIVER_GONE)})
    finally:
        loop.close()
    reported = [r for r in caplog.records if r.name == "asyncio"]
    assert len(reported) == 1 and "a real bug" in caplog.text


def test_a_crashed_page_fails_the_step_but_the_browser_lives_on(env, own_pool):
    observation, _ = env.reset(seed=0)
    worker = env.session.worker
    generation = worker.generation
    renderers = [psutil.Process(pid) for pid in worker.browser_pids()
                 if "--type=renderer" in psutil.Process(pid).cmdline()]
    assert renderers
    for process in renderers:
        process.kill()
    psutil.wait_procs(renderers, timeout=5)
    with pytest.raises(BrowserCrashed, match="the page crashed"):
        env.step(f"click('{_button(observation, 'Press')}')")
    assert env.session is None and own_pool.open_sessions == 0
    observation, _ = env.reset(seed=1)  # a new page in the same browser
    assert worker.generation == generation and 'button "Press"' in observation


def test_a_page_stuck_in_a_loop_times_out_and_the_browser_is_replaced(make_env, own_pool, quick_hang_limits):
    env = make_env(0.5, 1.5)
    observation, _ = env.reset(options={"path": "/crash/hang.html"})
    worker = env.session.worker
    generation, marker = worker.generation, worker.marker
    start = time.monotonic()
    with pytest.raises(BrowserTimeout):
        env.step(f"click('{_button(observation, 'Freeze')}')")
    elapsed = time.monotonic() - start
    # The click gives up after its 0.5 s; the observation of the frozen page after
    # load_timeout (1.5 s); 0.5 s of grace later the browser is killed to free its thread
    # (the rest is room for killing it on a busy machine).
    assert elapsed < 0.5 + 1.5 + 0.5 + 8.0, f"the hang took {elapsed:.1f} s to detect"
    assert env.session is None and own_pool.open_sessions == 0
    assert wait_until(lambda: not browser_processes(marker)), "the hung browser was not killed"

    env = make_env()  # the next episode, with patient timeouts (the machine may be busy)
    observation, _ = env.reset(seed=3)
    assert worker.generation == generation + 1
    _, reward, terminated, _, _ = env.step(f"click('{_button(observation, 'Press')}')")
    assert terminated and reward == 1.0


def test_a_page_that_hangs_while_loading_fails_the_reset(make_env, own_pool, quick_hang_limits):
    env = make_env(0.5, 1.5)
    worker_generation = own_pool.browsers[0].generation if own_pool.browsers else 0
    start = time.monotonic()
    with pytest.raises(BrowserTimeout):
        env.reset(options={"path": "/crash/hang-on-load.html"})
    assert time.monotonic() - start < 1.5 + 8.0  # the load gives up after load_timeout
    assert env.session is None and own_pool.open_sessions == 0
    observation, _ = make_env().reset(seed=4)
    assert 'button "Press"' in observation
    assert own_pool.browsers[0].generation >= worker_generation


def test_popups_are_followed_and_closed_tabs_forgotten(env):
    observation, _ = env.reset(options={"path": "/crash/popup.html"})
    assert "Page: opener" in observation
    observation, _, _, _, info = env.step(f"click('{_button(observation, 'Open a window')}')")
    assert info["error"] is None
    # A popup is a page once Playwright has set it up (several round trips): slow on a loaded
    # machine. Each poll waits a little in the browser's thread: Playwright's events (the new page)
    # are taken in only while a call of it waits, and reading context.pages is no such call.
    popped = wait_until(lambda: len(env.run_in_page(lambda page: (page.wait_for_timeout(20), page.context.pages)[1]))
                        == 2, 30)
    assert popped, f"no popup; window.open returned a window: {env.run_in_page(lambda p: p.evaluate('window.opened'))}"
    observation, *_ = env.step("noop(100)")
    assert "Page: child" in observation and "the popup" in observation  # the newest tab is the page
    # The popup closes itself when its button is clicked: no error, the opener is shown again.
    observation, _, _, _, info = env.step(f"click('{_button(observation, 'Close the popup')}')")
    assert info["error"] is None
    observation, *_ = env.step("noop()")
    assert "Page: opener" in observation
    # The last tab goes too: the session opens a blank one and the episode goes on.
    env.run_in_page(lambda page: page.close())
    observation, _, terminated, _, info = env.step("noop()")
    assert not terminated and info["error"] is None
    assert "(the page shows nothing)" in observation
    assert len(env.run_in_page(lambda page: page.context.pages)) == 1


def test_a_browser_found_dead_while_a_page_is_opened_for_the_step_is_a_crash(session, monkeypatch):
    """The agent's pages had all closed, so the step's call first opened a blank page: a browser
    killed just then made ``context.new_page`` raise Playwright's TargetClosedError before the
    call's error handling (an unmarked failure in the hostile-episodes test). Simulated here: the
    connection still looks up, the page cannot be opened, the browser's process is gone."""
    def closed_context():
        raise RuntimeError("BrowserContext.new_page: Target page, context or browser has been closed")

    monkeypatch.setattr(session, "page_here", closed_context)
    monkeypatch.setattr(session.worker, "browser_alive", lambda *, check_process=True: not check_process)
    with pytest.raises(BrowserCrashed, match="the browser of this session died: BrowserContext.new_page"):
        session.run(lambda page: page.title())
