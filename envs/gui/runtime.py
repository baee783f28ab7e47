"""The page a generated app runs in: its HTML, its style sheet and its JavaScript runtime.

:func:`page_html` turns an app *spec* (plain data from :mod:`~agentgym.envs.gui.screens` or
:mod:`~agentgym.envs.gui.apps`) into one self-contained HTML document: the spec as JSON, the
runtime below and the CSS, nothing loaded from anywhere (icons are inline SVG, fonts are the
system's). The runtime renders the spec's screens into the DOM and reacts to *real* input
events only -- Chromium's clicks, double clicks, long presses (a press held 500 ms or more),
drags (a finger-style scroll or swipe), wheel events and typing -- and keeps the app's state in
``window.__gui.state``, where the environments read the outcome of a task.

Every interactive element carries ``data-gid`` (its id, stable for the app's life), a role, an
accessible name, and a semantic key (``setting:wifi``, ``app:Contacts``...) that only the
environment's oracle reads. ``window.__gui`` offers:

* ``elements()`` -- each interactive element in view: id, role, name, state, its visible box
  (``getBoundingClientRect`` clipped by its scroll containers and the viewport, in CSS pixels),
  its whole box, and whether a point at the box's centre reaches it (``elementFromPoint``);
* ``tree()`` -- the screen as an accessibility tree (interactive elements and static text,
  with depth), for the text view;
* ``snapshot()`` -- the screen's id and title, the open overlay, the focused element, the last
  element clicked, a copy of the state;
* ``system(name)`` -- the system's ``back`` / ``home`` buttons; ``openApp(name)``.

Nothing in the runtime depends on time or chance (no timers, no animations, no ``Date``), so
the same spec and the same events give the same pixels.
"""

from __future__ import annotations

import json
from typing import Any

from .icons import svg

