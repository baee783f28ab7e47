"""Every action carried out on a real form page, and every way one can fail without ending the
session. What happened is read from the page itself (``window.log``, values, scroll position)."""

from __future__ import annotations

import pytest

from agentgym.browser.action_parser import ActionError, parse_actions
from agentgym.browser.actions import ActionOutcome, execute
from agentgym.browser.observe import observe

from .browser_helpers import bid_of

XSS = """<script>window.xss = 1</script><img src=x onerror="window.xss = 2">"; window.xss = 3; //"""


def act(session, text: str, timeout: float = 5.0) -> ActionOutcome:
    (action,) = parse_actions(text)
    return execute(session, action, timeout)


def ok(session, text: str) -> None:
    outcome = act(session, text)
    assert outcome.ok, f"{text}: {outcome.error}"


def js(session, expression: str):
    return session.run(lambda page: page.evaluate(expression))


def ids(session) -> dict[str, str]:
    text = observe(session)["text"]
    wanted = {"name": 'textbox "Name"', "notes": 'textbox "Notes"', "agree": 'checkbox "Agree to terms"',
              "news": 'checkbox "Newsletter"', "red": 'radio "Red"', "blue": 'radio "Blue"', "size": "combobox",
              "submit": 'button "Submit"', "disabled": 'button "Disabled one"', "counter": 'button "Click me"',
              "hover": "Hover target", "next": 'link "Next page"', "shadow": 'button "Shadow button"'}
    return {key: bid_of(text, needle) for key, needle in wanted.items()}


def test_fill_clear_and_submit(form):
    e = ids(form)
    ok(form, f"fill('{e['name']}', 'Grace Hopper')")
    assert js(form, "document.getElementById('name').value") == "Grace Hopper"
    ok(form, f"clear('{e['name']}')")
    assert js(form, "document.getElementById('name').value") == ""
    ok(form, f"fill('{e['name']}', 'Grace')")
    ok(form, f"click('{e['submit']}')")
    assert "submit:Grace" in js(form, "window.log")
    assert js(form, "document.getElementById('status').textContent") == "Submitted Grace"


def test_script_in_typed_text_stays_text(form):
    e = ids(form)
    ok(form, f"fill('{e['name']}', {XSS!r})")
    ok(form, f"focus('{e['notes']}')")
    ok(form, "press('Control+a')")
    ok(form, f"keyboard_type({XSS!r})")
    ok(form, f"click('{e['submit']}')")
    assert js(form, "document.getElementById('name').value") == XSS
    assert js(form, "document.getElementById('notes').value") == XSS
    assert js(form, "document.getElementById('status').textContent") == "Submitted " + XSS
    assert js(form, "[window.xss, document.querySelectorAll('#status img, #status script').length]") == [None, 0]
    # And the tree shows it as text.
    assert f'value={XSS[:20]!r}'.replace("'", '"')[:20] in observe(form)["text"]


def test_click_dblclick_hover_focus(form):
    e = ids(form)
    ok(form, f"click('{e['counter']}')")
    ok(form, f"click({e['counter']})")
    assert js(form, "document.getElementById('counter').textContent") == "Clicked 2"
    ok(form, f"dblclick('{e['counter']}')")
    assert "dblclick" in js(form, "window.log")
    ok(form, f"hover('{e['hover']}')")
    assert "hover" in js(form, "window.log")
    ok(form, f"focus('{e['name']}')")
    assert js(form, "document.activeElement.id") == "name"
    ok(form, f"click('{e['shadow']}')")  # inside an open shadow root
    assert "shadow" in js(form, "window.log")


def test_select_option_by_value_and_label(form):
    e = ids(form)
    for choice, value in [("l", "l"), ("Small", "s"), ("  medium ", "m"), ("LARGE", "l")]:
        ok(form, f"select_option('{e['size']}', {choice!r})")
        assert js(form, "document.getElementById('size').value") == value, choice
    assert js(form, "window.log.filter((x) => x.startsWith('size:'))") == ["size:l", "size:s", "size:m", "size:l"]
    outcome = act(form, f"select_option('{e['size']}', 'Huge')")
    assert outcome.error == f"[{e['size']}] has no option 'Huge'; its options are: Small, Medium, Large"


