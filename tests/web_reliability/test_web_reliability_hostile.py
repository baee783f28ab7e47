"""300 MiniWoB++ episodes of random and hostile actions while browsers are killed under them.

Several threads play short episodes of :class:`~agentgym.envs.web.miniwob.env.MiniWoBEnv` (each
thread its own environment) on one :class:`~agentgym.browser.BrowserPool` of two real Chromium
browsers, while another thread SIGKILLs a browser's processes every 15 to 35 episodes, at a
random moment. The actions mix the random agent's moves with hostile ones: script injection
through ``fill``, ``goto`` to outside hosts, ``javascript:`` and ``file:`` URLs, huge text,
invalid ids, garbage and non-text.

What must hold:

* every episode ends either with an observation after each of its steps (text) or with a marked
  failure -- a :class:`~agentgym.browser.BrowserError` (``BrowserCrashed`` when its browser was
  killed); nothing else is ever raised, and a failed episode never stops the next one;
* no injected script ever runs (a page flag the payloads would set stays unset), and no
  refused navigation leaves the loopback page;
* the next episode never sees the last one's state: cookies, localStorage, sessionStorage,
  IndexedDB, window and DOM flags planted in each episode are absent at the start of every
  episode (the same browsers serve episode after episode);
* after the environments and the pool are closed: no Chromium or Playwright driver process
  started by the test is left (psutil), no thread, and no file descriptors beyond a few.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from typing import Any

import psutil
import pytest

from agentgym.browser import BrowserError, BrowserPool
from agentgym.browser.processes import browser_descendants
from agentgym.envs.web.miniwob.env import MiniWoBEnv
from agentgym.envs.web.miniwob.server import shared_server

EPISODES = 300
THREADS = 6
BROWSERS = 2
#: Tasks with text fields (for the injections), checkboxes, links and buttons.
TASKS = ("enter-text", "login-user", "click-button", "click-checkboxes", "focus-text", "click-link")

#: Set by any payload that runs; checked after every injection.
PWNED = "window.__pwned === undefined && !document.querySelector('[data-pwned]')"
INJECTIONS = (
    "<script>window.__pwned = 1</script>",
    "<img src=x onerror=\"window.__pwned = 2; document.body.setAttribute('data-pwned', 1)\">",
    "\"><svg onload=\"window.__pwned = 3\">",
    "'); window.__pwned = 4; ('",
    "javascript:window.__pwned = 5",
    "${window.__pwned = 6}",
)
OUTSIDE_URLS = (
    "http://example.com/", "https://8.8.8.8/", "http://169.254.169.254/latest/meta-data/",
    "http://[2001:4860:4860::8888]/", "ftp://127.0.0.1/", "//example.org/x",
)
JAVASCRIPT_URLS = ("javascript:window.__pwned = 7", " JaVaScRiPt:window.__pwned = 8", "javascript://%0Awindow.__pwned=9")
FILE_URLS = ("file:///etc/passwd", "file://localhost/etc/hostname", "FILE:///proc/self/environ")
GARBAGE = (
    "", "   ", "\x00\x01\x02", "click(", "click('1'", "fill()", "click(1, 2, 3, 4)", "((((((((((((",
    "__import__('os').system('touch /tmp/agentgym-pwned')", "lambda: 1", "click(id)", "f'{1}'",
    "\ud800", "🙂" * 300, "click('\U0001f642')", "press('NoSuchKey')", "select_option('1', 'nope')",
    "mouse_click(99999, -5)", "scroll(1e9, -1e9)", "noop(-1)", "send_msg_to_user('done?')",
    # Drags that go nowhere or never end: out of the viewport, onto ids that do not exist, a
    # button pressed and never released (the next episode's page starts with it up).
    "mouse_drag_and_drop(5, 5, 99999, 5)", "drag_and_drop('1', '987654')", "mouse_down(10, 10)",
    "mouse_down(10, 10, 'right')\nmouse_move(50, 50)", "mouse_up(1, 1, 'sideways')",
    # Tabs and keys: a tab that leaves the task, tabs that do not exist, the last tab closed, a
    # key held down and never released, giving up.
    "new_tab()", "tab_focus(99)", "tab_focus(-1)", "tab_close()", "keyboard_down('Shift')",
    "click('1', 'right', ['Control'])", "report_infeasible('no')", "upload_file('1', '/etc/passwd')",
)

#: What an episode's page holds of earlier episodes (nothing, as CLEAN says), read at its start;
#: then it plants its own -- a cookie, storage, an IndexedDB database, window and DOM flags --
#: and says whether they took (else their absence later would prove nothing).
CHECK_AND_PLANT = """async (mark) => {
  const found = {
    cookie: document.cookie,
    local: localStorage.length,
    session: sessionStorage.length,
    databases: (await indexedDB.databases()).length,
    windowFlag: window.__leak !== undefined,
    domFlag: !!document.querySelector("[data-leak]"),
    pwned: window.__pwned !== undefined,
  };
  document.cookie = "leak=" + mark + "; path=/; max-age=3600";
  localStorage.setItem("leak", mark);
  sessionStorage.setItem("leak", mark);
  window.__leak = mark;
  const flag = document.createElement("div");
  flag.setAttribute("data-leak", mark);
  document.body.appendChild(flag);
  await new Promise((done) => {
    const request = indexedDB.open("leak-" + mark, 1);
    request.onupgradeneeded = () => request.result.createObjectStore("s");
    request.onsuccess = () => { request.result.close(); done(); };
    request.onerror = () => done();
  });
  const planted = document.cookie.includes("leak=" + mark) && localStorage.getItem("leak") === mark
    && sessionStorage.getItem("leak") === mark && (await indexedDB.databases()).some((d) => d.name === "leak-" + mark);
  return {found, planted};
}"""
CLEAN = {"cookie": "", "local": 0, "session": 0, "databases": 0, "windowFlag": False, "domFlag": False,
         "pwned": False}


def hostile_action(rng: random.Random, env: MiniWoBEnv) -> tuple[Any, str]:
    """An action and its kind: the random agent's move, or one of the hostile ones."""
    ids = env.interactive_ids or ["1"]
    roll = rng.random()
    if roll < 0.30:
        return env.random_action(rng), "random"
    if roll < 0.45:
        return f"fill({rng.choice(ids)!r}, {rng.choice(INJECTIONS)!r})", "inject"
    if roll < 0.53:
        return f"goto({rng.choice(OUTSIDE_URLS)!r})", "outside"
    if roll < 0.59:
        return f"goto({rng.choice(JAVASCRIPT_URLS)!r})", "javascript"
    if roll < 0.64:
        return f"goto({rng.choice(FILE_URLS)!r})", "file"
    if roll < 0.70:
        size = rng.choice((15_000, 19_000))
        return f"fill({rng.choice(ids)!r}, {'x' * size!r})", "huge"
    if roll < 0.73:
        return "click('1')\n" + "y" * 150_000, "huge"  # over max_action_chars: refused unparsed
    if roll < 0.83:
        return rng.choice((f"click('{rng.randrange(10_000, 10**9)}')", "click('0')", "fill('-3', 'x')",
                           "hover('99999999999999999999')", "check('abc')")), "invalid-id"
    if roll < 0.97:
        return rng.choice(GARBAGE), "garbage"
    return rng.choice((None, 12345, b"click('1')", ["click('1')"])), "not-text"


