"""The web family: tasks played in a real Chromium (:class:`agentgym.browser.BrowserEnv`).

* :mod:`~agentgym.envs.web.miniwob` -- the MiniWoB++ task pages of the ``miniwob`` wheel, served
  on loopback: ``web/miniwob.<task>-v0``.
* :mod:`~agentgym.envs.web.shop` -- a WebShop-style shop over a generated catalogue, in a text
  mode and in the browser.

Each subpackage registers its environments when imported (``agentgym.envs`` imports both).
"""
