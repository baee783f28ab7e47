"""Exploratory round 12: the browser layer's defects found by probing, each with its test."""

from __future__ import annotations

import pytest

from agentgym.browser.action_parser import ActionError, parse_actions
from agentgym.browser.actions import execute
from agentgym.browser.observe import observe
from agentgym.browser.scripts import MARKS_CALL, UNMARKS_CALL

from .browser_helpers import bid_of


@pytest.mark.parametrize("text", ["```click('3')```", "``` click('3') ```", "Action: ```click('3')```",
                                  "```noop()```"])
def test_a_one_line_fenced_action_keeps_its_name(text):
    # The fence's language tag (```python) was read from the text right after the backticks,
    # so ```click('3')``` lost its name: "('3')" is not an action.
    action = parse_actions(text)[0]
    assert action.name in ("click", "noop")
    if action.name == "click":
        assert action.args["bid"] == "3"


def test_a_fence_with_a_language_tag_still_drops_the_tag():
    assert [a.name for a in parse_actions("```python\r\nclick('3')\r\n```")] == ["click"]
    assert [a.name for a in parse_actions("```py \nfill('4', 'x')```")] == ["fill"]


def _act(session, text: str):
    (action,) = parse_actions(text)
    return execute(session, action, 5.0)


def test_the_space_key_is_a_key(form):
    # Playwright presses " " (the space bar), as BrowserGym's keyboard_press(" ") does; the parser
    # stripped the key to "" and refused it as no key name.
    assert parse_actions("keyboard_press(' ')")[0].args == {"key": " "}
    assert parse_actions("press('3', ' ')")[0].args == {"bid": "3", "key": " "}
    name = bid_of(observe(form)["text"], 'textbox "Name"')
    for text in (f"press('{name}', ' ')", "keyboard_press(' ')"):
        outcome = _act(form, text)
        assert outcome.ok, outcome.error
    assert form.run(lambda page: page.evaluate("window.log")).count("key: ") == 2
    with pytest.raises(ActionError, match="key name"):
        parse_actions("press('  ')")  # several spaces are no key


XHTML_FORM = """<?xml version="1.0" encoding="utf-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>xhtml form</title>
<script>window.picked = null;</script></head><body>
<h1>Order</h1><a href="/x12/form.xhtml">Again</a>
<label for="n">Name</label><input id="n" value="Ada"/>
<input type="checkbox" checked="checked" aria-label="Agree"/>
<select aria-label="Size" onchange="window.picked = this.value">
  <option>S</option><option selected="selected">M</option></select>
<textarea aria-label="Notes">first</textarea><button>Go</button>
</body></html>"""


def test_an_xhtml_page_reads_like_its_html_twin(session, site):
    # An XHTML document gives its elements' tag names in lower case: fields, boxes, lists,
    # buttons and links read as bare text or not at all, and select_option said the list was
    # "not a drop-down list".
    url = site.page("/x12/form.xhtml", XHTML_FORM, content_type="application/xhtml+xml")
    session.run(lambda page: page.goto(url))
    text = observe(session)["text"]
    for line in ('heading "Order" level=1', 'link "Again"', 'textbox "Name" value="Ada"', 'checkbox "Agree" checked',
                 'combobox "Size" value="M" options=[S, M]', 'textbox "Notes" value="first"', 'button "Go"'):
        assert line in text, text
    outcome = _act(session, f"select_option('{bid_of(text, 'combobox')}', 'S')")
    assert outcome.ok, outcome.error
    assert session.run(lambda page: page.evaluate("window.picked")) == "S"


COLLAPSED_MENU = """<title>menu</title>
<style>#menu { max-height: 0; overflow: hidden; margin: 0 } #menu.open { max-height: 200px }
#holder { position: relative }</style>
<button onclick="document.getElementById('menu').classList.toggle('open')">Menu</button>
<ul id="menu"><li><a href="#alpha">Alpha</a></li><li><a href="#beta">Beta</a></li></ul>
<div id="holder"><div style="height: 0; overflow: hidden">
  <span style="position: absolute; top: 150px">Escaped note</span></div></div>
<div style="position: relative; height: 0; overflow: hidden"><span style="position: absolute">Clipped note</span></div>
<p>Always here</p>"""


def test_a_menu_collapsed_to_no_height_is_left_out_until_it_opens(session, site):
    # A box of no height that clips its overflow (a CSS menu collapsed with max-height: 0) shows
    # nothing, yet its links were listed like an open menu's (the tree was the same before and
    # after opening it), and a click on one waited out its timeout ('another element covers it').
    url = site.page("/x12/menu.html", COLLAPSED_MENU)
    session.run(lambda page: page.goto(url))
    text = observe(session)["text"]
    assert "Alpha" not in text and "Beta" not in text and "Clipped note" not in text, text
    # Positioned by a box outside the clipping one, a note escapes it.
    assert "Escaped note" in text and "Always here" in text
    alpha = session.run(lambda page: page.evaluate(
        "document.querySelector('#menu a').getAttribute('data-agentgym-bid')"))
    outcome = _act(session, f"click('{alpha}')")
    assert outcome.error == f"element [{alpha}] is not visible; scroll to it or pick a visible element"
    menu = bid_of(text, 'button "Menu"')
    assert _act(session, f"click('{menu}')").ok
    opened = observe(session)["text"]
    assert 'link "Alpha"' in opened and 'link "Beta"' in opened, opened
    alpha = bid_of(opened, 'link "Alpha"')
    assert _act(session, f"click('{alpha}')").ok
    assert session.run(lambda page: page.evaluate("location.hash")) == "#alpha"


