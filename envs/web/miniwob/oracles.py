"""Scripted oracles for MiniWoB++ tasks: read the live page, return the next action.

An oracle is a small JavaScript function run in the task page (on the browser's thread, through
``page.evaluate``). It reads what an agent could read — the instruction (``core.getUtterance()``)
and the DOM — never the task's hidden answer variables, picks the element to act on, and returns
the action with that element's id (its ``data-agentgym-bid``, the ``[n]`` of the page text).
:func:`next_action` turns that into an action string of the browser action language, e.g.
``click('12')`` or ``fill('15', 'Agustina')``.

Oracles are stateless where the page shows its own state (a checked box, a filled field, an
expanded section): each call looks at the page and returns the one action still missing, so an
oracle also finishes an episode that someone else began. Where the page keeps no trace (which
button was already pressed, which numbers were already guessed) the oracle keeps a small
``memory`` dict, one per episode, that :func:`next_action` passes in and updates.

:data:`ORACLE_TASKS` lists the tasks that have one.
"""

from __future__ import annotations

from typing import Any

from agentgym.browser.action_parser import ACTION_PARAMS

__all__ = ["ORACLE_TASKS", "OracleError", "format_action", "has_oracle", "next_action"]


class OracleError(RuntimeError):
    """The oracle could not find what it looks for on the page (a bug, or a page it does not
    know); the message says what was missing."""


# Helpers every oracle body can use. `arg.memory` is the episode's memory (a plain object).
_PRELUDE = r"""
const ATTR = "data-agentgym-bid";
if (window.__agentgym) window.__agentgym.tag();
const memory = arg.memory || {};
const squash = (s) => (s || "").replace(/\s+/g, " ").trim();
const utterance = (() => { const u = core.getUtterance(); return typeof u === "string" ? u : (u && u.utterance) || ""; })();
const quoted = (() => { const m = utterance.match(/"([^"]*)"/g) || []; return m.map((s) => s.slice(1, -1)); })();
const all = (selector, root) => Array.from((root || document).querySelectorAll(selector));
const one = (selector, root) => (root || document).querySelector(selector);
const textOf = (el) => squash(el.textContent);
const byText = (selector, text) => all(selector).find((el) => textOf(el) === text);
const shown = (el) => !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
const ordinal = (text) => parseInt(/(\d+)(st|nd|rd|th)/.exec(text)[1], 10);
const submitButton = () => one("#subbtn") || all("#area button").find((b) => /submit/i.test(textOf(b)));
// An action: the browser action `name` with its positional arguments (format_action writes it).
const act = (name, ...args) => ({name, args});
const pixel = (point) => point.map(Math.round);
const need = (el, what) => { if (!el) throw new Error("oracle: no " + what + " on the page"); return el; };
const bidOf = (el, what) => {
  need(el, what);
  let bid = el.getAttribute(ATTR);
  if (!bid && window.__agentgym) { window.__agentgym.tag(); bid = el.getAttribute(ATTR); }
  if (!bid) throw new Error("oracle: the " + what + " has no element id");
  return bid;
};
// An element still sliding or fading in (a page's animation) has no box yet: wait for it
// rather than click what the browser would refuse as not visible.
const ready = (el) => {
  const r = el.getBoundingClientRect();
  const css = !el.checkVisibility || el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true});
  return r.width > 0 && r.height > 0 && css;
};
const WAIT = act("noop", 200);
const click = (el, what) => {
  const bid = bidOf(el, what || "element to click");
  return ready(el) ? act("click", bid) : WAIT;
};
// Drags: element onto element (drag_and_drop), or pointer from point to point (viewport pixels).
const drag = (from, to, what) => act("drag_and_drop", bidOf(from, (what || "drag") + " source"),
                                     bidOf(to, (what || "drag") + " target"));
const center = (el) => {
  const r = need(el, "element to point at").getBoundingClientRect();
  return [r.left + r.width / 2, r.top + r.height / 2];
};
const mouseDrag = (from, to) => act("mouse_drag_and_drop", ...pixel(from), ...pixel(to));
// A drag along a path of several turns: press at path[0], move through the other points and
// release at the last (unless `release` is false: the caller releases, e.g. on something the
// moves draw). The page keeps no trace of a pressed button, so `memory.gesture` holds the
// actions still to come; gestureGoesOn() returns the next one (null when none is left).
const gesture = (path, release = true) => {
  const moves = path.slice(1).map((p) => act("mouse_move", ...pixel(p)));
  if (release && moves.length) moves[moves.length - 1].name = "mouse_up";
  memory.gesture = moves;
  return act("mouse_down", ...pixel(path[0]));
};
const gestureGoesOn = () => {
  const next = (memory.gesture || []).shift() || null;
  if (!memory.gesture || !memory.gesture.length) delete memory.gesture;
  return next;
};
// A jQuery UI sortable (a list, or a grid of floated items) moves its placeholder after an item the
// pointer enters moving down or right, past the item's middle that way, and before one it enters
// moving up or left (on a grid a move both up and right counts as right, and while the grid's first
// item is dragged the grid counts as a list, which follows vertical moves only). Entering any item
// beyond the target on the way pushes the target aside. So item `from` of `items` (in order) goes to
// index `to` along its row to the target's column, then along that column to the target, ending a
// quarter past the target's middle: one drag when the two share a row or a column, else a gesture.
const sortableDrag = (items, from, to) => {
  const [x0, y0] = center(items[from]), [x1, y1] = center(need(items[to], "list item " + (to + 1)));
  const box = items[to].getBoundingClientRect();
  const end = [x1 + Math.sign(Math.round(x1 - x0)) * box.width / 4, y1 + (to > from ? 1 : -1) * box.height / 4];
  if (Math.abs(x1 - x0) < 1 || Math.abs(y1 - y0) < 1) return mouseDrag([x0, y0], end);
  return gesture([[x0, y0], [x1, y0], [x1, end[1]]]);
};
const fill = (el, text, what) => act("fill", bidOf(el, what || "field to fill"), String(text));
const select = (el, option, what) => act("select_option", bidOf(el, what || "list"), String(option));
// Fill the fields in order, then click `finish`: one action per call.
const fillThenClick = (pairs, finish) => {
  for (const [el, text, what] of pairs) { need(el, what); if (el.value !== String(text)) return fill(el, text, what); }
  return click(finish, "submit button");
};
"""

