"""What can go wrong with a browser, as exception classes.

Every error the browser layer raises is a :class:`BrowserError`. Environments turn them into
observations (an action that failed) or into a marked failure of the episode (the browser died
or hung); they never reach the agent as a traceback.
"""

from __future__ import annotations


class BrowserError(RuntimeError):
    """Base class of the browser layer's errors."""


class BrowserUnavailable(BrowserError):
    """Chromium or Playwright is missing, or Chromium failed to start. The message says how to
    install what is missing."""


class BrowserCrashed(BrowserError):
    """The browser behind a session died (its process was killed or crashed). The session is
    unusable; the pool launches a new browser at the next ``open_session``."""


class BrowserTimeout(BrowserError):
    """A call on a session did not finish in time. The session is discarded (its context is
    closed as soon as the browser thread is free; a call that still hangs after a grace period
    gets the whole browser killed, so the thread comes back)."""


class SessionClosed(BrowserError):
    """The session (or its pool) was closed before or during the call."""