class Tally:
    """What the threads saw, under a lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started = 0
        self.outcomes: Counter[str] = Counter()
        self.actions: Counter[str] = Counter()
        self.problems: list[str] = []

    def claim_episode(self) -> int | None:
        with self.lock:
            if self.started >= EPISODES:
                return None
            self.started += 1
            return self.started

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)


def play(env: MiniWoBEnv, number: int, rng: random.Random, tally: Tally) -> str:
    """One episode; returns how it ended ("completed"), or raises a BrowserError."""
    observation, _ = env.reset(seed=number)
    if not isinstance(observation, str) or "Goal:" not in observation:
        tally.problem(f"episode {number}: reset gave {observation!r:.200}")
    seen = env.run_in_page(lambda page: page.evaluate(CHECK_AND_PLANT, f"e{number}"))
    if seen["found"] != CLEAN:
        tally.problem(f"episode {number} started with an earlier episode's state: {seen['found']}")
    if not seen["planted"]:
        tally.problem(f"episode {number} could not plant its state (the check above would prove nothing)")
    for _ in range(rng.randint(1, 3)):
        action, kind = hostile_action(rng, env)
        with tally.lock:
            tally.actions[kind] += 1
        observation, reward, terminated, truncated, info = env.step(action)
        if not isinstance(observation, str) or not observation.strip():
            tally.problem(f"episode {number}: {kind} action {action!r:.80} gave {observation!r:.200}")
        if kind in ("outside", "javascript", "file", "not-text", "invalid-id") and info.get("error") is None:
            tally.problem(f"episode {number}: {kind} action {action!r:.80} was not refused")
        if terminated or truncated:
            return "completed"
        if kind in ("inject", "javascript"):
            if not env.run_in_page(lambda page: page.evaluate(f"() => {PWNED}")):
                tally.problem(f"episode {number}: {action!r:.80} ran a script")
        if kind in ("outside", "javascript", "file"):
            url = env.run_in_page(lambda page: page.url)
            if not url.startswith(shared_server().base_url):
                tally.problem(f"episode {number}: {action!r:.80} left the loopback page for {url}")
    return "completed"


def run_thread(index: int, pool: BrowserPool, tally: Tally) -> None:
    rng = random.Random(1000 + index)
    env = MiniWoBEnv(task=TASKS[index % len(TASKS)], pool=pool, action_timeout=2.0, load_timeout=10.0)
    try:
        while (number := tally.claim_episode()) is not None:
            try:
                outcome = play(env, number, rng, tally)
            except BrowserError as exc:  # the marked failure of an episode (a killed browser...)
                outcome = type(exc).__name__
            except Exception as exc:  # noqa: BLE001 - anything else is a bug
                tally.problem(f"episode {number} raised {type(exc).__name__}: {exc}")
                outcome = "unexpected"
            with tally.lock:
                tally.outcomes[outcome] += 1
    finally:
        env.close()


def kill_browsers(pool: BrowserPool, tally: Tally, stop: threading.Event, kills: list[int]) -> None:
    """SIGKILL one browser's processes every 15 to 35 episodes (the same amount of havoc on a
    fast machine and a slow one), at a random moment within an episode's time."""
    rng = random.Random(7)
    next_kill = rng.randint(15, 35)
    while not stop.wait(0.05):
        if tally.started >= EPISODES - 2 * THREADS:
            return  # let the last episodes finish on live browsers
        if tally.started < next_kill:
            continue
        next_kill += rng.randint(15, 35)
        if stop.wait(rng.uniform(0.0, 0.5)):
            return
        workers = [w for w in pool.browsers if w.browser_pids()]
        if not workers:
            continue
        victims = [psutil.Process(pid) for pid in rng.choice(workers).browser_pids()]
        for victim in victims:
            try:
                victim.kill()
            except psutil.NoSuchProcess:
                pass
        kills.append(len(victims))


