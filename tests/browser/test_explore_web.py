"""Defects found by exploratory testing of the browser layer, each pinned by a test: ``noop``
waits as long as it is asked to (not only as long as the action timeout), and the page's title
and address are cut in the observation like every other text the page controls; a file name
that cannot name a file (a NUL, too long, a link loop in the folder) is refused like any other;
an environment dropped without ``close()`` does not keep its browser context (and its renderer
process) open for the rest of the process; a ``goto`` whose page does not load in time is
stopped, so the next observation does not wait on it (and time out, killing the browser), and so
is the page a click or a key opens when its server does not answer in time; the random agent
plays only offered actions even when its usual draws include none of them."""

from __future__ import annotations

import gc
import os
import random
import weakref

from agentgym.browser import BrowserEnv, BrowserPool
from agentgym.browser.action_parser import ACTION_GROUPS, parse_actions
from agentgym.browser.actions import execute
from agentgym.browser.observe import MAX_NAME_CHARS, MAX_TEXT_CHARS, observe
from agentgym.browser.uploads import UploadFolder

from .browser_helpers import bid_of


def test_noop_waits_the_time_asked_even_beyond_the_action_timeout(session, site):
    session.run(lambda page: page.goto(site.page("/explore/clock.html", "<title>clock</title><p>tick</p>")))
    (wait,) = parse_actions("noop(1200)")
    before = session.run(lambda page: page.evaluate("performance.now()"))
    outcome = execute(session, wait, 0.3)  # an action timeout far below the wait asked for
    after = session.run(lambda page: page.evaluate("performance.now()"))
    assert outcome.ok, outcome.error
    assert after - before >= 1200, f"noop(1200) waited {after - before:.0f} ms of page time"


def test_a_goto_that_does_not_load_in_time_is_stopped_and_the_page_can_be_observed(session, site):
    session.run(lambda page: page.goto(site.page("/explore/before.html", "<title>before</title><p>here</p>")))
    (goto,) = parse_actions("goto('/slow?ms=6000&title=late')")
    outcome = execute(session, goto, 0.5, load_timeout=1.0)
    assert outcome.error == ("'/slow?ms=6000&title=late' did not finish loading within 1 s; "
                             "the page it opened did not answer within 1 s, so loading was stopped")
    # Playwright evaluates nothing while a navigation is pending: without the stop, this waited
    # for the late page and overran its limit (BrowserTimeout; the browser was killed).
    seen = observe(session, timeout=2.0)
    assert seen["title"] == "before" and "here" in seen["text"]
    (back,) = parse_actions("goto('/explore/before.html')")
    assert execute(session, back, 0.5, load_timeout=5.0).ok  # and the page goes on working


SLOW_LINKS = """<title>links</title>
<a href="/slow?ms=6000&title=late">late link</a> <a href="/slow?ms=600&title=soon">soon link</a>
<form action="/slow"><input name="ms" value="6000" aria-label="wait"><input type="hidden" name="title" value="late"></form>"""


def test_an_action_whose_new_page_does_not_answer_in_time_has_it_stopped(session, site):
    url = site.page("/explore/links.html", SLOW_LINKS)
    for needle, action in (('link "late link"', "click('{}')"), ('textbox "wait"', "press('{}', 'Enter')")):
        session.run(lambda page: page.goto(url))
        (parsed,) = parse_actions(action.format(bid_of(observe(session)["text"], needle)))
        outcome = execute(session, parsed, 0.5, load_timeout=1.0)
        assert outcome.error is not None and outcome.error.endswith(
            "the page it opened did not answer within 1 s, so loading was stopped"), (action, outcome.error)
        seen = observe(session, timeout=2.0)  # not held by the pending navigation (it was a BrowserTimeout)
        assert seen["title"] == "links", action