# task -> the oracle's body: returns {name, bid, text?, option?}; reads `utterance`, the DOM, `memory`.
_ORACLES: dict[str, str] = {}


def _oracle(*tasks: str):
    def register(body: str) -> str:
        for task in tasks:
            _ORACLES[task] = body
        return body
    return register


_oracle("click-test")("return click(one('#subbtn'), 'button');")

_oracle("click-test-2", "click-test-transfer")(r"""
const label = /button (\w+)/i.exec(utterance)[1];
return click(byText("#area button", label), "button " + label);
""")

_oracle("click-button", "unicode-test")(r"""
return click(byText("#area button", quoted[0]), "button " + quoted[0]);
""")

_oracle("click-button-sequence")(r"""
// The page keeps no visible trace of the first click: remember it.
const label = memory.clickedOne ? "TWO" : "ONE";
const action = click(byText("#area button", label), "button " + label);
if (action.name === "click") memory.clickedOne = true;
return action;
""")

_oracle("click-link")(r"""
return click(all("#area .alink").find((el) => textOf(el) === quoted[0]), "link " + quoted[0]);
""")

_oracle("click-dialog")(r"""
return click(one(".ui-dialog-titlebar-close"), "dialog close button");
""")

_oracle("click-dialog-2")(r"""
const target = quoted[0];
if (target === "x") return click(one(".ui-dialog-titlebar-close"), "dialog close button");
return click(all(".ui-dialog-buttonpane button").find((b) => textOf(b) === target), "dialog button " + target);
""")

_oracle("click-tab")(r"""
const number = /#(\d+)/.exec(utterance)[1];
return click(byText("#area .ui-tabs-anchor", "Tab #" + number), "tab " + number);
""")

_oracle("click-tab-2", "click-tab-2-easy", "click-tab-2-medium", "click-tab-2-hard")(r"""
// Every link with the asked text is a right answer; prefer one in the open tab.
const links = all("#area .alink").filter((el) => textOf(el) === quoted[0]);
const open = links.find(shown);
if (open) return click(open, "link");
if (links.length) {
  const panel = links[0].closest(".ui-tabs-panel");
  return click(one('#area .ui-tabs-anchor[href="#' + panel.id + '"]'), "tab of the link");
}
// click-tab-2-medium: the link is in no tab; the answer is to switch to the second tab.
return click(all("#area .ui-tabs-anchor")[1], "second tab");
""")

