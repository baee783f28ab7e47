"""What the agent sees: the accessibility-tree text, screenshots, set-of-marks, the DOM text."""

from __future__ import annotations

import io
import sys
import time

import numpy as np
from PIL import Image

from agentgym.browser.observe import MAX_LINES, MAX_TREE_CHARS, observe, snapshot_page
from agentgym.browser.scripts import MARKS_CALL, UNMARKS_CALL

from .browser_helpers import FORM_PAGE, bid_of, line_of


def test_tree_shows_roles_names_values_and_states(form):
    obs = observe(form)
    text = obs["text"]
    assert obs["title"] == "Order form" and obs["url"].endswith("/form/page.html")
    assert line_of(text, "Order form").endswith('heading "Order form" level=1')
    assert line_of(text, 'textbox "Name"').endswith('textbox "Name" value="Ada"')
    assert line_of(text, 'textbox "Password"').endswith('value="••••••"')  # never the password
    assert "secret" not in text
    assert line_of(text, 'checkbox "Agree to terms"').endswith('checkbox "Agree to terms" checked')
    assert line_of(text, 'checkbox "Newsletter"').endswith('checkbox "Newsletter"')
    assert line_of(text, 'radio "Blue"').endswith("checked") and not line_of(text, 'radio "Red"').endswith("checked")
    assert line_of(text, "combobox").endswith('combobox "Size" value="Medium" options=[Small, Medium, Large]')
    assert line_of(text, 'button "Disabled one"').endswith("disabled")
    assert line_of(text, 'link "Next page"')
    assert line_of(text, 'button "Shadow button"')  # open shadow roots are walked
    assert line_of(text, 'iframe "Embedded"') and "Inside the frame" not in text
    # The form holds a control with id "disabled"; the form itself is not disabled.
    assert line_of(text, "] form").endswith("form")
    # Focus: the textarea has it (the page focused it), once, shown in the tree and returned.
    notes = line_of(text, 'textbox "Notes"')
    assert notes.endswith('textbox "Notes" value="first line" focused')
    assert text.count("focused") == 1 and obs["focused"] == bid_of(text, 'textbox "Notes"')
    # Its default text is not repeated as page text (it would go stale once the agent types).
    assert text.count("first line") == 1
    # The interactive ids are those of the controls shown.
    for needle in ('textbox "Name"', "combobox", 'button "Submit"', 'link "Next page"', 'button "Shadow button"'):
        assert bid_of(text, needle) in obs["interactive"]


def test_values_follow_the_page(form):
    form.run(lambda page: page.evaluate("""() => {
        document.getElementById('name').value = 'Grace';
        document.getElementById('agree').checked = false;
        document.getElementById('size').value = 'l';
        document.getElementById('notes').value = 'typed';
        document.getElementById('name').focus();
    }"""))
    text = observe(form)["text"]
    assert line_of(text, 'textbox "Name"').endswith('value="Grace" focused')
    assert line_of(text, 'checkbox "Agree to terms"').endswith('"Agree to terms"')
    assert 'value="Large"' in line_of(text, "combobox")
    assert line_of(text, 'textbox "Notes"').endswith('value="typed"') and "first line" not in text


def test_hidden_elements_are_left_out(form):
    text = observe(form)["text"]
    for hidden in ("Hidden by class", "Hidden by visibility", "Hidden from the tree", "Transparent text",
                   "Ghost button", "Hidden attribute", "HIDDEN-TOKEN", "SCRIPT-BODY-TEXT"):
        assert hidden not in text, hidden
    assert "Visible inside hidden" in text  # visibility:visible inside visibility:hidden shows


def test_ids_are_stable_for_the_life_of_the_page(form):
    first = observe(form)
    second = observe(form)
    assert first["text"] == second["text"] and first["interactive"] == second["interactive"]
    submit = bid_of(first["text"], 'button "Submit"')
    name = bid_of(first["text"], 'textbox "Name"')
    # The page changes: new elements before the old ones, a clone of the submit button.
    form.run(lambda page: page.evaluate("""() => {
        const banner = document.createElement('button'); banner.textContent = 'New banner';
        document.body.prepend(banner);
        const copy = document.getElementById('submit').cloneNode(true); copy.textContent = 'Copy of submit';
        document.getElementById('order').appendChild(copy);
    }"""))
    third = observe(form)["text"]
    assert bid_of(third, 'button "Submit"') == submit and bid_of(third, 'textbox "Name"') == name
    new_ids = {bid_of(third, 'button "New banner"'), bid_of(third, 'button "Copy of submit"')}
    old_ids = {line[line.index("[") + 1:line.index("]")] for line in first["text"].splitlines() if "[" in line}
    assert len(new_ids) == 2 and not new_ids & old_ids  # the clone did not keep the copied id
    # After a reload the ids start again, and are the same as the first time (same document).
    form.run(lambda page: page.reload())
    assert observe(form)["text"] == first["text"]