def test_set_of_marks_boxes_sit_on_their_elements_under_a_transformed_body(session, site):
    # A transformed <body> (translateZ(0), a common layer hack) holds fixed boxes to its own box,
    # which scrolls: the overlay inside it was drawn a scroll's height away from its elements,
    # off the screenshot.
    page = """<style>body { transform: translateZ(0); margin: 0 }</style><div style="height: 900px"></div>
      <button id="go" style="display: block; margin: 40px; width: 200px; height: 40px">Go</button>
      <div style="height: 2000px"></div>"""
    session.run(lambda p: p.goto(site.page("/x12/marks.html", page)))
    session.run(lambda p: p.evaluate("window.scrollTo(0, 700)"))
    obs = observe(session)

    def drawn(p):
        assert p.evaluate(MARKS_CALL, obs["interactive"]) == 1
        boxes = p.evaluate("""() => {
            const box = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
            return [box(document.getElementById('__agentgym_marks').children[0]), box(document.getElementById('go'))];
        }""")
        p.evaluate(UNMARKS_CALL)
        return boxes

    frame, button = session.run(drawn)
    assert frame == pytest.approx(button, abs=1), (frame, button)


@pytest.mark.parametrize("text", ["fill('3', 'run ```ls``` then ```pwd```')",
                                  "Action: send_msg_to_user('the answer is ```42```')"])
def test_backticks_inside_a_text_argument_make_no_fenced_block(text):
    # The action parser took "ls" or "42" between the backticks for a fenced block and refused it.
    (action,) = parse_actions(text)
    assert "```" in action.args["text"]
    # A fenced block still counts alone when the text around it is no action.
    assert parse_actions("```\nclick('1')\n```\nclick('2') and more")[0].args == {"bid": "1", "button": "left",
                                                                                   "modifiers": ()}


FORMATTED_FIELDS = """<title>formats</title><input type="date" aria-label="Day"><input type="time" aria-label="At">
<input type="color" aria-label="Tint"><input type="month" aria-label="Month">"""


def test_a_field_that_drops_a_value_in_the_wrong_format_says_so(session, site):
    # The browser drops a value a date, time or colour field cannot hold without an error: fill
    # said nothing while the field stayed empty (MiniWoB's enter-date asks for "01/31/2016").
    session.run(lambda page: page.goto(site.page("/x12/formats.html", FORMATTED_FIELDS)))
    text = observe(session)["text"]
    day, at, tint, month = (bid_of(text, f'"{name}"') for name in ("Day", "At", "Tint", "Month"))
    for bid, wrong, hint in ((day, "01/31/2016", "YYYY-MM-DD"), (at, "2:05 PM", "HH:MM"), (tint, "red", "#rrggbb"),
                             (month, "January 2016", "YYYY-MM")):
        outcome = _act(session, f"fill('{bid}', {wrong!r})")
        assert outcome.error is not None and hint in outcome.error and repr(wrong) in outcome.error, outcome.error
    for bid, right in ((day, "2016-01-31"), (at, "14:05"), (tint, "#FF0000"), (month, "2016-01"), (day, "")):
        outcome = _act(session, f"fill('{bid}', {right!r})")
        assert outcome.ok, outcome.error
    values = session.run(lambda page: page.evaluate("Array.from(document.querySelectorAll('input'), (el) => el.value)"))
    assert values == ["", "14:05", "#ff0000", "2016-01"]


def test_goto_takes_a_loopback_address_written_without_http(session, site):
    # As an address bar does: 'localhost:8000/page' was refused with a message saying that
    # localhost pages can be opened, and '127.0.0.1:8000/page' was read as a path on the current
    # site (a 404 page there).
    url = site.page("/x12/target.html", "<title>target</title><p>here</p>")
    session.run(lambda page: page.goto(site.page("/x12/start.html", "<title>start</title>")))
    bare = url.removeprefix("http://")
    for written in (bare, bare.replace("127.0.0.1", "localhost")):
        session.run(lambda page: page.goto(site.url("/x12/start.html")))
        outcome = _act(session, f"goto({written!r})")
        assert outcome.ok, (written, outcome.error)
        assert observe(session)["title"] == "target", written
    assert "not allowed" in _act(session, "goto('example.com:80/x')").error
