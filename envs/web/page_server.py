"""``PageServer``: the threaded HTTP server behind the web family's loopback sites.

A :class:`~http.server.ThreadingHTTPServer` with daemon request threads that stays quiet when a
browser hangs up mid-answer: a page left (an episode's context closed, a click that navigates)
while its images or scripts are still being sent is routine, and the standard server prints a
traceback to stderr for each (``BrokenPipeError``). Any other error of a request is reported as
the standard server reports it.
"""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer

__all__ = ["PageServer"]

#: What a client that went away makes the answer's write raise.
_HUNG_UP = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class PageServer(ThreadingHTTPServer):
    """A threaded HTTP server (daemon threads) that ignores clients hanging up."""

    daemon_threads = True

    def handle_error(self, request, client_address):  # noqa: D102 (socketserver's hook)
        if isinstance(sys.exc_info()[1], _HUNG_UP):
            return
        super().handle_error(request, client_address)
