"""BrowserGym's remaining high-level actions on real pages: clicks with a button and modifier
keys, keys held across turns, text inserted without key events, scrolling at a point, going
forward, tabs (open, focus, close, the observation's tab list), ``report_infeasible`` and file
uploads confined to the environment's upload folder."""

from __future__ import annotations

import pytest

from agentgym.browser import BrowserEnv
from agentgym.browser.action_parser import ActionError, parse_actions
from agentgym.browser.actions import ActionOutcome, execute
from agentgym.browser.observe import observe
from agentgym.browser.session import MAX_TABS
from agentgym.core import ConfigError

from .browser_helpers import bid_of

#: Logs every click, key and input event it sees in ``window.events``.
EVENTS_PAGE = """<title>events</title>
<button id="b" style="width:120px;height:40px">Target</button>
<input id="field" aria-label="Field">
<div id="box" style="width:200px;height:100px;overflow:auto;margin-top:20px">
  <div style="height:1000px">tall content</div>
</div>
<script>
window.events = [];
const b = document.getElementById("b");
for (const kind of ["click", "auxclick", "contextmenu", "dblclick"]) {
  b.addEventListener(kind, (e) => { e.preventDefault(); window.events.push(
    [kind, e.button, e.shiftKey, e.altKey, e.ctrlKey || e.metaKey]); });
}
const field = document.getElementById("field");
for (const kind of ["keydown", "keyup"]) {
  document.addEventListener(kind, (e) => window.events.push([kind, e.key, e.shiftKey]));
}
field.addEventListener("input", (e) => window.events.push(["input", field.value]));
</script>"""

PAGES = {
    "/tabs/one.html": "<title>one</title><a href='/tabs/two.html'>to two</a>",
    "/tabs/two.html": "<title>two</title><p>the second page</p>",
}


def act(session, text: str) -> ActionOutcome:
    (action,) = parse_actions(text)
    return execute(session, action, 5.0)


def ok(session, text: str) -> None:
    outcome = act(session, text)
    assert outcome.ok, f"{text}: {outcome.error}"


def js(session, expression: str):
    return session.run(lambda page: page.evaluate(expression))


def _events_page(session, site) -> dict[str, str]:
    session.run(lambda page: page.goto(site.page("/keys/events.html", EVENTS_PAGE)))
    text = observe(session)["text"]
    return {"button": bid_of(text, 'button "Target"'), "field": bid_of(text, 'textbox "Field"')}


def _events(session, kind: str) -> list:
    return [event[1:] for event in js(session, "window.events") if event[0] == kind]


def test_click_with_a_button_and_modifier_keys(session, site):
    e = _events_page(session, site)
    ok(session, f"click('{e['button']}', modifiers=['Shift'])")
    ok(session, f"click('{e['button']}', button='right')")
    ok(session, f"click('{e['button']}', 'middle', ['alt', 'ControlOrMeta'])")
    ok(session, f"dblclick('{e['button']}', modifiers='Shift')")
    assert _events(session, "click")[0] == [0, True, False, False]
    assert _events(session, "contextmenu") == [[2, False, False, False]]
    assert _events(session, "auxclick") == [[2, False, False, False], [1, False, True, True]]  # right, middle
    assert _events(session, "dblclick") == [[0, True, False, False]]
    with pytest.raises(ActionError, match="modifiers are among 'Alt', 'Control'"):
        parse_actions(f"click('{e['button']}', modifiers=['Hyper'])")


def test_a_key_held_across_turns_and_text_inserted_without_keys(session, site):
    e = _events_page(session, site)
    ok(session, "keyboard_down('Shift')")
    ok(session, f"click('{e['button']}')")  # a later turn: Shift is still down
    ok(session, "keyboard_up('Shift')")
    ok(session, f"click('{e['button']}')")
    assert [click[1] for click in _events(session, "click")] == [True, False]
    assert ["Shift", True] in _events(session, "keydown") and ["Shift", False] in _events(session, "keyup")
    js(session, "window.events = []")
    ok(session, f"focus('{e['field']}')")
    ok(session, "keyboard_insert_text('héllo 🙂')")
    assert js(session, "document.getElementById('field').value") == "héllo 🙂"
    assert _events(session, "input") == [["héllo 🙂"]]
    assert _events(session, "keydown") == [] and _events(session, "keyup") == []
    outcome = act(session, "keyboard_down('NoSuchKey')")
    assert not outcome.ok and "key name is unknown" in outcome.error