def test_check_and_uncheck(form):
    e = ids(form)
    ok(form, f"check('{e['news']}')")
    ok(form, f"uncheck('{e['agree']}')")
    ok(form, f"check('{e['red']}')")
    ok(form, f"check('{e['news']}')")  # already checked: stays checked
    state = js(form, "['news', 'agree', 'red', 'blue'].map((id) => document.getElementById(id).checked)")
    assert state == [True, False, True, False]
    text = observe(form)["text"]
    assert 'checkbox "Newsletter" checked' in text and 'checkbox "Agree to terms"\n' in text + "\n"


def test_keys_press_and_type(form):
    e = ids(form)
    ok(form, f"press('{e['name']}', 'End')")
    assert js(form, "document.activeElement.id") == "name"
    ok(form, "keyboard_type('!')")
    assert js(form, "document.getElementById('name').value") == "Ada!"
    ok(form, "keyboard_press('Backspace')")
    ok(form, "press('Tab')")  # the focused field loses focus to the next one
    assert js(form, "document.activeElement.id") == "pw"
    ok(form, f"press('{e['name']}', 'Enter')")  # Enter in a text field submits its form
    assert "key:End" in js(form, "window.log") and "submit:Ada" in js(form, "window.log")


def test_scroll_and_mouse_click(form):
    e = ids(form)
    assert js(form, "window.scrollY") == 0
    ok(form, "scroll(0, 1500)")
    assert js(form, "window.scrollY") == 1500
    ok(form, "scroll(0, -1500)")
    assert js(form, "window.scrollY") == 0
    box = js(form, "(() => { const r = document.getElementById('counter').getBoundingClientRect();"
                   " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
    ok(form, f"mouse_click({box[0]}, {box[1]})")
    assert js(form, "document.getElementById('counter').textContent") == "Clicked 1"
    assert any(entry.endswith(":counter") for entry in js(form, "window.log"))
    assert e["counter"] in observe(form)["interactive"]


def test_go_back_noop_and_messages(session, site):
    form = session  # a tab of its own: its history starts with the form
    session.run(lambda page: page.goto(site.url("/form/page.html")))
    e = ids(form)
    outcome = act(form, "go_back()")  # the first page of the tab: nothing to go back to
    assert outcome.error == "there is no earlier page to go back to"
    assert observe(form)["title"] == "Order form"  # and the page is still there
    ok(form, f"click('{e['next']}')")
    assert observe(form)["title"] == "Next"
    ok(form, "go_back()")
    assert observe(form)["title"] == "Order form"
    ok(form, "noop()")
    ok(form, "noop(50)")
    outcome = act(form, "send_msg_to_user('The answer is 42')")
    assert outcome.ok and outcome.message == "The answer is 42"


def test_failures_are_messages_and_the_session_goes_on(form):
    e = ids(form)
    ghost = js(form, "document.getElementById('ghost').dataset.agentgymBid")
    failures = [
        ("click('987654')", "there is no element [987654] on this page"),
        (f"click('{ghost}')", f"element [{ghost}] is not visible"),
        (f"fill('{e['news']}', 'x')", 'failed: Input of type "checkbox" cannot be filled'),
        (f"fill('{e['submit']}', 'x')", "failed"),
        (f"select_option('{e['submit']}', 'x')", f"element [{e['submit']}] is not a drop-down list"),
        (f"check('{e['name']}')", "it is not a checkbox or radio button"),
        (f"uncheck('{e['blue']}')", "a radio button cannot be unchecked"),
        ("press('NoSuchKey')", "that key name is unknown"),
        (f"press('{e['name']}', 'Shift+Nope')", "that key name is unknown"),
        ("mouse_click(5000, 10)", "is outside the page's viewport (0..1279, 0..719)"),
        ("goto('https://example.com/')", "is not allowed"),
    ]
    for text, message in failures:
        outcome = act(form, text)
        assert outcome.error is not None and message in outcome.error, (text, outcome.error)
        assert "Traceback" not in outcome.error and "\n" not in outcome.error and len(outcome.error) < 400
    outcome = act(form, f"click('{e['disabled']}')", timeout=0.5)
    assert outcome.error == f"click('{e['disabled']}') did not finish within 0.5 s: it is disabled"
    # Nothing above broke the session or the page.
    assert form.usable
    ok(form, f"click('{e['counter']}')")
    assert js(form, "document.getElementById('counter').textContent") == "Clicked 1"
    assert observe(form)["title"] == "Order form"


DRAG_PAGE = """<title>drag</title>
<style>
  body { margin: 0; }
  #piece { position: absolute; z-index: 1; left: 20px; top: 20px; width: 40px; height: 40px; background: #c33; }
  #bin { position: absolute; left: 300px; top: 200px; width: 80px; height: 80px; background: #3c3; }
</style>
<div id="piece">piece</div><div id="bin">bin</div>
<script>
  // A hand-made drag (no HTML5 drag events), the way MiniWoB's and jQuery UI's pages do it:
  // the piece follows the pointer while the button is held and lands where it is released.
  window.events = [];
  const piece = document.getElementById('piece');
  let grab = null;
  piece.addEventListener('mousedown', (e) => {
    e.preventDefault();  // no text selection (a second drag would start a native drag of it)
    grab = [e.clientX - piece.offsetLeft, e.clientY - piece.offsetTop];
  });
  document.addEventListener('mousemove', (e) => {
    window.events.push(['move', e.clientX, e.clientY, e.buttons]);
    if (grab) { piece.style.left = (e.clientX - grab[0]) + 'px'; piece.style.top = (e.clientY - grab[1]) + 'px'; }
  });
  for (const kind of ['mousedown', 'mouseup', 'dblclick', 'contextmenu'])
    document.addEventListener(kind, (e) => window.events.push([kind, e.clientX, e.clientY, e.button]));
  document.addEventListener('mouseup', (e) => {
    if (!grab) return;
    grab = null;
    const bin = document.getElementById('bin').getBoundingClientRect(), r = piece.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    window.dropped = x > bin.left && x < bin.right && y > bin.top && y < bin.bottom;
  });
</script>"""


def _drag_page(session, site):
    session.run(lambda page: page.goto(site.page("/actions/drag.html", DRAG_PAGE)))
    return observe(session)["text"]


def _events(session, kind):
    return [event[1:] for event in js(session, "window.events") if event[0] == kind]


def test_drag_and_drop_between_elements(session, site):
    text = _drag_page(session, site)
    piece, bin_ = bid_of(text, '"piece"'), bid_of(text, '"bin"')
    ok(session, f"drag_and_drop('{piece}', '{bin_}')")
    assert js(session, "window.dropped") is True
    # The pointer travelled with the button held: several moves between press and release.
    held = [move for move in _events(session, "move") if move[2] == 1]
    assert len(held) >= 5


def test_mouse_drag_and_drop_by_coordinates(session, site):
    _drag_page(session, site)
    ok(session, "mouse_drag_and_drop(40, 40, 340, 240)")
    assert js(session, "window.dropped") is True
    assert _events(session, "mousedown") == [[40, 40, 0]] and _events(session, "mouseup") == [[340, 240, 0]]
    ok(session, "mouse_drag_and_drop(340, 240, 600, 600)")  # out of the bin again
    assert js(session, "window.dropped") is False


def test_mouse_down_move_up_across_turns_draw_a_path(session, site):
    _drag_page(session, site)
    ok(session, "mouse_down(40, 40)")
    assert js(session, "window.dropped") is None  # still held
    ok(session, "mouse_move(100, 60)")
    ok(session, "mouse_move(200, 150)")
    assert js(session, "document.getElementById('piece').style.left") == "180px"  # it follows the pointer
    ok(session, "mouse_up(340, 240)")
    assert js(session, "window.dropped") is True
    held = [move for move in _events(session, "move") if move[2] == 1]
    assert [100, 60, 1] in held and [200, 150, 1] in held and [340, 240, 1] in held


def test_mouse_buttons_and_double_click(session, site):
    _drag_page(session, site)
    ok(session, "mouse_dblclick(500, 400)")
    assert _events(session, "dblclick") == [[500, 400, 0]]
    ok(session, "mouse_click(510, 410, button='right')")
    assert _events(session, "contextmenu") == [[510, 410, 2]]
    for bad, message in (("mouse_drag_and_drop(40, 40, 5000, 10)", "(5000, 10) is outside the page's viewport"),
                         ("mouse_down(-1, 10)", "(-1, 10) is outside the page's viewport")):
        outcome = act(session, bad)
        assert not outcome.ok and message in outcome.error, outcome.error
    with pytest.raises(ActionError, match="button is one of 'left', 'middle', 'right'"):
        parse_actions("mouse_up(1, 1, 'side')")
    assert js(session, "window.dropped") is None  # nothing was dragged by the refused actions