_oracle("click-collapsible", "click-collapsible-nodelay")(r"""
const header = one("#area h3");
if (header.getAttribute("aria-expanded") !== "true") return click(header, "section header");
return click(one("#subbtn"), "submit button");
""")

_oracle("click-collapsible-2", "click-collapsible-2-nodelay")(r"""
const links = all("#area .alink").filter((el) => textOf(el) === quoted[0]);
const open = links.find((el) => el.closest(".ui-accordion-content").getAttribute("aria-hidden") === "false");
if (open) return click(open, "link");
const content = need(links[0], "link " + quoted[0]).closest(".ui-accordion-content");
return click(one("#" + content.getAttribute("aria-labelledby")), "section header");
""")

_oracle("click-option")(r"""
const target = /Select (.*) and click Submit/.exec(utterance)[1];
const radio = need(all("#boxes input").find((el) => textOf(el.parentElement) === target), "option " + target);
return radio.checked ? click(submitButton(), "submit button") : click(radio, "option " + target);
""")

_oracle("click-checkboxes", "click-checkboxes-large", "click-checkboxes-transfer")(r"""
const listed = /Select (.*) and click Submit/.exec(utterance)[1];
const wanted = new Set(listed === "nothing" ? [] : listed.split(/, | and /).map(squash));
// click-checkboxes-large splits the boxes over #boxes-left and #boxes-right.
for (const box of all("#area input[type=checkbox]")) {
  if (box.checked !== wanted.has(textOf(box.parentElement))) return click(box, "checkbox");
}
return click(submitButton(), "submit button");
""")

_oracle("click-widget")(r"""
return click(all("#area [data-type]").find((el) => el.dataset.type === quoted[0]), quoted[0] + " widget");
""")

_oracle("click-color")(r"""
const color = /the (\w+) colored box/.exec(utterance)[1];
return click(all("#area .color").find((el) => el.dataset.color === color), color + " box");
""")

_oracle("enter-text", "enter-text-dynamic")(r"""
return fillThenClick([[one("#tt"), quoted[0], "text field"]], submitButton());
""")

_oracle("enter-text-2")(r"""
const text = /upper case/.test(utterance) ? quoted[0].toUpperCase() : quoted[0].toLowerCase();
return fillThenClick([[one("#tt"), text, "text field"]], submitButton());
""")

_oracle("enter-password")(r"""
return fillThenClick([[one("#password"), quoted[0], "password field"], [one("#verify"), quoted[0], "verify field"]],
                     submitButton());
""")

_oracle("login-user", "login-user-popup")(r"""
// login-user-popup: a popup may open when a field gets focus; dismiss it with Cancel.
const popup = one("#popup");
if (popup && shown(popup)) return click(one("#popup-cancel"), "popup's Cancel button");
return fillThenClick([[one("#username"), quoted[0], "username field"], [one("#password"), quoted[1], "password field"]],
                     one("#subbtn"));
""")

_oracle("focus-text")("return click(one('#area input'), 'text field');")

_oracle("focus-text-2")(r"""
return click(all("#area input")[ordinal(utterance) - 1], "text field");
""")

_oracle("choose-list")(r"""
const target = /Select (.*) from the list/.exec(utterance)[1];
const list = one("#options");
const chosen = list.options[list.selectedIndex];
if (!chosen || textOf(chosen) !== target) return select(list, target, "list");
return click(all("#area button").find((b) => /submit/i.test(textOf(b))), "submit button");
""")

_oracle("read-table")(r"""
const key = /value of (.*) into the text field/.exec(utterance)[1];
const cell = need(all("#tab td").find((td) => textOf(td) === key), "row " + key);
return fillThenClick([[one("#tt"), textOf(cell.nextElementSibling), "text field"]], submitButton());
""")

_oracle("read-table-2")(r"""
const valueOf = (key) => textOf(need(all("#tab td").find((td) => textOf(td) === key), "row " + key).nextElementSibling);
const pairs = all("#form label").map((label) => [one("#" + label.id.replace("ll", "tt")), valueOf(label.dataset.key),
                                                 label.dataset.key + " field"]);
return fillThenClick(pairs, submitButton());
""")