def test_scroll_at_scrolls_what_is_under_the_pointer(session, site):
    _events_page(session, site)
    box = js(session, "(() => { const r = document.getElementById('box').getBoundingClientRect();"
                      " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
    ok(session, f"scroll_at({box[0]}, {box[1]}, 0, 300)")
    assert js(session, "document.getElementById('box').scrollTop") == 300
    assert js(session, "window.scrollY") == 0  # the page itself did not move
    outcome = act(session, "scroll_at(5000, 5, 0, 100)")
    assert not outcome.ok and "outside the page's viewport" in outcome.error


def test_go_forward_after_going_back(session, site):
    for path, html in PAGES.items():
        site.page(path, html)
    session.run(lambda page: page.goto(site.url("/tabs/one.html")))
    assert act(session, "go_forward()").error == "there is no later page to go forward to"
    ok(session, f"click('{bid_of(observe(session)['text'], 'link')}')")
    assert observe(session)["title"] == "two"
    ok(session, "go_back()")
    assert observe(session)["title"] == "one"
    ok(session, "go_forward()")
    assert observe(session)["title"] == "two"
    assert act(session, "go_forward()").error == "there is no later page to go forward to"


class TabTask(BrowserEnv):
    """Starts on ``/tabs/one.html``; never ends by itself."""

    site_url = ""

    def start_url(self):
        return self.site_url + "/tabs/one.html"


@pytest.fixture
def tab_env(pool, site):
    for path, html in PAGES.items():
        site.page(path, html)
    env = TabTask(pool=pool)
    env.site_url = site.base
    yield env
    env.close()


def _tab_lines(observation: str) -> list[str]:
    lines = observation.splitlines()
    if not any(line.startswith("Tabs (") for line in lines):
        return []
    start = next(i for i, line in enumerate(lines) if line.startswith("Tabs ("))
    return [line.strip() for line in lines[start + 1:] if line.startswith("  ")]


def test_tabs_open_focus_and_close(tab_env, site):
    observation, _ = tab_env.reset(seed=0)
    assert _tab_lines(observation) == []  # one tab: no list
    observation, _, _, _, info = tab_env.step("new_tab()")
    assert info["error"] is None and "Page: (untitled) (about:blank)" in observation
    observation, _, _, _, info = tab_env.step(f"goto('{site.url('/tabs/two.html')}')")
    assert info["error"] is None and "Page: two" in observation
    assert _tab_lines(observation) == [f"0: one ({site.url('/tabs/one.html')})",
                                       f"1: two ({site.url('/tabs/two.html')})  <- this page"]
    observation, *_ = tab_env.step("tab_focus(0)")
    assert "Page: one" in observation and _tab_lines(observation)[0].endswith("<- this page")
    # The shown tab is the one acted on: its link opens page two in tab 0.
    observation, *_ = tab_env.step(f"click('{bid_of(observation, 'link')}')")
    assert "Page: two" in observation
    observation, _, _, _, info = tab_env.step("tab_focus(2)")
    assert info["error"] == "there is no tab 2; the open tabs are numbered 0 to 1"
    observation, _, terminated, _, info = tab_env.step("tab_close()")
    assert info["error"] is None and not terminated
    assert _tab_lines(observation) == [] and "Page: two" in observation  # tab 1 is what is left
    assert len(tab_env.run_in_page(lambda page: page.context.pages)) == 1


def test_new_tabs_are_capped_and_the_last_tab_closed_leaves_a_blank_one(tab_env):
    tab_env.reset(seed=0)
    for _ in range(MAX_TABS - 1):
        assert tab_env.step("new_tab()")[4]["error"] is None
    observation, _, _, _, info = tab_env.step("new_tab()")
    assert info["error"] == f"at most {MAX_TABS} tabs may be open; close one with tab_close() first"
    assert len(_tab_lines(observation)) == MAX_TABS
    for _ in range(MAX_TABS):
        observation, _, terminated, _, info = tab_env.step("tab_close()")
        assert info["error"] is None and not terminated
    assert "(the page shows nothing)" in observation
    assert len(tab_env.run_in_page(lambda page: page.context.pages)) == 1


def test_report_infeasible_ends_the_episode_failed(tab_env):
    tab_env.reset(seed=0)
    _, reward, terminated, _, info = tab_env.step("report_infeasible('there is no such product')")
    assert terminated and info["success"] is False and reward == 0.0
    assert info["infeasible"] == "there is no such product"


#: A file field, a button that opens a hidden one, and what the page read of the chosen files.
UPLOAD_PAGE = """<title>upload</title>
<label>Attachment <input type="file" id="direct" multiple></label>
<input type="file" id="hidden" style="display:none">
<button id="pick" onclick="document.getElementById('hidden').click()">Choose a picture</button>
<p>plain text</p>
<div style="position:relative;width:300px"><input type="file" id="covered" aria-label="Covered">
  <div style="position:absolute;left:0;top:0;width:300px;height:40px;background:#fff">a cover</div></div>
<script>
window.uploaded = [];
for (const id of ["direct", "hidden"]) {
  document.getElementById(id).addEventListener("change", async (e) => {
    for (const file of e.target.files) window.uploaded.push([id, file.name, await file.text()]);
  });
}
</script>"""


class UploadTask(TabTask):
    def start_url(self):
        return self.site_url + "/upload/page.html"


def test_uploads_choose_files_of_the_upload_folder_only(pool, site, tmp_path):
    site.page("/upload/page.html", UPLOAD_PAGE)
    folder = tmp_path / "uploads"
    (folder / "sub").mkdir(parents=True)
    (folder / "cv.txt").write_text("my cv")
    (folder / "sub" / "photo.txt").write_text("a photo")
    (tmp_path / "secret.txt").write_text("do not send")
    (folder / "escape.txt").symlink_to(tmp_path / "secret.txt")

    plain = UploadTask(pool=pool)
    plain.site_url = site.base
    try:
        observation, _ = plain.reset(seed=0)
        assert "upload_file" not in plain.instructions
        error = plain.step("upload_file('1', 'cv.txt')")[4]["error"]
        assert error.startswith("'upload_file' is not offered here")
        covered = bid_of(observation, 'button "Covered" file-input')  # gives up after the default 2 s
        error = plain.step(f"click('{covered}')")[4]["error"]
        assert error == f"click('{covered}') did not finish within 2 s: another element covers it", error
    finally:
        plain.close()

    env = UploadTask(pool=pool, upload_dir=folder, action_timeout=1.5)
    env.site_url = site.base
    try:
        observation, info = env.reset(seed=0)
        assert "upload_file(bid, file)" in info["instructions"]
        field, button = bid_of(observation, 'button "Attachment" file-input'), bid_of(observation, '"Choose a picture"')
        text = bid_of(observation, "plain text")
        observation, _, _, _, info = env.step(f"upload_file('{field}', ['cv.txt', 'sub/photo.txt'])")
        assert info["error"] is None
        assert env.step(f"upload_file('{button}', 'cv.txt')")[4]["error"] is None  # a button that opens a field
        for name in ("../secret.txt", "escape.txt", "/etc/hostname", "missing.txt", "sub"):
            error = env.step(f"upload_file('{field}', {name!r})")[4]["error"]
            assert error == f"there is no file {name!r} to upload; the files are: cv.txt, sub/photo.txt", (name, error)
        error = env.step(f"upload_file('{text}', 'cv.txt')")[4]["error"]
        assert error == f"clicking [{text}] opened no file chooser; click a file field or its button"
        covered = bid_of(observation, 'button "Covered" file-input')
        error = env.step(f"upload_file('{covered}', 'cv.txt')")[4]["error"]  # the click itself fails
        assert "did not finish within 1.5 s: another element covers it" in error, error
        box = env.run_in_page(lambda page: page.locator("#pick").bounding_box())
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        assert env.step(f"mouse_upload_file({x}, {y}, 'sub/photo.txt')")[4]["error"] is None
        assert 'button "Attachment" file-input files=["cv.txt", "photo.txt"]' in observation
        uploaded = env.run_in_page(lambda page: page.evaluate("window.uploaded"))
        assert uploaded == [["direct", "cv.txt", "my cv"], ["direct", "photo.txt", "a photo"],
                            ["hidden", "cv.txt", "my cv"], ["hidden", "photo.txt", "a photo"]]
    finally:
        env.close()
    with pytest.raises(ConfigError, match="the upload actions need upload_dir"):
        UploadTask(pool=pool, action_set=["bid", "upload"])
    with pytest.raises(ConfigError, match="is not a folder"):
        UploadTask(pool=pool, upload_dir=tmp_path / "secret.txt")