def test_long_pages_are_cut(session, site):
    # Many short lines: the tree stops at MAX_LINES.
    session.run(lambda page: page.goto(site.page("/obs/many.html", "".join(
        f"<p>p{i}</p>" for i in range(MAX_LINES + 50)))))
    lines = observe(session)["text"].splitlines()
    assert len(lines) == MAX_LINES + 1 and lines[-1] == "… (50 more lines not shown)"
    # Long texts: each is cut, and the tree stops at MAX_TREE_CHARS characters.
    session.run(lambda page: page.goto(site.page("/obs/long.html", "".join(
        f"<p>paragraph {i} " + "word " * 100 + "</p>" for i in range(MAX_LINES)))))
    text = observe(session)["text"]
    lines = text.splitlines()
    assert max(len(line) for line in lines) < 260
    assert len(text) <= MAX_TREE_CHARS + 100 and lines[-1].endswith("more lines not shown)")
    shown = len(lines) - 1
    assert lines[-1] == f"… ({MAX_LINES - shown} more lines not shown)"


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(png)) as image:
        return image.size


def test_screenshot_and_set_of_marks(pool, site):
    session = pool.open_session(viewport=(640, 480))
    try:
        session.run(lambda page: page.goto(site.page("/obs/marks.html", FORM_PAGE)))
        plain = observe(session, screenshot=True)
        assert _png_size(plain["image"]) == (640, 480)
        dom_before = session.run(lambda page: page.evaluate("() => document.body.innerHTML"))
        marked = observe(session, set_of_marks=True)
        assert _png_size(marked["image"]) == (640, 480)
        assert marked["image"] != plain["image"]
        assert marked["text"] == plain["text"]
        # The overlay's colour is in the marked image only.
        def marks_colour(png: bytes) -> int:
            with Image.open(io.BytesIO(png)) as image:
                pixels = np.asarray(image.convert("RGB")).astype(int)
            return int((np.abs(pixels - [0xE0, 0x21, 0x8A]) < 12).all(axis=-1).sum())

        assert marks_colour(marked["image"]) > 200 and marks_colour(plain["image"]) == 0
        # The page is as it was: no overlay left, the same DOM.
        dom_after = session.run(lambda page: page.evaluate(
            "() => [document.body.innerHTML, document.getElementById('__agentgym_marks')]"))
        assert dom_after == [dom_before, None]
        assert "image" not in observe(session)
    finally:
        session.close()


def test_dom_text_has_no_scripts_or_styles(form):
    dom = observe(form, dom_text=True)["dom"]
    assert dom.startswith("<body") and 'id="name"' in dom and "Order form" in dom
    assert "<script" not in dom and "SCRIPT-BODY-TEXT" not in dom and "<style" not in dom
    assert "log.push('shadow')" not in dom
    assert "dom" not in observe(form)
    # Taking the DOM text changed nothing in the page.
    assert form.run(lambda page: page.evaluate("() => document.scripts.length")) == 2


def test_observing_a_page_that_navigates_away(session, site):
    # The snapshot is taken while the page moves on to a slow page: it never fails, and once
    # the new page has loaded, it is the one observed.
    session.run(lambda page: page.goto(site.page("/obs/leaving.html", "<title>leaving</title><p>bye</p>")))
    session.run(lambda page: page.evaluate("(url) => { location.href = url; }", site.url("/slow?ms=300&title=arrived")))
    titles = set()
    deadline = time.monotonic() + 10
    while "arrived" not in titles and time.monotonic() < deadline:
        titles.add(session.run(lambda page: snapshot_page(page))["title"])
    assert "arrived" in titles
    assert observe(session)["text"] == '[2] paragraph "arrived page"'


def test_the_package_exports_the_function():
    import agentgym.browser
    from agentgym.browser import observe as exported

    assert exported is observe and agentgym.browser.observe is observe and callable(exported)


def test_broken_unicode_of_the_page_is_replaced(session, site):
    # JavaScript strings may hold lone surrogates; no UTF-8 encoder or tokenizer takes them.
    session.run(lambda page: page.goto(site.page("/obs/surrogates.html", (
        "<p id='p'>x</p><script>document.getElementById('p').textContent = 'a\\ud800b \U0001F642';"
        "document.title = 'T\\udc00';</script>"))))
    obs = observe(session, dom_text=True)
    for key in ("text", "title", "dom"):
        obs[key].encode("utf-8")  # does not raise
    assert obs["title"] == "T\ufffd" and "a\ufffdb \U0001F642" in obs["dom"]


