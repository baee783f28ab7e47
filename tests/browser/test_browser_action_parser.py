"""The browser action language: every action parses, bad text is an ActionError, nothing runs.

No browser here: :func:`parse_actions` is pure. What a payload would do if it were evaluated is
checked on the file system (it would create a file).
"""

from __future__ import annotations

import time

import pytest

from agentgym.browser.action_parser import (
    ACTION_GROUPS,
    ACTION_PARAMS,
    DEFAULT_ACTIONS,
    MAX_TYPED_CHARS,
    ActionError,
    BrowserAction,
    action_help,
    parse_actions,
    resolve_action_set,
)

# Every action of the set, written positionally and by keyword, and what it binds to.
EVERY_ACTION = [
    ("click('12')", "click(bid='12')", "click", {"bid": "12", "button": "left", "modifiers": ()}),
    ("click('12', 'right', ['shift', 'Alt'])", "click(bid='12', button='right', modifiers=['Shift', 'alt'])",
     "click", {"bid": "12", "button": "right", "modifiers": ("Shift", "Alt")}),
    ("dblclick(7)", "dblclick(bid=7)", "dblclick", {"bid": "7", "button": "left", "modifiers": ()}),
    ("hover('3')", "hover(bid='3')", "hover", {"bid": "3"}),
    ("focus('4')", "focus(bid='4')", "focus", {"bid": "4"}),
    ("fill('15', 'hello world')", "fill(bid='15', text='hello world')", "fill", {"bid": "15", "text": "hello world"}),
    ("clear('15')", "clear(bid='15')", "clear", {"bid": "15"}),
    ("check('20')", "check(bid='20')", "check", {"bid": "20"}),
    ("uncheck('20')", "uncheck(bid='20')", "uncheck", {"bid": "20"}),
    ("select_option('22', 'Medium')", "select_option(bid='22', options='Medium')", "select_option",
     {"bid": "22", "options": "Medium"}),
    ("press('Enter')", "press(key='Enter')", "press", {"bid": None, "key": "Enter"}),
    ("press('5', 'Control+a')", "press(bid='5', key='Control+a')", "press", {"bid": "5", "key": "Control+a"}),
    ("keyboard_press('ArrowDown')", "keyboard_press(key='ArrowDown')", "keyboard_press", {"key": "ArrowDown"}),
    ("keyboard_type('abc')", "keyboard_type(text='abc')", "keyboard_type", {"text": "abc"}),
    ("keyboard_insert_text('é')", "keyboard_insert_text(text='é')", "keyboard_insert_text", {"text": "é"}),
    ("keyboard_down('Shift')", "keyboard_down(key='Shift')", "keyboard_down", {"key": "Shift"}),
    ("keyboard_up('Shift')", "keyboard_up(key='Shift')", "keyboard_up", {"key": "Shift"}),
    ("scroll(0, 300)", "scroll(dx=0, dy=300)", "scroll", {"dx": 0.0, "dy": 300.0}),
    ("scroll_at(10, 20, 0, -50)", "scroll_at(x=10, y=20, dx=0, dy=-50)", "scroll_at",
     {"x": 10.0, "y": 20.0, "dx": 0.0, "dy": -50.0}),
    ("mouse_click(10.5, 20)", "mouse_click(x=10.5, y=20)", "mouse_click", {"x": 10.5, "y": 20.0, "button": "left"}),
    ("mouse_dblclick(1, 2, 'right')", "mouse_dblclick(x=1, y=2, button='right')", "mouse_dblclick",
     {"x": 1.0, "y": 2.0, "button": "right"}),
    ("mouse_move(3, 4)", "mouse_move(x=3, y=4)", "mouse_move", {"x": 3.0, "y": 4.0}),
    ("mouse_down(5, 6)", "mouse_down(x=5, y=6, button='left')", "mouse_down", {"x": 5.0, "y": 6.0, "button": "left"}),
    ("mouse_up(7, 8, 'Middle')", "mouse_up(x=7, y=8, button='middle')", "mouse_up",
     {"x": 7.0, "y": 8.0, "button": "middle"}),
    ("mouse_drag_and_drop(1, 2, 3.5, 4)", "mouse_drag_and_drop(from_x=1, from_y=2, to_x=3.5, to_y=4)",
     "mouse_drag_and_drop", {"from_x": 1.0, "from_y": 2.0, "to_x": 3.5, "to_y": 4.0}),
    ("drag_and_drop('3', 14)", "drag_and_drop(from_bid='3', to_bid='14')", "drag_and_drop",
     {"from_bid": "3", "to_bid": "14"}),
    ("goto('http://127.0.0.1:8000/a')", "goto(url='http://127.0.0.1:8000/a')", "goto",
     {"url": "http://127.0.0.1:8000/a"}),
    ("go_back()", "go_back()", "go_back", {}),
    ("go_forward()", "go_forward()", "go_forward", {}),
    ("new_tab()", "new_tab()", "new_tab", {}),
    ("tab_focus(1)", "tab_focus(index=1)", "tab_focus", {"index": 1}),
    ("tab_close()", "tab_close()", "tab_close", {}),
    ("noop(250)", "noop(wait_ms=250)", "noop", {"wait_ms": 250.0}),
    ("send_msg_to_user('42')", "send_msg_to_user(text='42')", "send_msg_to_user", {"text": "42"}),
    ("report_infeasible('no such item')", "report_infeasible(reason='no such item')", "report_infeasible",
     {"reason": "no such item"}),
    ("upload_file('4', 'cv.pdf')", "upload_file(bid='4', file='cv.pdf')", "upload_file", {"bid": "4", "file": ["cv.pdf"]}),
    ("mouse_upload_file(5, 6, ['a.png', 'b.png'])", "mouse_upload_file(x=5, y=6, file=['a.png', 'b.png'])",
     "mouse_upload_file", {"x": 5.0, "y": 6.0, "file": ["a.png", "b.png"]}),
]


