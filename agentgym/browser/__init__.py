"""A real Chromium for web and GUI environments (the ``web`` extra: Playwright, psutil).

* :mod:`~agentgym.browser.env` -- :class:`BrowserEnv`, the base class of environments played in
  a browser (hooks: the start page, the page's status, the agent's messages), and
  :class:`PageStatus`.
* :mod:`~agentgym.browser.pool` -- :class:`BrowserPool`: browsers on threads of their own, a
  fresh context per session, crash detection and relaunch, nothing left running after
  ``close()`` or at interpreter exit; :func:`shared_pool` is the process-wide one.
* :mod:`~agentgym.browser.session` -- :class:`BrowserSession`: one episode's context and page.
* :mod:`~agentgym.browser.observe` -- :func:`observe`: the accessibility-tree text with element
  ids, optionally a screenshot with a set-of-marks overlay and the DOM text.
* :mod:`~agentgym.browser.action_parser` and :mod:`~agentgym.browser.actions` -- the action
  language (``click('12')``, ``fill('15', 'text')``...), parsed without evaluation, and
  :func:`execute`, which carries an action out and turns every failure into a message.
* :mod:`~agentgym.browser.network` -- the loopback-only network policy of every context.
* :mod:`~agentgym.browser.uploads` -- :class:`~agentgym.browser.uploads.UploadFolder`, the only
  files ``upload_file`` may hand a page.
* :mod:`~agentgym.browser.launch` and :mod:`~agentgym.browser.processes` -- how Chromium is
  found and started, and how its processes are found (and killed) with psutil.

Chromium is the system's (Debian's ``chromium``; ``make setup`` installs it, ``AGENTGYM_CHROMIUM``
names another binary). Names load on first use, so importing this package starts nothing.
"""

from agentgym.browser.errors import BrowserCrashed, BrowserError, BrowserTimeout, BrowserUnavailable, SessionClosed
from agentgym.lazy import lazy_exports

# ``observe`` names both a submodule and its function. Importing the submodule (as any
# ``from agentgym.browser.observe import ...`` does) sets the package's attribute to the module,
# so a lazy export would hand out the module or the function depending on what was imported
# first. The function is bound here, once (the submodule imports no Playwright).
from agentgym.browser.observe import observe  # noqa: E402

_LAZY = {
    "BrowserEnv": "agentgym.browser.env",
    "PageStatus": "agentgym.browser.env",
    "BrowserPool": "agentgym.browser.pool",
    "shared_pool": "agentgym.browser.pool",
    "BrowserSession": "agentgym.browser.session",
    "execute": "agentgym.browser.actions",
    "parse_actions": "agentgym.browser.action_parser",
    "action_help": "agentgym.browser.action_parser",
    "ACTION_GROUPS": "agentgym.browser.action_parser",
    "resolve_action_set": "agentgym.browser.action_parser",
    "ActionError": "agentgym.browser.action_parser",
    "BrowserAction": "agentgym.browser.action_parser",
    "allowed_url": "agentgym.browser.network",
    "chromium_executable": "agentgym.browser.launch",
}
__getattr__ = lazy_exports(__name__, _LAZY)

__all__ = ["BrowserCrashed", "BrowserError", "BrowserTimeout", "BrowserUnavailable", "SessionClosed", "observe", *_LAZY]