_oracle("simple-arithmetic")(r"""
const [, a, op, b] = /(-?\d+)\s*([-+x*])\s*(-?\d+)/.exec(textOf(one("#math-problem")));
const x = Number(a), y = Number(b);
const answer = op === "+" ? x + y : op === "-" ? x - y : x * y;
return fillThenClick([[one("#math-answer"), answer, "answer field"]], submitButton());
""")

_oracle("simple-algebra")(r"""
// "a + x = c", "x - a = c", "a - x = c", ...: solve the linear equation for x.
const problem = textOf(one("#math-problem")).replace(/\s+/g, "");
const [left, right] = problem.split("=");
const c = Number(right);
let answer;
let m;
if ((m = /^x([-+])(\d+)$/.exec(left))) answer = m[1] === "+" ? c - Number(m[2]) : c + Number(m[2]);
else if ((m = /^(-?\d+)([-+])x$/.exec(left))) answer = m[2] === "+" ? c - Number(m[1]) : Number(m[1]) - c;
else throw new Error("oracle: cannot read the equation " + problem);
return fillThenClick([[one("#math-answer"), answer, "answer field"]], submitButton());
""")

_oracle("find-word")(r"""
const words = textOf(one("#area p")).split(" ").filter(Boolean);
const word = words[ordinal(utterance) - 1].replace(/[^a-zA-Z]/g, "");
return fillThenClick([[one("#answer-input"), word, "answer field"]], submitButton());
""")

_oracle("copy-paste")(r"""
return fillThenClick([[one("#answer-input"), one("#to-copy").value, "answer field"]], submitButton());
""")

_oracle("copy-paste-2")(r"""
const source = one("#text-" + ordinal(utterance));
return fillThenClick([[one("#answer-input"), need(source, "text area").value, "answer field"]], submitButton());
""")

_oracle("use-spinner")(r"""
// The spinner's field ignores the keyboard: step with its arrow buttons.
const target = Number(/Select (-?\d+) with the spinner/.exec(utterance)[1]);
const value = parseInt(one("#spinner").value, 10) || 0;
if (value < target) return click(one(".ui-spinner-up"), "spinner's up arrow");
if (value > target) return click(one(".ui-spinner-down"), "spinner's down arrow");
return click(submitButton(), "submit button");
""")

_oracle("guess-number")(r"""
// Binary search on 0-9: fill a guess, submit it, read "higher"/"lower" feedback.
if (memory.low === undefined) { memory.low = 0; memory.high = 9; }
const field = one("#tt");
if (memory.pending !== undefined && field.value === String(memory.pending)) {
  memory.submitted = memory.pending;
  delete memory.pending;
  return click(submitButton(), "submit button");
}
if (memory.submitted !== undefined) {
  if (shown(one("#higher"))) memory.low = memory.submitted + 1;
  else if (shown(one("#lower"))) memory.high = memory.submitted - 1;
  delete memory.submitted;
}
memory.pending = Math.floor((memory.low + memory.high) / 2);
return fill(field, memory.pending, "guess field");
""")

_oracle("navigate-tree")(r"""
// Open the outermost closed folder on the way to the item, then click the item.
const items = all("#tree span").filter((el) => textOf(el) === quoted[0]);
const visible = items.find(shown);
if (visible) return click(visible, "tree item");
let closed = null;
for (let node = need(items[0], "tree item " + quoted[0]).parentElement; node && node.id !== "tree"; node = node.parentElement) {
  if (node.tagName === "UL" && getComputedStyle(node).display === "none") closed = node;
}
const folder = need(closed, "closed folder").parentElement;
return click(one(":scope > .hitarea", folder) || one(":scope > span", folder), "folder toggle");
""")

_oracle("email-inbox-delete", "email-inbox-important")(r"""
const sender = /email by (.*?) and click/.exec(utterance)[1];
const thread = need(all("#main .email-thread").find((t) => textOf(one(".email-sender", t)) === sender),
                    "email by " + sender);
const icon = /trash/.test(utterance) ? ".trash" : ".star";
return click(one(icon, thread), icon.slice(1) + " icon");
""")