def test_the_table_covers_every_action():
    assert {name for _, _, name, _ in EVERY_ACTION} == set(ACTION_PARAMS)
    for name in ACTION_PARAMS:  # the help the agent is shown names every action offered
        assert (f"{name}(" in action_help()) == (name in DEFAULT_ACTIONS), name
        assert f"{name}(" in action_help(tuple(ACTION_PARAMS))
    assert set(ACTION_PARAMS) - set(DEFAULT_ACTIONS) == {"upload_file", "mouse_upload_file"}


@pytest.mark.parametrize(("positional", "keyword", "name", "args"), EVERY_ACTION, ids=[c[2] + "-" + c[0][:12] for c in EVERY_ACTION])
def test_every_action_parses_positionally_and_by_keyword(positional, keyword, name, args):
    for text in (positional, keyword):
        (action,) = parse_actions(text)
        assert isinstance(action, BrowserAction)
        assert (action.name, action.args) == (name, args), text
        assert action.source == text


def test_defaults_aliases_and_id_spellings():
    assert parse_actions("noop()")[0].args == {"wait_ms": 0.0}
    assert parse_actions("fill('3', value='x')")[0].args == {"bid": "3", "text": "x"}  # BrowserGym's name
    assert parse_actions("select_option('3', option='a')")[0].args == {"bid": "3", "options": "a"}
    assert parse_actions("select_option('3', ['a', 'b'])")[0].args == {"bid": "3", "options": ["a", "b"]}
    assert parse_actions("scroll(delta_x=-5, delta_y=+7)")[0].args == {"dx": -5.0, "dy": 7.0}
    assert parse_actions("send_msg_to_user(msg='hi')")[0].args == {"text": "hi"}
    for spelling in ("click(12)", "click('12')", 'click("12")', "click('[12]')", "click(' 12 ')", "click('012')"):
        assert parse_actions(spelling)[0].args["bid"] == "12", spelling
    assert parse_actions("fill('3', '''two\nlines''')")[0].args["text"] == "two\nlines"
    assert parse_actions("fill('3', 5)")[0].args["text"] == "5"
    # Only \n, \r\n and \r end lines (as for Python): \u2028 and \f inside text stay text.
    odd = parse_actions("fill('3', 'a\u2028b\x0cc')\r\nclick('1')\rfill('7', 'ü')")
    assert [(a.name, a.args["bid"], a.args.get("text")) for a in odd] == [
        ("fill", "3", "a\u2028b\x0cc"), ("click", "1", None), ("fill", "7", "ü")]