LISTENER_PAGE = """<title>listeners</title>
<style>.icon { display: inline-block; width: 20px; height: 20px; background: #ccc; }</style>
<div id="icons">
  <span id="star" class="icon star"></span>
  <span id="trash" class="icon trash"></span>
  <span id="plain" class="icon plain"></span>
  <span id="property" class="icon property"></span>
  <span id="gone" class="icon gone"></span>
  <span id="delegated" class="icon delegated"></span>
  <span id="empty" class="icon empty" style="width: 0"></span>
</div>
<p id="log"></p>
<script>
  const log = (word) => { document.getElementById('log').textContent += word + ' '; };
  const star = document.getElementById('star');
  star.addEventListener('click', () => log('starred'));
  document.getElementById('trash').addEventListener('dblclick', () => log('trashed'), {capture: true});
  document.getElementById('property').onclick = () => log('property');
  document.getElementById('empty').addEventListener('click', () => log('empty'));
  const gone = () => log('gone');
  document.getElementById('gone').addEventListener('click', gone);
  document.getElementById('gone').removeEventListener('click', gone);
  document.addEventListener('click', (e) => { if (e.target.id === 'delegated') log('delegated'); });
  // Calls a page may make that must behave as before: no listener, a window target, bad this.
  document.getElementById('plain').addEventListener('click', null);
  window.addEventListener('click', () => {});
  let threw = false;
  try { EventTarget.prototype.addEventListener.call({}, 'click', () => {}); } catch (e) { threw = e instanceof TypeError; }
  log(threw ? 'typeerror' : 'no-error');
</script>"""


def test_elements_with_click_listeners_are_clickable_and_say_their_classes(session, site):
    # Click handlers added with addEventListener (or the onclick property) leave no attribute;
    # the init script watches the page's calls, so such icons show as clickable, with their
    # classes as their only name, and are marked on screenshots.
    session.run(lambda page: page.goto(site.page("/obs/listeners.html", LISTENER_PAGE)))
    obs = observe(session)
    text = obs["text"]
    star = line_of(text, 'class="icon star"')
    assert star.endswith('generic clickable class="icon star"')
    assert line_of(text, 'class="icon trash"') and line_of(text, 'class="icon property"')
    for not_clickable in ("plain", "gone", "delegated", "empty"):  # no listener, removed, on an ancestor,
        assert f"icon {not_clickable}" not in text                # an empty box (no click could hit it)
    assert bid_of(text, 'class="icon star"') in obs["interactive"]
    # The page's own listeners run as before, and a bad call throws what it threw before.
    session.run(lambda page: page.click("#star"))
    session.run(lambda page: page.dblclick("#trash"))
    session.run(lambda page: page.click("#delegated"))
    assert session.run(lambda page: page.inner_text("#log")).split() == ["typeerror", "starred", "trashed", "delegated"]


COVER_PAGE = """<title>covers</title>
<style>.icon { display: inline-block; width: 20px; height: 20px; background: #ccc; }
       .over { position: absolute; z-index: 1; background: white; }</style>
<p><span id="open" class="icon open"></span> <span id="hidden" class="icon hidden"></span>
   <button id="free">Free</button> <button id="under">Under</button>
   <a id="link" href="#"><span id="in-link" class="icon in-link"></span><b id="cap">x</b></a></p>
<div id="box" style="height: 40px; overflow: auto">
  <div style="height: 200px"></div><span id="deep" class="icon deep"></span>
</div>
<div style="margin-top: 2000px"><span id="below" class="icon below"></span></div>
<p id="log"></p>
<script>
  const log = (word) => { document.getElementById('log').textContent += word + ' '; };
  for (const id of ['open', 'hidden', 'in-link', 'deep', 'below'])
    document.getElementById(id).addEventListener('click', () => log(id));
  // One cover over the listening icon, one over the button; inside the link, the link's own
  // caption is moved over the icon (a click there clicks the caption and the link, not the icon).
  for (const id of ['hidden', 'under']) {
    const r = document.getElementById(id).getBoundingClientRect(), cover = document.createElement('div');
    cover.className = 'over';
    Object.assign(cover.style, {left: r.left + 'px', top: r.top + 'px', width: r.width + 'px', height: r.height + 'px'});
    document.body.appendChild(cover);
  }
  const icon = document.getElementById('in-link').getBoundingClientRect();
  Object.assign(document.getElementById('cap').style, {position: 'absolute', left: icon.left + 'px',
    top: icon.top + 'px', width: icon.width + 'px', height: icon.height + 'px'});
</script>"""