_oracle("social-media")(r"""
const [, user, label] = /For the user (@\S+), click on the "(.*)" button/.exec(utterance);
const CLASSES = {"Reply": "reply", "Retweet": "retweet", "Like": "like", "Share via DM": "share",
                 "Copy link to Tweet": "copy", "Embed Tweet": "embed", "Mute": "menu-user", "Block": "block-user",
                 "Report": "report"};
const post = need(all("#area .media").find((m) => textOf(one(".username", m)) === user), "post by " + user);
const target = one("." + CLASSES[label.split(" @")[0]], post);
if (target.tagName === "LI" && !shown(target)) return click(one(".more", post), "post's more menu");
return click(target, label + " button");
""")


# ---------------------------------------------------------------------------------------- drags
# The page shows a drag's outcome in the moved element's place (a box's position, an SVG shape's
# translate(), a list's order, the selection, a drawn path): the oracles read that back and drag
# again or submit. Memory holds only what the page does not show: a gesture still under way
# (the button held across turns) and resize-textarea's initial size.

_oracle("drag-box")(r"""
// Contained: the small box's border box lies inside the large one's (the page compares the
// two boxes' top/left offsets, within the 30-pixel difference of their sides).
const small = need(one("#draggableSmall"), "small box"), large = need(one("#draggableLarge"), "large box");
const s = small.getBoundingClientRect(), l = large.getBoundingClientRect();
const inside = (a, b, size) => a - b > 0 && a - b < size;
if (inside(s.top, l.top, l.height - s.height) && inside(s.left, l.left, l.width - s.width)) {
  return click(submitButton(), "submit button");
}
// The small box is drawn above the large one: grab its centre, drop it on the large one's centre.
return mouseDrag(center(small), center(large));
""")

_oracle("drag-circle", "drag-single-shape")(r"""
// "Drag the circle up then press Submit." The page moves the shape by a translate(dx, dy)
// and scores the sign of that shift in the asked direction.
const direction = /Drag the \w+ (left|right|up|down)/.exec(utterance)[1];
const shape = need(one("#area svg circle, #area svg rect, #area svg polygon"), "shape");
const shift = /translate\(\s*([-\d.e]+)[ ,]+([-\d.e]+)\s*\)/.exec(shape.getAttribute("transform") || "");
const [dx, dy] = shift ? [Number(shift[1]), Number(shift[2])] : [0, 0];
const done = {left: dx < -1, right: dx > 1, up: dy < -1, down: dy > 1}[direction];
if (done) return click(submitButton(), "submit button");
// Drag its centre 30 pixels that way, the drop point kept inside the drawing.
const [x, y] = center(shape);
const box = one("#area svg").getBoundingClientRect();
const clamp = (v, lo, hi) => Math.min(Math.max(v, lo + 2), hi - 2);
const step = {left: [-30, 0], right: [30, 0], up: [0, -30], down: [0, 30]}[direction];
return mouseDrag([x, y], [clamp(x + step[0], box.left, box.right), clamp(y + step[1], box.top, box.bottom)]);
""")

_oracle("drag-items", "drag-items-grid")(r"""
// "Drag Kasie to the 3rd position." / "... up by one position." / "... to the bottom left." /
// "... left by one.": a jQuery sortable (a list of 5, or a grid of 3 x 3); the drop ends the episode.
const going = gestureGoesOn();
if (going) return going;
const [, name, where] = /^Drag (.*?) (to the .*?|(?:up|down|left|right) by one.*?)\.?$/.exec(utterance);
const items = all("#sortable li");
const from = items.findIndex((li) => textOf(li) === name);
need(items[from], "item " + name);
const grid = items.length === 9;
const PLACES = {"top left": 0, "top center": 1, "top right": 2, "center left": 3, "center": 4, "center right": 5,
                "bottom left": 6, "bottom center": 7, "bottom right": 8};
const MOVES = grid ? {up: -3, down: 3, left: -1, right: 1} : {up: -1, down: 1};
let to;
let m;
if ((m = /^to the (\d+)/.exec(where))) to = Number(m[1]) - 1;
else if (where === "to the top") to = 0;
else if (where === "to the bottom") to = items.length - 1;
else if ((m = /^to the (.*)$/.exec(where)) && m[1] in PLACES) to = PLACES[m[1]];
else if ((m = /^(up|down|left|right) by one/.exec(where))) to = from + MOVES[m[1]];
else throw new Error("oracle: cannot read the destination in " + utterance);
need(items[to], "destination " + where);
return sortableDrag(items, from, to);
""")