def test_reasoning_first_action_last():
    text = ("The form needs a name. I'll type it into the field with id 15,\n"
            "because that's the \"Name\" textbox (see above).\n\n"
            "fill('15', 'Ada')")
    assert [str(a) for a in parse_actions(text)] == ["fill(bid='15', text='Ada')"]
    labelled = "Thought: the submit button is [9].\nAction: click('9')"
    assert str(parse_actions(labelled)[0]) == "click(bid='9')"
    assert parse_actions("final action: noop()")[0].name == "noop"


def test_fenced_blocks_the_last_one_counts():
    text = "First idea:\n```python\nclick('1')\n```\nNo, better:\n```\nclick('2')\n```\nDone."
    assert [str(a) for a in parse_actions(text)] == ["click(bid='2')"]
    assert parse_actions("```py\n  fill('4', 'x')\n```")[0].args == {"bid": "4", "text": "x"}


def test_several_lines_are_several_actions():
    actions = parse_actions("fill('3', 'Ada')\ncheck('5')\n\nclick('9')")
    assert [a.name for a in actions] == ["fill", "check", "click"]
    assert [a.name for a in parse_actions("click('1'); click('2')")] == ["click", "click"]
    # Reasoning before a block of actions: the whole trailing block is taken.
    tail = parse_actions("I will do two things:\nfill('3', 'a')\nclick('4')")
    assert [a.name for a in tail] == ["fill", "click"]


BAD = [
    # (text, a phrase the message must contain)
    ("", "no action found"),
    ("   \n\n", "no action found"),
    ("delete('3')", "unknown action 'delete'; use one of: click"),
    ("__import__('os')", "unknown action '__import__'"),
    ("__import__('os').system('true')", "is not one of the actions"),
    ("page.click('3')", "is not one of the actions"),
    ("click('1').then()", "is not one of the actions"),
    ("fill('3', f'{secret}')", "arguments must be plain values"),
    ("click(lambda: 1)", "arguments must be plain values"),
    ("click(x)", "arguments must be plain values"),
    ("fill('3', 'a' * 10**9)", "arguments must be plain values"),
    ("fill('3', b'bytes')", "arguments must be plain values"),
    ("click(*ids)", "no *"),
    ("click(**kw)", "no **"),
    ("hover('1', '2')", "hover takes 1 argument(s), got 2; usage: hover(bid)"),
    ("click('1', 'left', [], 4)", "click takes 3 argument(s), got 4; usage: click(bid, button='left', modifiers=())"),
    ("click('1', '2')", "click: button is one of 'left', 'middle', 'right'"),
    ("click('1', modifiers=['Hyper'])", "modifiers are among 'Alt', 'Control', 'ControlOrMeta', 'Meta', 'Shift'"),
    ("dblclick('1', modifiers=[3])", "modifiers are among"),
    ("click('1', modifiers=5)", "modifiers is a list of keys"),
    ("tab_focus(-1)", "a tab is given by its number from 0"),
    ("tab_focus('1')", "a tab is given by its number from 0"),
    ("tab_focus(True)", "a tab is given by its number from 0"),
    ("new_tab('http://127.0.0.1/')", "new_tab takes 0 argument(s), got 1"),
    ("keyboard_down('')", "expected a key name"),
    ("upload_file('4', 3)", "file is a file name in quotes or a list of them"),
    ("upload_file('4', ['a', ''])", "file is a file name in quotes or a list of them"),
    ("fill('1')", "fill is missing its argument 'text'; usage: fill(bid, text)"),
    ("fill('1', 'a', text='b')", "argument 'text' given twice"),
    ("click(bid='1', force=True)", "click has no argument 'force'"),
    ("click('abc')", "'abc' is not an element id"),
    ("click(True)", "an element id is a number"),
    ("click(-3)", "is negative"),
    ("click('9' * 40)", "arguments must be plain values"),
    ("click('" + "9" * 40 + "')", "is not an element id"),
    ("click(" + "9" * 40 + ")", "is not an element id"),
    ("scroll(0, 1e999)", "expected a number"),
    ("scroll(0, 1e9)", "out of range"),
    ("noop(20000)", "noop waits 0 to 10000 milliseconds"),
    ("press('')", "expected a key name"),
    ("goto('  ')", "expected a URL"),
    ("keyboard_type('" + "a" * (MAX_TYPED_CHARS + 1) + "')", "use fill(bid, text) for longer text"),
    ("x = 1", "is not an action"),
    ("import os", "is not an action"),
    ("click('1') + click('2')", "is not an action"),
    ("click('12", "could not read an action"),
    ("0 0", "could not read an action"),
    ("click('1\x002')", "NUL"),
    ("\x00", "NUL"),
]