STYLE = r"""
*{box-sizing:border-box}
html,body{margin:0;height:100%;overflow:hidden;background:var(--bg);color:var(--text);
  font-family:var(--font);font-weight:var(--weight);font-size:var(--fs);line-height:1.3}
*{animation:none!important;transition:none!important;caret-color:transparent}
::-webkit-scrollbar{width:6px;height:6px}::-webkit-scrollbar-thumb{background:var(--border)}
#app{position:fixed;inset:0;display:flex;flex-direction:column}
#screen{flex:1;display:flex;flex-direction:column;min-height:0;position:relative}
.statusbar{height:24px;flex:none;display:flex;align-items:center;justify-content:space-between;
  padding:0 14px;font-size:12px;color:var(--muted)}
.statusbar .icons{display:flex;gap:4px}.statusbar svg{width:14px;height:14px}
.navbar{height:48px;flex:none;display:flex;justify-content:space-around;align-items:center;
  background:var(--surface);border-top:1px solid var(--border)}
.navbar button,.taskbar button{width:64px;height:40px;border:0;background:none;color:var(--muted);
  display:flex;align-items:center;justify-content:center;padding:0;font:inherit}
.navbar svg{width:22px;height:22px}
.taskbar{height:40px;flex:none;display:flex;align-items:center;gap:10px;padding:0 10px;
  background:var(--surface2);border-top:1px solid var(--border);font-size:12px;color:var(--muted)}
.taskbar button{width:auto;gap:6px;padding:0 10px}.taskbar svg{width:18px;height:18px}
.taskbar .clock{margin-left:auto}
.appbar{flex:none;min-height:var(--row);display:flex;align-items:center;gap:4px;
  padding:0 calc(8px*var(--pad));background:var(--surface);border-bottom:1px solid var(--border);
  box-shadow:var(--shadow)}
.appbar .title{flex:1;font-size:1.25em;font-weight:bold;white-space:nowrap;overflow:hidden;
  text-overflow:ellipsis;padding:0 6px}
.ib{width:var(--icon);height:var(--icon);flex:none;border:0;border-radius:50%;background:none;
  color:var(--text);display:inline-flex;align-items:center;justify-content:center;padding:0;margin:0}
.ib svg{width:60%;height:60%}
.scroll{flex:1;overflow:auto;min-height:0;position:relative}
.content{flex:1;display:flex;flex-direction:column;min-height:0;position:relative}
.body{padding:calc(12px*var(--pad)) calc(16px*var(--pad)) calc(24px*var(--pad))}
.desktop .body{max-width:1100px;margin:0 auto}
.has-fab .body{padding-bottom:96px}
h2.txt{font-size:1.35em;margin:calc(10px*var(--pad)) 0 calc(6px*var(--pad))}
p.txt{margin:calc(6px*var(--pad)) 0;color:var(--muted)}
section{margin:calc(8px*var(--pad)) 0;background:var(--surface);border-radius:var(--radius);
  box-shadow:var(--shadow);overflow:hidden}
section>h3{margin:0;padding:calc(10px*var(--pad)) calc(14px*var(--pad)) calc(4px*var(--pad));
  font-size:.85em;color:var(--primary);text-transform:uppercase;letter-spacing:.04em}
.row{display:flex;align-items:center;gap:calc(12px*var(--pad));min-height:var(--row);width:100%;
  padding:calc(6px*var(--pad)) calc(14px*var(--pad));border:0;border-bottom:var(--divider);
  background:none;color:inherit;font:inherit;text-align:left;margin:0}
.row:last-child{border-bottom:0}
.row .lead{width:calc(var(--icon)*0.8);height:calc(var(--icon)*0.8);flex:none;color:var(--muted);
  display:flex;align-items:center;justify-content:center}
.row .lead svg{width:80%;height:80%}
.row .main{flex:1;min-width:0}.row .label{display:block;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.row .detail{display:block;font-size:.85em;color:var(--muted);white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.row .trail{color:var(--muted);font-size:.9em;flex:none}
.row .chev{width:18px;height:18px;color:var(--muted);flex:none}
.thumb{width:56px;height:56px;border-radius:var(--radius);flex:none;display:flex;align-items:center;
  justify-content:center;color:#fff;opacity:.85}
.thumb svg{width:26px;height:26px}
.avatar{width:calc(var(--icon)*0.9);height:calc(var(--icon)*0.9);border-radius:50%;flex:none;display:flex;
  align-items:center;justify-content:center;color:#fff;font-size:.85em;font-weight:bold}
.track{width:40px;height:22px;border-radius:11px;background:var(--border);position:relative;flex:none}
.track::after{content:"";position:absolute;top:3px;left:3px;width:16px;height:16px;border-radius:50%;background:#fff;
  box-shadow:0 1px 2px rgba(0,0,0,.4)}
[aria-checked="true"] .track{background:var(--primary)}[aria-checked="true"] .track::after{left:21px}
.box{width:20px;height:20px;border:2px solid var(--muted);border-radius:3px;flex:none;display:flex;
  align-items:center;justify-content:center;color:var(--on-primary)}
.box svg{width:16px;height:16px;visibility:hidden}
[aria-checked="true"] .box{background:var(--primary);border-color:var(--primary)}
[aria-checked="true"] .box svg{visibility:visible}
.dot{width:20px;height:20px;border:2px solid var(--muted);border-radius:50%;flex:none;position:relative}
[aria-checked="true"] .dot{border-color:var(--primary)}
[aria-checked="true"] .dot::after{content:"";position:absolute;inset:3px;border-radius:50%;background:var(--primary)}
.field{margin:calc(8px*var(--pad)) 0}
.field label{display:block;font-size:.85em;color:var(--muted);margin-bottom:3px}
.field input{width:100%;height:calc(var(--row)*0.8);border:1px solid var(--border);border-radius:var(--radius);
  background:var(--surface);color:var(--text);font:inherit;padding:0 10px;outline:none}
.field input:focus{border:2px solid var(--primary)}
.field input::placeholder{color:var(--muted);opacity:.8}
.search{display:flex;align-items:center;gap:8px;margin:calc(8px*var(--pad)) 0}
.search input{flex:1}
.desktop .form{display:grid;grid-template-columns:1fr 1fr;column-gap:24px}
.buttons{display:flex;flex-wrap:wrap;gap:calc(8px*var(--pad));margin:calc(10px*var(--pad)) 0}
.buttons.end{justify-content:flex-end}.buttons.stretch>*{flex:1}
.btn{min-height:calc(var(--row)*0.72);padding:0 calc(16px*var(--pad));border-radius:var(--btn-radius);
  border:1px solid var(--border);background:var(--surface);color:var(--primary);font:inherit;font-weight:bold;
  display:inline-flex;align-items:center;justify-content:center;gap:6px;margin:0}
.btn svg{width:1.2em;height:1.2em}
.btn.primary{background:var(--primary);color:var(--on-primary);border-color:var(--primary)}
.btn.text{border-color:transparent;background:none}
.btn.danger{color:var(--danger)}
.btn.small{min-height:calc(var(--row)*0.55);padding:0 8px;font-size:.85em;font-weight:normal}
.fab{position:absolute;right:18px;bottom:18px;height:56px;min-width:56px;border-radius:16px;border:0;
  background:var(--primary);color:var(--on-primary);display:flex;align-items:center;justify-content:center;
  gap:8px;padding:0 16px;font:inherit;font-weight:bold;box-shadow:0 3px 8px rgba(0,0,0,.3)}
.fab svg{width:24px;height:24px}
.tabs{flex:none;display:flex;background:var(--surface);border-bottom:1px solid var(--border)}
.tabs.bottom{border-bottom:0;border-top:1px solid var(--border)}
.tab{flex:1;min-height:calc(var(--row)*0.85);border:0;background:none;color:var(--muted);font:inherit;
  display:flex;flex-direction:column;align-items:center;justify-content:center;gap:2px;padding:2px}
.tab svg{width:20px;height:20px}
.tab[aria-selected="true"]{color:var(--primary);font-weight:bold;box-shadow:inset 0 -3px 0 var(--primary)}
.chips{display:flex;flex-wrap:wrap;gap:8px;margin:calc(8px*var(--pad)) 0}
.chip{height:calc(var(--row)*0.6);border:1px solid var(--border);border-radius:16px;padding:0 12px;
  background:var(--surface);color:var(--text);font:inherit;font-size:.9em}
.chip[aria-pressed="true"]{background:var(--primary);color:var(--on-primary);border-color:var(--primary)}
.grid{display:grid;gap:calc(14px*var(--pad)) 8px;margin:calc(12px*var(--pad)) 0}
.appicon{border:0;background:none;color:var(--text);font:inherit;font-size:.85em;display:flex;
  flex-direction:column;align-items:center;gap:6px;padding:4px 0}
.appicon .tile{width:calc(var(--icon)*1.25);height:calc(var(--icon)*1.25);border-radius:28%;display:flex;
  align-items:center;justify-content:center;color:#fff}
.appicon .tile svg{width:58%;height:58%}
.launcher .scroll{background:linear-gradient(160deg,var(--surface2),var(--bg))}
.cards{display:grid;gap:12px;margin:calc(10px*var(--pad)) 0}
.desktop .cards{grid-template-columns:repeat(3,1fr)}
.card{background:var(--surface);border-radius:var(--radius);box-shadow:var(--shadow);border:1px solid var(--border);
  padding:calc(12px*var(--pad))}
.card .ct{font-weight:bold;margin-bottom:4px}
table{width:100%;border-collapse:collapse;background:var(--surface);margin:calc(8px*var(--pad)) 0}
th,td{text-align:left;padding:calc(6px*var(--pad)) 8px;border-bottom:1px solid var(--border);white-space:nowrap}
th{color:var(--muted);font-size:.85em}
td .btn{margin-right:4px}
.picture{border-radius:var(--radius);background:var(--surface2);display:flex;align-items:center;
  justify-content:center;color:var(--muted);margin:calc(8px*var(--pad)) 0}
.picture svg{width:48px;height:48px}
.footer{flex:none;display:flex;justify-content:flex-end;gap:8px;padding:calc(8px*var(--pad)) calc(16px*var(--pad));
  background:var(--surface);border-top:1px solid var(--border)}
#overlay:empty{display:none}
#overlay{position:fixed;inset:0;z-index:10;pointer-events:none}
#overlay>.scrim,#overlay>.dialog,#overlay>.menu{pointer-events:auto}
.scrim{position:absolute;inset:0;background:var(--scrim)}
.scrim.clear{background:transparent}
.dialog{position:absolute;left:50%;top:50%;transform:translate(-50%,-50%);width:min(88vw,460px);
  max-height:80vh;display:flex;flex-direction:column;background:var(--surface);border-radius:calc(var(--radius) + 6px);
  box-shadow:0 8px 30px rgba(0,0,0,.35);padding:calc(18px*var(--pad)) 0 calc(8px*var(--pad))}
.dialog h2{margin:0 calc(20px*var(--pad)) 8px;font-size:1.2em}
.dialog p{margin:0 calc(20px*var(--pad)) 8px;color:var(--muted)}
.dialog .scroll{flex:0 1 auto}
.dialog .buttons{padding:0 calc(16px*var(--pad));justify-content:flex-end;margin:8px 0 0}
.menu{position:absolute;min-width:200px;max-width:300px;background:var(--surface);border-radius:var(--radius);
  box-shadow:0 6px 20px rgba(0,0,0,.3);border:1px solid var(--border);padding:4px 0;max-height:70vh;display:flex;
  flex-direction:column}
.menu .row{min-height:calc(var(--row)*0.8);border-bottom:0}
.toast{position:fixed;left:50%;bottom:72px;transform:translateX(-50%);background:#323232;color:#fff;
  padding:10px 18px;border-radius:8px;font-size:.9em;z-index:20;pointer-events:none;white-space:nowrap}
.detail-block{background:var(--surface);border-radius:var(--radius);padding:calc(14px*var(--pad));margin:8px 0}
.detail-block .big{font-size:1.5em;font-weight:bold}
.empty{color:var(--muted);padding:16px 4px}
"""