_oracle("drag-sort-numbers")(r"""
// Selection sort, one drag a turn: bring the smallest number not yet in place to its place.
const going = gestureGoesOn();
if (going) return going;
const items = all("#sortable li");
const values = items.map((li) => parseInt(textOf(li), 10));
const sorted = values.slice().sort((a, b) => a - b);
const place = values.findIndex((v, i) => v !== sorted[i]);
if (place < 0) return click(submitButton(), "submit button");
const from = values.indexOf(sorted[place], place + 1);
return sortableDrag(items, from, place);
""")

_oracle("resize-textarea")(r"""
// "Resize the textarea so that the width is smaller than its initial size then press Submit."
// The page keeps no trace of the initial size: remember it. Drag jQuery UI's side handle.
const [, dimension, direction] = /the (width|height) is (smaller|larger)/.exec(utterance);
const area = need(one("#tt"), "text area").getBoundingClientRect();
if (memory.initial === undefined) memory.initial = {width: area.width, height: area.height};
const change = area[dimension] - memory.initial[dimension];
if (direction === "larger" ? change > 0 : change < 0) return click(one("#submit"), "submit button");
const handle = need(one(dimension === "width" ? ".ui-resizable-e" : ".ui-resizable-s"), "resize handle");
// The handle sticks out of its wrapper, which clips it (overflow: hidden): press its visible part.
const h = handle.getBoundingClientRect(), w = handle.parentElement.getBoundingClientRect();
const [x, y] = [(Math.max(h.left, w.left) + Math.min(h.right, w.right)) / 2,
                (Math.max(h.top, w.top) + Math.min(h.bottom, w.bottom)) / 2];
const delta = direction === "larger" ? 20 : -20;
return mouseDrag([x, y], dimension === "width" ? [x + delta, y] : [x, y + delta]);
""")

_oracle("highlight-text", "highlight-text-2")(r"""
// Select the paragraph's text by dragging from its first letter to its last, then submit
// (the page compares the selection's letters, whitespace ignored).
const paragraph = /paragraph below/.test(utterance) ? one("#randomText")
  : all("#randomText p")[ordinal(utterance) - 1];
need(paragraph, "paragraph");
const letters = (text) => text.replace(/\s/g, "");
const selected = letters(window.getSelection().toString());
if (selected && selected === letters(paragraph.textContent)) return click(submitButton(), "submit button");
const walker = document.createTreeWalker(paragraph, NodeFilter.SHOW_TEXT);
const nodes = [];
while (walker.nextNode()) if (walker.currentNode.textContent.trim()) nodes.push(walker.currentNode);
need(nodes[0], "text in the paragraph");
const first = nodes[0], last = nodes[nodes.length - 1];
const charBox = (node, index) => {
  const range = document.createRange();
  range.setStart(node, index);
  range.setEnd(node, index + 1);
  return range.getBoundingClientRect();
};
const a = charBox(first, first.textContent.search(/\S/));
const b = charBox(last, last.textContent.length - 1 - last.textContent.split("").reverse().join("").search(/\S/));
// Press just inside the first letter's left half, release past the last letter's right edge.
return mouseDrag([Math.floor(a.left) + 1, a.top + a.height / 2], [Math.ceil(b.right) + 2, b.top + b.height / 2]);
""")

_oracle("draw-line")(r"""
// "Draw a horizontal line that runs through the dot": a 50-pixel stroke centred on the dot,
// pressed inside the drawing (the page starts a stroke only there).
const stroke = one("#area svg path");
if (stroke && stroke.getAttribute("d")) return click(one("#controls button"), "submit button");
const [x, y] = center(need(one("#circ"), "dot"));
const horizontal = /horizontal/.test(utterance);
return horizontal ? mouseDrag([x - 25, y], [x + 25, y]) : mouseDrag([x, y - 25], [x, y + 25]);
""")

