"""Fixtures of the browser-core tests (the servers live in ``browser_helpers``).

* ``site`` -- the test pages on 127.0.0.1; ``outside`` -- a server on a non-loopback address;
* ``pool`` -- one :class:`BrowserPool` of two browsers for the whole folder; ``session`` -- a fresh
  session on it per test.
"""

from __future__ import annotations

import socket
import time

import pytest


from .browser_helpers import FORM_PAGE, NEXT_PAGE, Outside, checked_pool, non_loopback_ipv4, start_site


@pytest.fixture(scope="package")
def site():
    site, stop = start_site()
    yield site
    stop()


@pytest.fixture(scope="package")
def outside():
    """The outside server, or ``None`` on a machine without a non-loopback address (the tests
    then judge by the browser's own error codes alone)."""
    host = non_loopback_ipv4()
    if host is None:
        yield None
        return
    server = Outside(host)
    # Sanity: the address really is reachable from here (so "nothing arrived" means blocked).
    with socket.create_connection((host, server.port), timeout=2):
        pass
    deadline = time.monotonic() + 2
    while not server.server.connections and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.server.connections, "the outside server did not see a direct connection"
    server.server.connections.clear()
    yield server
    server.close()


@pytest.fixture(scope="package")
def pool():
    """Two browsers shared by the tests of this folder (closed when they are done, so no later
    test elsewhere sees them); closing them leaves no process behind."""
    with checked_pool(2) as pool:
        yield pool


@pytest.fixture
def session(pool):
    session = pool.open_session()
    yield session
    session.close()


@pytest.fixture(scope="module")
def form_session(pool, site):
    """One session for the module's form tests (each test loads the form afresh)."""
    site.page("/form/page.html", FORM_PAGE)
    site.page("/form/next.html", NEXT_PAGE)
    session = pool.open_session()
    yield session
    session.close()


@pytest.fixture
def form(form_session, site):
    """The session, on a new document of the form page."""
    form_session.run(lambda page: page.goto(site.url("/form/page.html")))
    return form_session