def test_what_a_click_cannot_reach_is_said(session, site):
    # A click lands on an element's centre: an element in view whose centre something else
    # covers is not offered as clickable, and a button or link there is marked "covered"; one
    # outside the window or scrolled out of its box is reachable (a click scrolls to it first).
    session.run(lambda page: page.goto(site.page("/obs/covers.html", COVER_PAGE)))
    text = observe(session)["text"]
    assert line_of(text, 'class="icon open"').endswith("clickable class=\"icon open\"")
    assert "icon hidden" not in text and "icon in-link" not in text
    assert line_of(text, 'button "Under"').endswith("covered")
    assert "covered" not in line_of(text, 'button "Free"')
    for reachable in ("deep", "below"):  # in a box scrolled away from it; below the window
        assert line_of(text, f'class="icon {reachable}"').endswith("clickable class=\"icon " + reachable + "\"")
    assert text.count("covered") == 1
    for selector in ("#open", "#in-link", "#deep", "#below", "#free"):
        session.run(lambda page: page.click(selector, timeout=2000))
    # The click aimed at the icon in the link landed on the caption over it.
    assert session.run(lambda page: page.inner_text("#log")).split() == ["open", "deep", "below"]
    for selector in ("#hidden", "#under"):  # what the tree says cannot be reached, cannot be clicked
        try:
            session.run(lambda page: page.click(selector, timeout=500))
        except Exception as exc:  # Playwright's TimeoutError, through the session
            assert "intercepts pointer events" in str(exc) or "Timeout" in str(exc), exc
        else:
            raise AssertionError(f"{selector} was clicked")


def test_set_of_marks_labels_keep_off_the_text(session, site):
    # A button right under a line of text: the label does not go above the button (over the
    # text) but next to the button, and no two labels overlap.
    page = """<div style="margin: 40px"><p id="text" style="margin: 0; font: 14px sans-serif">Words right above</p>
      <button id="go" style="margin: 0">Go</button> <button id="stop" style="margin: 0">Stop</button></div>"""
    session.run(lambda p: p.goto(site.page("/obs/labels.html", page)))
    obs = observe(session)

    def drawn(p):
        assert p.evaluate(MARKS_CALL, obs["interactive"]) == 2
        rects = p.evaluate("""() => {
            const box = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
            const labels = {};
            for (const el of document.getElementById('__agentgym_marks').children)
                if (el.textContent) labels[el.textContent] = box(el);
            return {labels, text: box(document.getElementById('text')), go: box(document.getElementById('go')),
                    stop: box(document.getElementById('stop'))};
        }""")
        p.evaluate(UNMARKS_CALL)
        return rects

    rects = session.run(drawn)

    def overlaps(a, b):
        return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])

    labels = [rects["labels"][bid_of(obs["text"], name)] for name in ('button "Go"', 'button "Stop"')]
    assert len(rects["labels"]) == 2
    for label, button in zip(labels, (rects["go"], rects["stop"])):
        assert not overlaps(label, rects["text"])
        # Next to its own button: within a few pixels of it.
        assert label[0] <= button[2] + 2 and label[2] >= button[0] - 2
        assert label[1] <= button[3] + 2 and label[3] >= button[1] - 2
    assert not overlaps(*labels)


IMAGE_ICONS_PAGE = """<title>icons</title>
<style>.icon { height: 12px; cursor: pointer; }
       #slow { content: url(/slow.png?ms=300); }
       #tile { display: inline-block; height: 12px; background-image: url(/slow.png?ms=300&tile); }
       #hung { content: url(/hung.png); }</style>
<p><span id="slow" class="icon slow"></span> <span id="hung" class="icon hung"></span></p>
<p><span id="tile" class="icon tile"></span> <img id="photo" src="/slow.png?ms=300&img" width="12" height="12"></p>"""


def test_icons_drawn_from_images_are_seen_once_their_images_are_in(session, site, monkeypatch):
    # An icon drawn by CSS (content: url(...)) has no size, so no line, until its image arrives:
    # without the wait the first observation of a page depended on the loading's timing (a
    # MiniWoB++ page's search icon came and went between resets of one seed).
    observe_module = sys.modules[snapshot_page.__module__]  # the package's ``observe`` is the function
    monkeypatch.setattr(observe_module, "IMAGE_WAIT_MS", 1000)
    session.run(lambda page: page.goto(site.page("/obs/icons.html", IMAGE_ICONS_PAGE), wait_until="commit"))
    text = observe(session)["text"]
    assert 'generic clickable class="icon slow"' in text
    assert session.run(lambda page: page.evaluate("document.getElementById('photo').complete"))
    assert 'class="icon hung"' not in text  # never loaded: no size, no line
    # An image that outlasted one wait is not waited for again: with an hour's wait, the next
    # observation comes at once (it would time out otherwise).
    monkeypatch.setattr(observe_module, "IMAGE_WAIT_MS", 3_600_000)
    session.run(lambda page: page.click("#slow"))
    assert observe(session, timeout=10.0)["text"] == text
    # No wait at all: the page as it is.
    monkeypatch.setattr(observe_module, "IMAGE_WAIT_MS", 0)
    session.run(lambda page: page.goto(site.url("/obs/icons.html?again"), wait_until="commit"))
    assert 'class="icon slow"' not in observe(session)["text"]