RUNTIME = r"""
(() => {
const spec = JSON.parse(document.getElementById("gui-spec").textContent);
const S = JSON.parse(JSON.stringify(spec.state));
S.forms = S.forms || {}; S.sel = S.sel || {}; S.cart = S.cart || []; S.chips = S.chips || {};
S.checks = S.checks || {}; S.seq = S.seq || 0;
const stack = spec.start.map((sid) => ({sid, scroll: 0}));
let overlay = spec.overlay || null;
let toast = null, lastClick = null, suppressClick = false, pointer = null;
const dyn = new Map(); let nextId = spec.next_id;
let screenMeta = new Map(), overlayMeta = new Map();
const ICONS = spec.icons;

const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})[c]);
const icon = (name) => name ? (ICONS[name] || "") : "";
const dynId = (key) => { if (!dyn.has(key)) dyn.set(key, nextId++); return dyn.get(key); };
const top = () => stack[stack.length - 1];
const screenOf = (sid) => spec.screens[sid.split("|")[0]];
let meta = screenMeta;

function reg(id, role, label, key, extra) {
  meta.set(String(id), Object.assign({role, label, key}, extra || {}));
  return `data-gid="${id}" role="${role}" aria-label="${esc(label)}"`;
}
function btn(b, cls) {
  const variant = b.variant || "secondary";
  if (variant === "icon") return `<button class="ib ${cls || ""}" ${reg(b.id, "button", b.label, b.key, {do: b.do})}>${icon(b.icon)}</button>`;
  return `<button class="btn ${variant} ${b.size || ""} ${cls || ""}" ${reg(b.id, "button", b.label, b.key, {do: b.do})}>${icon(b.icon)}<span>${esc(b.label)}</span></button>`;
}
function initials(c) { return esc(((c.first || " ")[0] + (c.last || " ")[0]).trim().toUpperCase() || "?"); }
function hueColour(h) { return `hsl(${Math.round(h * 360)},55%,48%)`; }
const CHEV = '<svg class="chev" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2"><polyline points="9 5 16 12 9 19"/></svg>';
const CHECK = '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="3"><polyline points="5 12 10 17 19 7"/></svg>';

function row(r) {
  const lead = r.thumb ? `<span class="thumb" style="background:${hueColour(r.hue || 0)}">${icon("bag")}</span>` : r.icon ? `<span class="lead">${icon(r.icon)}</span>` : (r.avatar ? `<span class="avatar" style="background:${hueColour(r.hue || 0)}">${esc(r.avatar)}</span>` : "");
  const detail = r.detail ? `<span class="detail">${esc(r.detail)}</span>` : "";
  const main = `<span class="main"><span class="label">${esc(r.label)}</span>${detail}</span>`;
  if (r.t === "switch" || r.t === "check") {
    const on = r.setting ? !!S.settings[r.setting] : !!S.checks[r.key];
    const role = r.t === "switch" ? "switch" : "checkbox";
    const mark = r.t === "switch" ? '<span class="track"></span>' : `<span class="box">${CHECK}</span>`;
    return `<div class="row" tabindex="0" aria-checked="${on}" ${reg(r.id, role, r.label, r.key, {do: {toggle: r.setting || null, check: r.setting ? null : r.key}, detail: r.detail})}>${lead}${main}${mark}</div>`;
  }
  if (r.t === "radio") {
    const on = r.group ? S.choices[r.group] === r.value : !!r.checked;
    return `<div class="row" tabindex="0" aria-checked="${on}" ${reg(r.id, "radio", r.label, r.key, {do: r.do})}><span class="dot"></span>${main}</div>`;
  }
  if (r.t === "choice") {
    const value = S.choices[r.choice];
    return `<div class="row" tabindex="0" ${reg(r.id, "button", r.label, r.key, {do: {choices: r.choice}, value})}>${lead}<span class="main"><span class="label">${esc(r.label)}</span><span class="detail">${esc(value)}</span></span></div>`;
  }
  const trail = r.trail ? `<span class="trail">${esc(r.trail)}</span>` : "";
  const chev = r.chevron ? CHEV : "";
  const role = r.t === "menuitem" ? "menuitem" : (r.t === "link" ? "link" : "button");
  return `<div class="row" tabindex="0" ${reg(r.id, role, r.label, r.key, {do: r.do, long: r.long, dbl: r.dbl, detail: [r.detail, r.trail].filter(Boolean).join(" \u00b7 ")})}>${lead}${main}${trail}${chev}</div>`;
}

function field(f) {
  const form = S.forms[f.form] || (S.forms[f.form] = {});
  const value = form[f.name] || "";
  return `<div class="field"><label class="txt">${esc(f.label)}</label><input type="${f.input === "password" ? "password" : "text"}" value="${esc(value)}" placeholder="${esc(f.placeholder || "")}" data-form="${esc(f.form)}" data-name="${esc(f.name)}" autocomplete="off" spellcheck="false" ${reg(f.id, "textbox", f.label, f.key, {form: f.form, name: f.name})}></div>`;
}

function dynamic(b) {
  const source = b.source;
  if (source === "contacts") {
    const people = S.contacts.slice().sort((a, b) => (a.first + " " + a.last).localeCompare(b.first + " " + b.last));
    if (!people.length) return '<p class="empty txt">No contacts yet</p>';
    return "<section>" + people.map((c) => row({t: "item", id: dynId("contact:" + c.id), key: "contact:" + c.id,
      label: (c.first + " " + c.last).trim(), detail: c.phone || c.email || "", avatar: initials(c), hue: c.hue || 0.6,
      do: {contact: c.id, go: "contact"}})).join("") + "</section>";
  }
  if (source === "contact") {
    const c = S.contacts.find((x) => x.id === S.sel.contact);
    if (!c) return '<p class="empty txt">This contact was deleted</p>';
    const lines = [["Phone", c.phone], ["Email", c.email], ["Company", c.company]].filter((p) => p[1]);
    return `<div class="detail-block"><div class="big txt">${esc((c.first + " " + c.last).trim())}</div>` +
      lines.map((p) => `<p class="txt">${esc(p[0])}: ${esc(p[1])}</p>`).join("") + "</div>" +
      `<div class="buttons">${btn({id: dynId("contact-call"), key: "contact:call", label: "Call", icon: "phone", do: {toast: "Calling\u2026"}})}${btn({id: dynId("contact-message"), key: "contact:message", label: "Message", icon: "chat", do: {toast: "Message sent"}})}</div>`;
  }
  if (source === "category") {
    const items = S.catalog[b.category] || [];
    return "<section>" + items.map((it) => row({t: "item", id: dynId("item:" + it.id), key: "item:" + it.id, label: it.name,
      detail: it.unit, trail: it.price, chevron: true, thumb: true, hue: it.hue, do: {item: it.id, go: "item"}})).join("") + "</section>";
  }
  if (source === "search") {
    const q = ((S.forms.search || {}).q || "").trim().toLowerCase();
    if (!q) return '<p class="empty txt">Type to search the shop</p>';
    const hits = [];
    for (const cat of Object.keys(S.catalog)) for (const it of S.catalog[cat]) if (it.name.toLowerCase().includes(q)) hits.push(it);
    if (!hits.length) return '<p class="empty txt">No results</p>';
    return "<section>" + hits.map((it) => row({t: "item", id: dynId("result:" + it.id), key: "item:" + it.id, label: it.name,
      detail: it.unit, trail: it.price, chevron: true, do: {item: it.id, go: "item"}})).join("") + "</section>";
  }
  if (source === "item") {
    let it = null;
    for (const cat of Object.keys(S.catalog)) for (const x of S.catalog[cat]) if (x.id === S.sel.item) it = x;
    if (!it) return "";
    return `<div class="picture" style="height:140px">${icon("bag")}</div><div class="detail-block"><div class="big txt">${esc(it.name)}</div>` +
      `<p class="txt">${esc(it.price)} \u00b7 ${esc(it.unit)}</p><p class="txt">${esc(it.desc)}</p></div>` +
      `<div class="buttons stretch">${btn({id: dynId("item-cart"), key: "item:add_to_cart", label: "Add to cart", icon: "cart", do: {cart: 1}})}` +
      `${btn({id: dynId("item-list"), key: "item:add_to_list", label: "Add to list", icon: "list", variant: "primary", do: {pick_list: 1}})}</div>`;
  }
  if (source === "lists") {
    return Object.keys(S.lists).map((name) => {
      const names = S.lists[name].map((id) => { for (const cat of Object.keys(S.catalog)) for (const x of S.catalog[cat]) if (x.id === id) return x.name; return id; });
      return `<section data-group="list"><h3 class="txt">${esc(name)}</h3>` + (names.length ? names.map((n) => `<p class="txt" style="padding:0 14px">${esc(n)}</p>`).join("") : '<p class="empty txt" style="padding:4px 14px">Empty</p>') + "</section>";
    }).join("");
  }
  return "";
}

function block(b) {
  switch (b.t) {
    case "heading": return `<h2 class="txt">${esc(b.text)}</h2>`;
    case "text": return `<p class="txt">${esc(b.text)}</p>`;
    case "section": return `<section data-group="section">${b.title ? `<h3 class="txt">${esc(b.title)}</h3>` : ""}${b.rows.map(row).join("")}</section>`;
    case "field": return field(b);
    case "form": return `<div class="form">${b.fields.map(field).join("")}</div>`;
    case "search": return `<div class="search">${field(b)}</div>`;
    case "buttons": return `<div class="buttons ${b.align || ""}">${b.items.map((x) => btn(x)).join("")}</div>`;
    case "chips": return `<div class="chips">${b.items.map((c) => `<button class="chip" aria-pressed="${!!S.chips[c.key]}" ${reg(c.id, "button", c.label, c.key, {do: {chip: c.key}})}>${esc(c.label)}</button>`).join("")}</div>`;
    case "grid": return `<div class="grid" style="grid-template-columns:repeat(${b.cols},1fr)">${b.items.map((a) => `<button class="appicon" ${reg(a.id, "button", a.label, a.key, {do: a.do})}><span class="tile" style="background:${hueColour(a.hue)}">${icon(a.icon)}</span><span>${esc(a.label)}</span></button>`).join("")}</div>`;
    case "cards": return `<div class="cards">${b.items.map((c) => `<div class="card" data-group="card"><div class="ct txt">${esc(c.title)}</div><p class="txt">${esc(c.text)}</p><div class="buttons">${c.buttons.map((x) => btn(x)).join("")}</div></div>`).join("")}</div>`;
    case "table": return `<table><thead><tr>${b.columns.map((c) => `<th class="txt">${esc(c)}</th>`).join("")}${b.actions ? "<th></th>" : ""}</tr></thead><tbody>` +
      b.rows.map((r) => `<tr data-group="row">${r.cells.map((c) => `<td class="txt">${esc(c)}</td>`).join("")}${r.actions ? `<td>${r.actions.map((x) => btn(x)).join("")}</td>` : ""}</tr>`).join("") + "</tbody></table>";
    case "picture": return `<div class="picture" style="height:${b.h}px">${icon(b.icon)}</div>`;
    case "dyn": return b.source === "search" ? `<div data-dyn="search">${dynamic(b)}</div>` : dynamic(b);
  }
  return "";
}

function chromeTop() {
  if (!spec.chrome.status_bar) return "";
  return `<div class="statusbar"><span>12:30</span><span class="icons">${icon("signal")}${icon("wifi")}${icon("battery")}</span></div>`;
}
function chromeBottom() {
  const ids = spec.system_ids;
  if (spec.chrome.nav_bar) return `<nav class="navbar"><button ${reg(ids.back, "button", "Back", "system:back", {do: {back: 1}})}>${icon("triangle_left")}</button>` +
    `<button ${reg(ids.home, "button", "Home", "system:home", {do: {home: 1}})}>${icon("circle")}</button>` +
    `<button ${reg(ids.recents, "button", "Recent apps", "system:recents", {do: {toast: "No recent apps"}})}>${icon("square")}</button></nav>`;
  if (spec.chrome.taskbar) return `<div class="taskbar"><button ${reg(ids.home, "button", "Home", "system:home", {do: {home: 1}})}>${icon("apps")}<span>Home</span></button><span class="txt">${esc(screenOf(top().sid).app || "")}</span><span class="clock">12:30</span></div>`;
  return "";
}

function render() {
  const entry = top(), sc = screenOf(entry.sid);
  meta = screenMeta = new Map();
  let html = `<div id="screen" class="${spec.device} ${sc.launcher ? "launcher" : ""} ${sc.fab ? "has-fab" : ""}" ${overlay ? "inert" : ""}>` + chromeTop();
  if (!sc.launcher) {
    html += `<header class="appbar">${sc.back ? btn({id: sc.back, key: "nav:back", label: "Navigate up", icon: "back", variant: "icon", do: {back: 1}}) : ""}<span class="title txt">${esc(sc.title)}</span>${(sc.actions || []).map((a) => btn(Object.assign({variant: "icon"}, a))).join("")}</header>`;
  }
  const tabs = sc.tabs ? `<div class="tabs ${sc.tabs.place}">${sc.tabs.items.map((t) => `<button class="tab" aria-selected="${t.selected ? "true" : "false"}" ${reg(t.id, "tab", t.label, t.key, {do: t.do, selected: !!t.selected})}>${t.icon && sc.tabs.place === "bottom" ? icon(t.icon) : ""}<span>${esc(t.label)}</span></button>`).join("")}</div>` : "";
  if (sc.tabs && sc.tabs.place === "top") html += tabs;
  // The floating button sits in the content's corner, above the footer, bottom tabs and system bar.
  const fab = sc.fab ? `<button class="fab" ${reg(sc.fab.id, "button", sc.fab.label, sc.fab.key, {do: sc.fab.do})}>${icon(sc.fab.icon)}${sc.fab.extended ? `<span>${esc(sc.fab.label)}</span>` : ""}</button>` : "";
  html += `<div class="content"><div class="scroll" data-clip="1"><div class="body">${sc.body.map(block).join("")}</div></div>${fab}</div>`;
  if (sc.footer) html += `<div class="footer">${sc.footer.map((x) => btn(x)).join("")}</div>`;
  if (sc.tabs && sc.tabs.place === "bottom") html += tabs;
  html += chromeBottom() + "</div>";
  document.getElementById("app").innerHTML = html;
  const scroller = document.querySelector("#screen .scroll");
  if (scroller) scroller.scrollTop = entry.scroll || 0;
  renderOverlay();
}

function renderOverlay() {
  meta = overlayMeta = new Map();
  const host = document.getElementById("overlay");
  let html = "";
  if (overlay && overlay.t === "dialog") {
    html = `<div class="scrim"></div><div class="dialog" role="dialog" aria-label="${esc(overlay.title)}" data-group="dialog"><h2 class="txt">${esc(overlay.title)}</h2>` +
      (overlay.text ? `<p class="txt">${esc(overlay.text)}</p>` : "") +
      (overlay.rows ? `<div class="scroll" data-clip="1">${overlay.rows.map(row).join("")}</div>` : "") +
      `<div class="buttons">${overlay.buttons.map((x) => btn(x)).join("")}</div></div>`;
  } else if (overlay && overlay.t === "menu") {
    const pos = overlay.at || {right: 8, top: 56};
    const style = Object.entries(pos).map(([k, v]) => `${k}:${v}px`).join(";");
    html = `<div class="scrim clear" data-close="1"></div><div class="menu" role="menu" data-group="menu" style="${style}"><div class="scroll" data-clip="1">${overlay.items.map((m) => row(Object.assign({t: "menuitem"}, m))).join("")}</div></div>`;
  }
  if (toast) html += `<div class="toast txt" role="status">${esc(toast)}</div>`;
  host.innerHTML = html;
  const screen = document.getElementById("screen");
  if (screen) { if (overlay) screen.setAttribute("inert", ""); else screen.removeAttribute("inert"); }
  meta = screenMeta;
}

function saveScroll() { const s = document.querySelector("#screen .scroll"); if (s) top().scroll = s.scrollTop; }
function leave(entry) { const sc = screenOf(entry.sid); if (sc.form) delete S.forms[sc.form]; }
function go(sid) { saveScroll(); stack.push({sid, scroll: 0}); overlay = null; render(); }
function back() {
  if (overlay) { overlay = null; renderOverlay(); return; }
  if (stack.length > 1) { leave(stack.pop()); render(); }
}
function home() {
  if (!spec.home) return;
  while (stack.length) leave(stack.pop());
  stack.push({sid: spec.home, scroll: 0}); overlay = null; render();
}

function itemById(id) { for (const cat of Object.keys(S.catalog)) for (const x of S.catalog[cat]) if (x.id === id) return x; return null; }

function run(action, gid) {
  if (!action) return;
  if (action.toggle) { S.settings[action.toggle] = !S.settings[action.toggle]; refreshChecks(); }
  if (action.check) { S.checks[action.check] = !S.checks[action.check]; refreshChecks(); }
  if (action.chip) { S.chips[action.chip] = !S.chips[action.chip]; const el = document.querySelector(`[data-gid="${gid}"]`); if (el) el.setAttribute("aria-pressed", String(!!S.chips[action.chip])); }
  if (action.choices) {
    const c = spec.choices[action.choices];
    overlay = {t: "dialog", title: c.label, rows: c.options.map((v) => ({t: "radio", id: dynId("option:" + action.choices + ":" + v),
      key: "option:" + action.choices + ":" + v, label: v, group: action.choices, value: v, do: {choose: [action.choices, v]}})),
      buttons: [{id: dynId("choice-cancel:" + action.choices), key: "dialog:cancel", label: "Cancel", variant: "text", do: {close: 1}}]};
    renderOverlay(); return;
  }
  if (action.choose) { S.choices[action.choose[0]] = action.choose[1]; overlay = null; saveScroll(); render(); return; }
  if (action.pick_list) {
    overlay = {t: "dialog", title: "Add to list", rows: Object.keys(S.lists).map((name) => ({t: "item", id: dynId("list:" + name),
      key: "list:" + name, label: name, icon: "list", do: {add_to: name}})),
      buttons: [{id: dynId("list-cancel"), key: "dialog:cancel", label: "Cancel", variant: "text", do: {close: 1}}]};
    renderOverlay(); return;
  }
  if (action.add_to) {
    const list = S.lists[action.add_to];
    if (list && S.sel.item && !list.includes(S.sel.item)) list.push(S.sel.item);
    overlay = null; toast = "Added to " + action.add_to; renderOverlay(); return;
  }
  if (action.cart) { if (S.sel.item) S.cart.push(S.sel.item); toast = "Added to cart"; renderOverlay(); return; }
  if (action.submit === "contact") {
    const f = S.forms.contact || {};
    const first = (f.first || "").trim(), last = (f.last || "").trim();
    if (!first && !last) { toast = "Add a name first"; renderOverlay(); return; }
    S.seq += 1;
    S.contacts.push({id: "n" + S.seq, first, last, phone: (f.phone || "").trim(), email: (f.email || "").trim(),
      company: (f.company || "").trim(), hue: 0.08 * S.seq});
    back(); toast = "Contact saved"; renderOverlay(); return;
  }
  if (action.menu) { overlay = Object.assign({t: "menu"}, action.menu); renderOverlay(); return; }
  if (action.dialog) { overlay = Object.assign({t: "dialog"}, action.dialog); renderOverlay(); return; }
  if (action.close) { overlay = null; renderOverlay(); }
  if (action.contact) S.sel.contact = action.contact;
  if (action.item) S.sel.item = action.item;
  if (action.category) S.sel.category = action.category;
  if (action.tab) { saveScroll(); const prev = stack.pop(); leave(prev); stack.push({sid: action.tab, scroll: 0}); overlay = null; render(); return; }
  if (action.go) { go(action.go); return; }
  if (action.back) { back(); return; }
  if (action.home) { home(); return; }
  if (action.toast) { toast = action.toast; if (!action.keep) overlay = null; renderOverlay(); }
}

function refreshChecks() {
  for (const [gid, m] of screenMeta) {
    const a = m.do || {};
    const el = document.querySelector(`#screen [data-gid="${gid}"]`);
    if (!el) continue;
    if (a.toggle) el.setAttribute("aria-checked", String(!!S.settings[a.toggle]));
    if (a.check) el.setAttribute("aria-checked", String(!!S.checks[a.check]));
  }
}

function metaOf(el) {
  const gid = el.getAttribute("data-gid");
  return overlayMeta.get(gid) || screenMeta.get(gid) || null;
}

// ---------------------------------------------------------------- input events
document.addEventListener("click", (e) => {
  if (suppressClick) { suppressClick = false; e.preventDefault(); e.stopPropagation(); return; }
  const el = e.target.closest("[data-gid]");
  lastClick = el ? Number(el.getAttribute("data-gid")) : null;
  const hadToast = toast !== null;
  toast = null;
  if (!el) {
    if (e.target.closest("[data-close]") || (overlay && overlay.t === "menu" && e.target.classList.contains("scrim"))) { overlay = null; renderOverlay(); return; }
    if (hadToast) renderOverlay();
    return;
  }
  const m = metaOf(el);
  if (hadToast) renderOverlay();
  if (m && m.role !== "textbox") run(m.do, el.getAttribute("data-gid"));
}, true);

document.addEventListener("dblclick", (e) => {
  const el = e.target.closest("[data-gid]");
  const m = el && metaOf(el);
  if (m && m.dbl) run(m.dbl, el.getAttribute("data-gid"));
}, true);

document.addEventListener("pointerdown", (e) => {
  const scroller = e.target.closest("[data-clip]");
  pointer = {x: e.clientX, y: e.clientY, t: e.timeStamp, target: e.target, scroller, top: scroller ? scroller.scrollTop : 0,
    left: scroller ? scroller.scrollLeft : 0, moved: false};
}, true);
document.addEventListener("pointermove", (e) => {
  if (!pointer || !(e.buttons & 1)) return;
  const dx = e.clientX - pointer.x, dy = e.clientY - pointer.y;
  if (Math.abs(dx) > 10 || Math.abs(dy) > 10) pointer.moved = true;
  if (pointer.moved && pointer.scroller) { pointer.scroller.scrollTop = pointer.top - dy; pointer.scroller.scrollLeft = pointer.left - dx; }
}, true);
document.addEventListener("pointerup", (e) => {
  const p = pointer; pointer = null;
  if (!p) return;
  if (p.moved) { suppressClick = true; return; }
  if (e.timeStamp - p.t >= 500) {
    suppressClick = true;
    const el = p.target.closest("[data-gid]");
    lastClick = el ? Number(el.getAttribute("data-gid")) : null;
    const m = el && metaOf(el);
    if (m && m.long) run(m.long, el.getAttribute("data-gid"));
  }
}, true);
// A drag whose button is released outside any element still ends the gesture.
document.addEventListener("mousedown", () => { suppressClick = false; }, true);

document.addEventListener("wheel", (e) => {
  const scroller = e.target.closest("[data-clip]") || document.querySelector(overlay ? "#overlay .scroll" : "#screen .scroll");
  e.preventDefault();
  if (scroller) { scroller.scrollTop += e.deltaY; scroller.scrollLeft += e.deltaX; }
}, {capture: true, passive: false});

document.addEventListener("input", (e) => {
  const t = e.target;
  if (!t.matches("input[data-form]")) return;
  const form = S.forms[t.dataset.form] || (S.forms[t.dataset.form] = {});
  form[t.dataset.name] = t.value;
  if (t.dataset.form === "search") {
    const host = document.querySelector("[data-dyn=search]");
    meta = screenMeta;
    if (host) host.innerHTML = dynamic({source: "search"});
  }
}, true);

document.addEventListener("keydown", (e) => {
  if (e.key === "Escape") { e.preventDefault(); back(); }
}, true);

// ---------------------------------------------------------------- what the environment reads
function clipOf(el) {
  let [l, t, r, b] = [0, 0, innerWidth, innerHeight];
  for (let p = el.parentElement; p; p = p.parentElement) {
    if (p.hasAttribute && p.hasAttribute("data-clip")) {
      const c = p.getBoundingClientRect();
      l = Math.max(l, c.left); t = Math.max(t, c.top); r = Math.min(r, c.right); b = Math.min(b, c.bottom);
    }
  }
  return [l, t, r, b];
}

function stateOf(el, m) {
  const s = {};
  if (el.hasAttribute("aria-checked")) s.checked = el.getAttribute("aria-checked") === "true";
  if (el.hasAttribute("aria-pressed")) s.pressed = el.getAttribute("aria-pressed") === "true";
  if (m.role === "tab") s.selected = el.getAttribute("aria-selected") === "true";
  if (m.role === "textbox") s.value = el.value;
  if (m.value !== undefined) s.value = m.value;
  if (document.activeElement === el) s.focused = true;
  return s;
}

function elements() {
  const out = [];
  for (const el of document.querySelectorAll("[data-gid]")) {
    if (el.closest("[inert]")) continue;
    const m = metaOf(el);
    if (!m) continue;
    const r = el.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) continue;
    const c = clipOf(el);
    const box = [Math.max(r.left, c[0]), Math.max(r.top, c[1]), Math.min(r.right, c[2]), Math.min(r.bottom, c[3])];
    if (box[2] - box[0] < 1 || box[3] - box[1] < 1) continue;
    const reaches = (x, y) => { const hit = document.elementFromPoint(x, y); return !!hit && (hit === el || el.contains(hit)); };
    const cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2;
    const reachable = reaches(cx, cy);
    // A point of the box a click reaches (the centre, else the first of a few others): what the oracle clicks.
    let point = reachable ? [cx, cy] : null;
    for (const [fx, fy] of [[0.25, 0.5], [0.1, 0.5], [0.5, 0.25], [0.5, 0.75], [0.75, 0.5]]) {
      if (point) break;
      const x = box[0] + fx * (box[2] - box[0]), y = box[1] + fy * (box[3] - box[1]);
      if (reaches(x, y)) point = [x, y];
    }
    out.push({id: Number(el.getAttribute("data-gid")), role: m.role, label: m.label, key: m.key || null,
      box, full: [r.left, r.top, r.right, r.bottom], clip: c, reachable, point, state: stateOf(el, m)});
  }
  return out;
}

function tree() {
  const out = [];
  const roots = overlay ? [document.getElementById("overlay")] : [document.getElementById("screen"), document.getElementById("overlay")];
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) return null;
    const c = clipOf(el);
    const box = [Math.max(r.left, c[0]), Math.max(r.top, c[1]), Math.min(r.right, c[2]), Math.min(r.bottom, c[3])];
    return box[2] - box[0] >= 1 && box[3] - box[1] >= 1 ? box : null;
  };
  const walk = (node, depth) => {
    for (const el of node.children) {
      if (el.hasAttribute("data-gid")) {
        const m = metaOf(el), box = visible(el);
        if (m && box) out.push({depth, id: Number(el.getAttribute("data-gid")), role: m.role, label: m.label, detail: m.detail || "", box, state: stateOf(el, m)});
        continue;
      }
      if (el.classList.contains("txt")) {
        const box = visible(el), text = el.textContent.replace(/\s+/g, " ").trim();
        if (box && text) out.push({depth, id: null, role: "text", label: text, box, state: {}});
        continue;
      }
      const group = el.getAttribute("data-group");
      if (group && visible(el)) {
        const label = el.getAttribute("aria-label") || "";
        out.push({depth, id: null, role: group, label, box: visible(el), state: {}});
        walk(el, depth + 1);
      } else walk(el, depth);
    }
  };
  for (const r of roots) if (r) walk(r, 0);
  return out;
}

function snapshot() {
  const result = snapshotNow();
  lastClick = null;
  return result;
}
function snapshotNow() {
  const entry = top(), sc = screenOf(entry.sid);
  const active = document.activeElement && document.activeElement.closest ? document.activeElement.closest("[data-gid]") : null;
  return {screen: entry.sid, title: sc.title, app: sc.app || null, depth: stack.length,
    overlay: overlay ? {kind: overlay.t, title: overlay.title || null} : null,
    focused: active ? Number(active.getAttribute("data-gid")) : null, last_click: lastClick, toast,
    state: JSON.parse(JSON.stringify({settings: S.settings, choices: S.choices, contacts: S.contacts, lists: S.lists,
      cart: S.cart, checks: S.checks, chips: S.chips, forms: S.forms}))};
}

function openApp(name) {
  const want = String(name).trim().toLowerCase();
  const app = (spec.apps || []).find((a) => a.label.toLowerCase() === want);
  if (!app) return false;
  while (stack.length) leave(stack.pop());
  if (spec.home) stack.push({sid: spec.home, scroll: 0});
  stack.push({sid: app.screen, scroll: 0}); overlay = null; toast = null; render();
  return true;
}

function scrollPoint() {
  const scroller = document.querySelector(overlay ? "#overlay .scroll" : "#screen .scroll");
  if (!scroller) return [innerWidth / 2, innerHeight / 2];
  const c = clipOf(scroller), r = scroller.getBoundingClientRect();
  const box = [Math.max(r.left, c[0]), Math.max(r.top, c[1]), Math.min(r.right, c[2]), Math.min(r.bottom, c[3])];
  return [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2, box[3] - box[1], box[2] - box[0]];
}

function locate(key) {
  for (const el of document.querySelectorAll("[data-gid]")) {
    if (el.closest("[inert]")) continue;
    const m = metaOf(el);
    if (!m || m.key !== key) continue;
    const r = el.getBoundingClientRect();
    return {id: Number(el.getAttribute("data-gid")), full: [r.left, r.top, r.right, r.bottom], clip: clipOf(el)};
  }
  return null;
}

function read(options) {
  return {snapshot: snapshot(), elements: elements(), tree: options.tree ? tree() : null};
}

window.__gui = {elements, tree, snapshot, openApp, scrollPoint, read, locate, state: S, nonce: null,
  system: (name) => { toast = null; if (name === "back") back(); else if (name === "home") home(); return true; },
  clearLastClick: () => { lastClick = null; }};
render();
window.__gui.nonce = spec.nonce;  // rendered: what load_app waits for
})();
"""