_oracle("drag-shapes", "drag-shapes-2")(r"""
// "Drag all circles into the black box." / "Drag all red shapes (all triangles) into the left box,
// and everything else into the right box." A shape counts as in a box when the top-left corner of
// its box is; each turn drags one shape that is not where it belongs to the middle of its box.
const svg = need(one("#area svg"), "drawing");
const boxes = all("rect#shape-container", svg);
const shapes = all("rect:not(#shape-container), circle, polygon", svg);
const TAGS = {rectangles: "rect", circles: "circle", triangles: "polygon"};
const [, what] = /^Drag all (.*?) into the/.exec(utterance);
const chosen = (shape) => what in TAGS ? shape.tagName.toLowerCase() === TAGS[what]
  : shape.getAttribute("fill") === what.replace(/ shapes$/, "");
const inside = (shape, box) => {
  const s = shape.getBoundingClientRect(), b = box.getBoundingClientRect();
  return s.left > b.left && s.left < b.right && s.top > b.top && s.top < b.bottom;
};
const twoBoxes = boxes.length === 2;
const [left, right] = boxes.slice().sort((a, b) => a.getBoundingClientRect().left - b.getBoundingClientRect().left);
need(left, "box");
for (const shape of shapes) {
  // drag-shapes: the other shapes stay where they are (outside the box).
  const home = chosen(shape) ? left : twoBoxes ? right : null;
  if (home && !inside(shape, home)) return mouseDrag(center(shape), center(home));
}
return click(submitButton(), "submit button");
""")

_oracle("draw-circle")(r"""
// "Draw a circle centered around the marked point by dragging the mouse.": press 15 pixels
// right of the dot and go round it through 8 points of that circle, one move a turn (a
// gesture), then submit.
const going = gestureGoesOn();
if (going) return going;
const stroke = one("#area svg path");
if (stroke && stroke.getAttribute("d")) return click(one("#controls button"), "submit button");
const [x, y] = center(need(one("#circ"), "dot"));
const path = [];
for (let i = 0; i <= 8; i++) path.push([x + 15 * Math.cos(i * Math.PI / 4), y + 15 * Math.sin(i * Math.PI / 4)]);
return gesture(path);
""")