@pytest.mark.slow
def test_hostile_episodes_with_browsers_killed_mid_episode():
    shared_server()  # the page server's thread belongs to the process, not to this test
    threads_before = set(threading.enumerate())
    browsers_before = {p.pid for p in browser_descendants()}
    fds_before = psutil.Process().num_fds()

    pool = BrowserPool(BROWSERS)
    tally = Tally()
    stop = threading.Event()
    kills: list[int] = []
    killer = threading.Thread(target=kill_browsers, args=(pool, tally, stop, kills), name="test-killer")
    players = [threading.Thread(target=run_thread, args=(i, pool, tally), name=f"test-player-{i}")
               for i in range(THREADS)]
    started = time.monotonic()
    try:
        killer.start()
        for thread in players:
            thread.start()
        for thread in players:
            thread.join(300)
        assert not any(thread.is_alive() for thread in players), "an episode thread hung"
    finally:
        stop.set()
        killer.join(10)
        pool.close()
    elapsed = time.monotonic() - started

    report = f"outcomes {dict(tally.outcomes)}, actions {dict(tally.actions)}, {len(kills)} kills, {elapsed:.0f} s"
    print(report)  # shown with pytest -s
    assert not tally.problems, report + "\n" + "\n".join(tally.problems[:20])
    assert sum(tally.outcomes.values()) == EPISODES, report
    assert set(tally.outcomes) <= {"completed", "BrowserCrashed", "BrowserTimeout", "BrowserUnavailable"}, report
    assert tally.outcomes["completed"] >= EPISODES * 0.7, report
    assert len(kills) >= 5 and tally.outcomes["BrowserCrashed"] >= 1, report  # the kills did hit episodes
    for kind in ("random", "inject", "outside", "javascript", "file", "huge", "invalid-id", "garbage", "not-text"):
        assert tally.actions[kind] > 0, report

    # Nothing left behind: processes, threads, file descriptors.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = [p for p in browser_descendants() if p.pid not in browsers_before]
        threads = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
        if not left and not threads:
            break
        time.sleep(0.1)
    assert not left, f"browser processes left after pool.close(): {[(p.pid, p.name()) for p in left]}"
    assert not threads, f"threads left: {[t.name for t in threads]}"
    assert psutil.Process().num_fds() <= fds_before + 8, "file descriptors leaked"