def page_html(spec: dict[str, Any]) -> str:
    """The HTML document of an app ``spec`` (see the module docstring). The spec's icons are
    the SVG of every icon name it uses."""
    spec = dict(spec)
    spec["icons"] = {name: svg(name) for name in sorted(_icon_names(spec))}
    payload = json.dumps(spec, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    theme = ";".join(f"{key}:{value}" for key, value in spec["theme"]["vars"].items())
    lang = spec.get("lang", "en")
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{_escape(spec.get("title", "App"))}</title>'
            f"<style>:root{{{theme}}}{STYLE}</style></head><body><div id=\"app\"></div><div id=\"overlay\"></div>"
            f'<script type="application/json" id="gui-spec">{payload}</script><script>{RUNTIME}</script></body></html>')


#: Icons the runtime draws itself (system bars, rows).
_RUNTIME_ICONS = ("signal", "wifi", "battery", "triangle_left", "circle", "square", "apps", "back", "bag", "cart",
                  "list", "phone", "chat")


def _icon_names(value: Any, found: set[str] | None = None) -> set[str]:
    found = set(_RUNTIME_ICONS) if found is None else found
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "icon" and isinstance(item, str):
                found.add(item)
            else:
                _icon_names(item, found)
    elif isinstance(value, list):
        for item in value:
            _icon_names(item, found)
    return found


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


__all__ = ["RUNTIME", "STYLE", "page_html"]