def test_a_click_whose_page_loads_within_load_timeout_is_no_error(session, site):
    # Playwright's click waits for the page it opens with the action's timeout; past it, the click
    # was done all the same, and the page opened later within load_timeout: no error to report.
    url = site.page("/explore/links.html", SLOW_LINKS)
    session.run(lambda page: page.goto(url))
    soon_link = bid_of(observe(session)["text"], 'link "soon link"')
    (soon,) = parse_actions(f"click('{soon_link}')")
    outcome = execute(session, soon, 0.3, load_timeout=5.0)
    assert outcome.ok, outcome.error
    assert observe(session, timeout=2.0)["title"] == "soon"


def test_a_long_title_and_address_are_cut(session, site):
    query = "q=" + "x" * 5000
    url = site.page("/explore/long-title.html", "<title>" + "T" * 50_000 + "</title><button>ok</button>") + "?" + query
    session.run(lambda page: page.goto(url))
    seen = observe(session)
    assert len(seen["title"]) <= MAX_NAME_CHARS and seen["title"].startswith("TTT") and seen["title"].endswith("…")
    assert len(seen["url"]) <= MAX_TEXT_CHARS and seen["url"].startswith(site.url("/explore/long-title.html?q=xx"))
    assert seen["url"].endswith("…")
    assert 'button "ok"' in seen["text"]


def test_a_short_title_and_address_are_shown_whole(session, site):
    url = site.page("/explore/short.html", "<title>Order  form</title><p>hi</p>")
    session.run(lambda page: page.goto(url))
    seen = observe(session)
    assert seen["title"] == "Order form" and seen["url"] == url


def test_upload_names_that_cannot_name_a_file_are_refused_not_raised(tmp_path):
    (tmp_path / "cv.txt").write_text("my cv")
    os.symlink("loop-b", tmp_path / "loop-a")  # a link loop: resolving it raises in pathlib
    os.symlink("loop-a", tmp_path / "loop-b")
    folder = UploadFolder(tmp_path)
    assert folder.names() == ["cv.txt"]  # the loop is listed as nothing, not an exception
    for name in ("a\x00b", "x" * 300, "sub/" + "y" * 5000, "loop-a"):
        assert folder.find(name) is None, name
        (action,) = parse_actions(f"upload_file('3', {name!r})")
        confined, refusal = folder.confine(action)
        assert confined is action and refusal == f"there is no file {name!r} to upload; the files are: cv.txt"
    (action,) = parse_actions("upload_file('3', 'cv.txt')")
    assert folder.confine(action)[0].args["file"] == [str(tmp_path.resolve() / "cv.txt")]


class _Page(BrowserEnv):
    url = ""

    def start_url(self):
        return self.url


def test_an_environment_dropped_without_close_has_its_session_closed(site):
    _Page.url = site.page("/explore/dropped.html", "<title>dropped</title><button>ok</button>")
    pool = BrowserPool(1)  # one browser: the next environment's calls run on the dropped one's thread
    try:
        env = _Page(pool=pool)
        env.reset(seed=0)
        env.step("click('2')")
        session, alive = env.session, weakref.ref(env)
        del env
        other = _Page(pool=pool)
        # Playwright holds its last call's frames (and so the dropped environment) until the
        # browser's thread makes its next call: this reset's.
        other.reset(seed=0)
        gc.collect()
        assert alive() is None
        other.reset(seed=1)  # the pool's next session: by now the dropped environment's is closed
        assert session.closed and pool.open_sessions == 1
        other.close()
        assert pool.open_sessions == 0
    finally:
        pool.close()


def test_the_random_agent_plays_only_offered_actions_whatever_the_offer(pool, site):
    _Page.url = site.page("/explore/random.html", "<title>random</title><input aria-label='name'><button>ok</button>")
    rng = random.Random(0)
    for offer in (["keyboard"], ["chat"], ["infeas"], ["keyboard_type"], ["coord", "chat"], *ACTION_GROUPS):
        if offer == "upload":
            continue  # needs an upload folder
        env = _Page(pool=pool, action_set=offer)
        try:
            env.reset(seed=0)
            for _ in range(25):
                action = env.random_action(rng)
                (parsed,) = parse_actions(action, env.action_set)  # raises for an action not offered
        finally:
            env.close()