_oracle("daily-calendar")(r"""
// "Create a 1.5 hours event named "Party", between 4PM and 8PM.": press in a free half-hour slot
// (#hh-N, N = half-hours since midnight) of the window, move down to the last slot of the event,
// release over the "New event" box that the moves draw, type the name and click Create.
const dialog = one("#create-event");
if (dialog) {
  return fillThenClick([[one("#event-name", dialog), quoted[0], "event name field"]],
                       one("#controls .create", dialog));
}
const area = need(one("#area"), "calendar");
const drawn = one("#newEvent");
const slotBox = (n) => need(one("#hh-" + n), "half-hour " + n).getBoundingClientRect();
// The release must land on the drawn box (the page listens for it there), reached from right of
// the slots so that no slot sees the pointer pass and moves the event's end.
const beside = slotBox(0).right + 8;
// A gesture under way: its moves (memory.gesture), then the release on the box (read live, not
// planned: the box exists only once the moves have drawn it).
const going = gestureGoesOn();
if (going) return going;
if (drawn) {
  // The button is still down (the page draws the box while the pointer moves): release on it.
  const r = drawn.getBoundingClientRect();
  return act("mouse_up", ...pixel([(Math.max(beside, r.left) + r.right) / 2, r.top + r.height / 2]));
}
// The request: its length in half-hours and its window [first, end) of half-hours.
const [, amount, unit] = need(/(\d+(?:\.\d+)?) (hours?|mins)/.exec(utterance), "length in the request");
const length = Math.round(unit === "mins" ? Number(amount) / 30 : Number(amount) * 2);
const [, h0, m0, h1, m1] = need(/between (\d+)(AM|PM) and (\d+)(AM|PM)/i.exec(utterance), "time window in the request");
const halfHours = (h, meridiem) => 2 * ((Number(h) % 12) + (/pm/i.test(meridiem) ? 12 : 0));
const first = halfHours(h0, m0), end = halfHours(h1, m1);
// Events are drawn beside the hour labels, half-hour n at label row n; the slot rows themselves
// sit one hour lower (the page's inline layout): read an event's half-hours from the label rows.
const labels = all("#area .hour-label").map((el) => el.getBoundingClientRect().top);
const pitch = (labels[1] - labels[0]) / 2;
const busy = new Set();
for (const event of all("#area .event")) {
  const r = event.getBoundingClientRect();
  const start = Math.round((r.top - labels[0]) / pitch);
  for (let n = start; n < start + Math.max(1, Math.round(r.height / pitch)); n++) busy.add(n);
}
let start = -1;
for (let n = first; n + length <= end && start < 0; n++) {
  if (!Array.from({length}, (_, k) => n + k).some((k) => busy.has(k))) start = n;
}
if (start < 0) throw new Error("oracle: no free " + length + " half-hours between half-hour " + first + " and " + end);
const last = start + length - 1;
// Show the slots and the label row above them, where the box will be drawn: wheel the
// calendar (the pointer over it first).
const box = area.getBoundingClientRect();
const shownTop = box.top + area.clientTop, shownBottom = Math.min(shownTop + area.clientHeight, window.innerHeight);
const top = labels[0] + start * pitch - 2, bottom = slotBox(last).bottom + 2;
if (top < shownTop || bottom > shownBottom) {
  if (!area.matches(":hover")) return act("mouse_move", ...pixel([beside, (shownTop + shownBottom) / 2]));
  return act("scroll", 0, Math.round((top + bottom) / 2 - (shownTop + shownBottom) / 2));
}
// Press and move where the slots themselves take the pointer: the next hour's label covers a
// slot row's left part, and events (z-index 999) its right part from 21% of the calendar's width.
// Check the press, each slot's middle and the last point: [slot, y] pairs.
const a = slotBox(start), b = slotBox(last);
const checks = [[start, a.top + 5], [last, b.bottom - 5]];
for (let n = start; n <= last; n++) checks.push([n, slotBox(n).top + slotBox(n).height / 2]);
const hits = (x) => checks.every(([n, y]) => document.elementFromPoint(x, Math.round(y)) === one("#hh-" + n));
let x = Math.ceil(a.left) + 1;
while (x < a.right && !hits(x)) x++;
if (x >= a.right) throw new Error("oracle: the half-hours " + start + "-" + last + " are covered; nowhere to press");
return gesture([[x, a.top + 5], [x, b.bottom - 5], [beside, b.bottom - 5]], false);
""")


#: The tasks that have an oracle, sorted.
ORACLE_TASKS: tuple[str, ...] = tuple(sorted(_ORACLES))


def has_oracle(task: str) -> bool:
    return task in _ORACLES


def _script(task: str) -> str:
    return "(arg) => {\n" + _PRELUDE + "\n" + _ORACLES[task] + "\n}"


def format_action(action: dict[str, Any]) -> str:
    """``{"name": "fill", "args": ["3", "a"]}`` -> ``fill('3', 'a')``: a call of the browser
    action language with Python literals, which the action parser reads back exactly, whatever
    a text holds."""
    name, args = action.get("name"), action.get("args")
    if name not in ACTION_PARAMS or not isinstance(args, list):
        raise OracleError(f"the oracle returned an action this module cannot write: {action!r}")
    return f"{name}({', '.join(repr(arg) for arg in args)})"


def next_action(page: Any, task: str, memory: dict[str, Any]) -> str:
    """(On the browser's thread.) The oracle's next action for ``task`` on ``page``.

    ``memory`` is the episode's memory (start each episode with ``{}``); it is updated in place.

    Raises:
        NotImplementedError: ``task`` has no oracle.
        OracleError: the oracle failed on this page (the message says what it missed).
    """
    if task not in _ORACLES:
        raise NotImplementedError(f"no scripted oracle for MiniWoB++ task {task!r}; the {len(ORACLE_TASKS)} "
                                  f"tasks with one: {', '.join(ORACLE_TASKS)}")
    try:
        result = page.evaluate("(arg) => { const action = (" + _script(task) + ")(arg); "
                               "return {action: action, memory: arg.memory}; }", {"memory": memory})
    except Exception as exc:  # Playwright's Error: the script threw on this page
        raise OracleError(f"the {task} oracle failed: {str(exc).splitlines()[0] if str(exc) else exc!r}") from exc
    memory.clear()
    memory.update(result.get("memory") or {})
    return format_action(result["action"])
