"""Defects found by exploratory testing of the browser layer (third round), each pinned by a
test: a subclass hook that returns something other than a :class:`PageStatus` (``page_status``
falling off its end, ``on_message`` answering ``True``) is a ``TypeError`` naming the hook, not
an ``AttributeError`` about ``'NoneType' object has no attribute 'info'`` from inside ``step``;
an argument given twice by keyword (or by an alias beside its own name) is refused, as Python
refuses it, instead of the last one counting silently; several options asked of a single-choice
``<select>`` are refused (Playwright chose the first and dropped the others without a word)."""

from __future__ import annotations

import pytest

from agentgym.browser import BrowserEnv, PageStatus
from agentgym.browser.action_parser import ActionError, parse_actions
from agentgym.browser.actions import execute
from agentgym.browser.observe import observe

from .browser_helpers import bid_of


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


@pytest.mark.parametrize("text", ["fill('3', text='a', text='b')", "fill('3', value='a', text='b')",
                                  "send_msg_to_user(msg='yes', message='no')", "scroll(dx=0, delta_x=5, dy=1)"])
def test_an_argument_given_twice_by_keyword_is_refused(text):
    # Python itself refuses a repeated keyword; the parser kept the last one silently, and an
    # alias with its own name (value= and text=) as well, so the agent never learnt which counted.
    with pytest.raises(ActionError, match=r"argument '\w+' given twice"):
        parse_actions(text)


SELECTS = """<title>selects</title>
<select aria-label="size"><option>S</option><option>M</option><option>L</option></select>
<select aria-label="toppings" multiple><option>ham</option><option>egg</option><option>kale</option></select>"""


def test_several_options_on_a_single_choice_list_are_refused(session, site):
    session.run(lambda page: page.goto(site.page("/explore3/selects.html", SELECTS)))
    text = observe(session)["text"]
    size, toppings = bid_of(text, 'combobox "size"'), bid_of(text, '"toppings"')
    (both,) = parse_actions(f"select_option('{size}', ['M', 'L'])")
    outcome = execute(session, both, 2.0)
    # Playwright chose the first ('M') and dropped the rest without a word.
    assert outcome.error == (f"[{size}] holds one option at a time (it is not a multi-select list); "
                             f"choose one, e.g. select_option('{size}', 'M')")
    assert session.run(lambda page: page.evaluate("document.querySelector('select').value")) == "S"  # unchanged
    (one_in_a_list,) = parse_actions(f"select_option('{size}', ['L'])")
    assert execute(session, one_in_a_list, 2.0).ok
    (several,) = parse_actions(f"select_option('{toppings}', ['ham', 'kale'])")
    assert execute(session, several, 2.0).ok  # a multi-select takes several
    chosen = "Array.from(document.querySelectorAll('select[multiple] option:checked')).map((o) => o.value)"
    assert session.run(lambda page: page.evaluate(chosen)) == ["ham", "kale"]