@pytest.mark.parametrize(("text", "phrase"), BAD, ids=[repr(t[:20]) for t, _ in BAD])
def test_bad_text_is_an_action_error_that_says_how(text, phrase):
    with pytest.raises(ActionError) as caught:
        parse_actions(text)
    assert phrase in str(caught.value), str(caught.value)


@pytest.mark.parametrize("value", [None, 12, b"click('1')", ["click('1')"], {"action": "click"}])
def test_non_text_is_an_action_error(value):
    with pytest.raises(ActionError, match="the action must be text"):
        parse_actions(value)


HOSTILE = [
    "-" * 100_000 + "1",                     # a unary chain deeper than the parser's stack
    "click(" + "not " * 50_000 + "1)",
    "(" * 10_000 + ")" * 10_000,
    "[" * 10_000 + "]" * 10_000,
    "click('\ud800')",                        # a lone surrogate
    "click(" + "9" * 5000 + ")",             # an integer beyond Python's digit limit
    "a" * 200_000,
    "\u202eclick('1')",
    "click('1')\x1b[31m",
]


@pytest.mark.parametrize("text", HOSTILE, ids=[f"hostile-{i}" for i in range(len(HOSTILE))])
def test_hostile_text_is_an_action_error_never_a_crash(text):
    with pytest.raises(ActionError):
        parse_actions(text)


def test_many_lines_parse_in_linear_time():
    # 2,000 action lines (what a 20,000-character action may hold) parse well within a second:
    # the source of each action is not found by rescanning the whole text.
    start = time.perf_counter()
    actions = parse_actions("click('1')\n" * 2000)
    elapsed = time.perf_counter() - start
    assert len(actions) == 2000 and all(a.source == "click('1')" for a in actions)
    assert elapsed < 2.0, f"parsing 2,000 lines took {elapsed:.1f} s"


def test_nothing_is_ever_evaluated(tmp_path):
    target = tmp_path / "evaluated"
    touch = f"__import__('pathlib').Path({str(target)!r}).write_text('x')"
    payloads = [
        touch,
        f"click({touch})",
        f"fill('3', {touch})",
        f"fill(bid='3', text={touch})",
        f"exec({touch!r})",
        f"eval({touch!r})",
        f"open({str(target)!r}, 'w')",
        f"click('1')\n{touch}",
        f"I think so.\n```\n{touch}\n```",
        f"fill('3', [{touch}])",
        f"[click('1') for _ in {touch}]",
        f"click('1') if {touch} else noop()",
        f"@{touch}\ndef f(): pass",
        f"class A({touch}): pass",
        f"noop(wait_ms={touch})",
    ]
    for payload in payloads:
        with pytest.raises(ActionError):
            parse_actions(payload)
        assert not target.exists(), f"{payload!r} was evaluated"
    # Text that *looks* like code inside a string argument is just text.
    (action,) = parse_actions(f"fill('3', {touch!r})")
    assert action.args["text"] == touch and not target.exists()


def test_action_sets_by_group_and_name():
    assert resolve_action_set(None) == DEFAULT_ACTIONS
    assert resolve_action_set("nav") == ("goto", "go_back", "go_forward")
    assert resolve_action_set(["tab", "mouse_click"]) == ("mouse_click", "new_tab", "tab_focus", "tab_close")
    assert set(resolve_action_set(list(ACTION_GROUPS))) == set(ACTION_PARAMS)
    for bad in ([], "everything", ["bid", 3], 7):
        with pytest.raises(ValueError):
            resolve_action_set(bad)
    allowed = resolve_action_set(["bid"])
    assert parse_actions("click('3')", allowed)[0].name == "click"
    with pytest.raises(ActionError, match="'goto' is not offered here; use one of: click, dblclick"):
        parse_actions("goto('http://127.0.0.1/')", allowed)
    with pytest.raises(ActionError, match="unknown action 'delete'; use one of: click, dblclick"):
        parse_actions("delete('3')", allowed)
    # Reasoning, then an offered action: the offered one is found.
    assert parse_actions("I could goto('x') but\nclick('4')", allowed)[0].args["bid"] == "4"
    assert "goto(url)" not in action_help(allowed) and "click(bid, " in action_help(allowed)
