"""The network policy of every browser context: loopback only.

:func:`allowed_url` is the rule: ``http``/``https`` (and ``ws``/``wss``) to ``127.0.0.1`` (any
``127.x.y.z``), ``localhost`` or ``[::1]``; ``data:``, ``blob:`` and ``about:blank``. Everything
else — other hosts, ``file:``, ``ftp:``, ``chrome:``, ``javascript:``, and web URLs with user
info or a backslash (which parsers read differently) — is refused.
:func:`guard_context` installs it on a Playwright context: requests are aborted by route
interception, WebSockets to other hosts are closed, and service workers (which could fetch
around the routes) are blocked when the context is created (see :mod:`agentgym.browser.session`).
Connections no route sees (preconnects, WebRTC) are stopped at launch: see
:mod:`agentgym.browser.launch`.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

_WEB_SCHEMES = ("http", "https", "ws", "wss")
_LOCAL_SCHEMES = ("data", "blob")


def loopback_host(host: str | None) -> bool:
    """``host`` (as ``urlsplit`` gives it, brackets removed) names this machine's loopback."""
    if not host:
        return False
    host = host.lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_url(url: str) -> bool:
    """The browser may load ``url``: see the module docstring for the rule."""
    if not isinstance(url, str):
        return False
    if url == "about:blank" or url.startswith("about:blank#"):
        return True
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if scheme in _LOCAL_SCHEMES:
        return True
    # A backslash or user info is where Python's URL parser and the browser's disagree on the
    # host: the browser reads "http://evil.example\@127.0.0.1/" as a request to evil.example.
    if "\\" in url or "@" in parts.netloc:
        return False
    return scheme in _WEB_SCHEMES and loopback_host(host)


def refusal(url: str) -> str:
    """Why ``url`` is refused, for an error message shown to the agent."""
    return (f"navigation to {url!r} is not allowed: only http(s) pages on this machine "
            f"(127.0.0.1, localhost, [::1]) can be opened")


#: URLs that :func:`allowed_url` may refuse, matched in the driver so that the allowed ones
#: (nearly all of them) never make the round trip to Python. The handler decides.
_MAYBE_REFUSED = re.compile(
    r"^(?!(?:https?|wss?)://(?:localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(?::\d{1,5})?(?:[/?#]|$)"
    r"|data:|blob:|about:blank(?:#|$))"
)


def _route(route: Any) -> None:
    if allowed_url(route.request.url):
        route.continue_()
    else:
        route.abort("blockedbyclient")


def _route_web_socket(socket_route: Any) -> None:
    if allowed_url(socket_route.url):
        socket_route.connect_to_server()
    else:
        socket_route.close(code=1008, reason="agentgym: only loopback is reachable")


def guard_context(context: Any) -> None:
    """Abort every request of ``context`` that :func:`allowed_url` refuses (on the context's
    browser thread)."""
    context.route(_MAYBE_REFUSED, _route)
    context.route_web_socket(_MAYBE_REFUSED, _route_web_socket)
