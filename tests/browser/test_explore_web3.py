"""Defects found by exploratory testing of the browser layer (third round), each pinned by a
test: a subclass hook that returns something other than a :class:`PageStatus` (``page_status``
falling off its end, ``on_message`` answering ``True``) is a ``TypeError`` naming the hook, not
an ``AttributeError`` about ``'NoneType' object has no attribute 'info'`` from inside ``step``."""

from __future__ import annotations

import pytest

from agentgym.browser import BrowserEnv, PageStatus


class _Hooks(BrowserEnv):
    """A page with a button; ``status`` and ``reply`` are what the hooks return."""

    url = ""
    status: object = PageStatus()
    reply: object = None

    def start_url(self):
        return self.url

    def page_status(self, page):
        return self.status

    def on_message(self, text):
        return self.reply


@pytest.mark.parametrize(("status", "reply", "action", "message"), [
    (None, None, "noop()", r"_Hooks.page_status\(\) must return a PageStatus, got None"),
    ({"done": True}, None, "noop()", r"_Hooks.page_status\(\) must return a PageStatus, got dict"),
    (PageStatus(), True, "send_msg_to_user('42')", r"_Hooks.on_message\(\) must return a PageStatus or None, got bool"),
])
def test_a_hook_returning_no_page_status_is_a_type_error_naming_it(pool, site, status, reply, action, message):
    _Hooks.url = site.page("/explore3/hooks.html", "<title>hooks</title><button>ok</button>")
    env = _Hooks(pool=pool)
    env.status, env.reply = status, reply
    before = pool.open_sessions
    try:
        env.reset(seed=0)
        with pytest.raises(TypeError, match=message):
            env.step(action)
        assert env.session is None and pool.open_sessions == before  # the episode's session is released
    finally:
        env.close()
