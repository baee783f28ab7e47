"""The JavaScript agentgym runs inside pages.

:data:`INIT_SCRIPT` is added to every context (``context.add_init_script``), so it runs at the
start of every document of every frame; :data:`SNAPSHOT_CALL` and the other calls re-install it
when it is missing (a page that replaced its document with ``document.open``). It defines
``window.__agentgym`` with:

* ``tag()`` — gives every element under ``<body>`` (open shadow roots included) a
  ``data-agentgym-bid`` attribute: a number from a counter kept on the window. An element keeps
  its id for the life of the page; an element the page cloned (attribute copied) or whose
  attribute the page changed gets its own id back or a new one, never another element's.
* ``snapshot(options)`` — tags, then walks the visible DOM and returns the accessibility-tree
  text (one line per meaningful element, indented by depth), the URL, title, focused element
  id, the ids of the interactive elements the tree shows (rendered, whether scrolled into view
  or not) and (optionally) the DOM as HTML.
* ``snapshotWhenLoaded(options)`` — the snapshot once the images the page shows have loaded
  (``<img>`` elements and the images styles name: an icon drawn with ``content: url(...)`` has
  no size, so no line, until its image is in), or after ``options.imageWaitMs`` (an image that
  outlasts a wait is not waited for again in that document).
* ``marks(ids)`` / ``unmarks()`` — draw and remove the set-of-marks overlay: a box on each
  given element and its id on a label placed where it covers the least text and fewest other
  labels and boxes.
* ``inspect(bid)`` — what an action needs to know about one element before acting on it.

The script also wraps ``EventTarget.prototype.addEventListener`` (and its ``remove``) to note
which elements hold click listeners: the page's calls go through unchanged, and nothing else
of the page is touched.
"""

from __future__ import annotations

#: Runs at the start of every document; defines ``window.__agentgym`` once.
INIT_SCRIPT = r"""
(() => {
  if (window.__agentgym) return;
  const ATTR = "data-agentgym-bid";
  const ids = new WeakMap();
  let counter = 0;

  // Click handlers added with addEventListener (jQuery's .on/.click included) leave no trace in
  // the DOM, so the page's own calls are watched from the start of the document: an element
  // holding a click or double-click listener counts as clickable (not mousedown and the like,
  // which pages use for dragging and focus as much as for buttons). A listener removed
  // with removeEventListener stops counting; one removed by ``once`` or an AbortSignal is still
  // counted (the element had a handler). Handlers delegated to an ancestor are not seen.
  const CLICK_EVENTS = new Set(["click", "dblclick"]);
  const clickListeners = new WeakMap();  // element -> [[type, listener, capture], ...]
  const captureOf = (options) => (typeof options === "boolean" ? options : !!(options && options.capture));
  const listens = (el) => (clickListeners.get(el) || []).length > 0;
  (function watchListeners() {
    const proto = EventTarget.prototype;
    const add = proto.addEventListener, remove = proto.removeEventListener;
    function same(entry, type, listener, capture) {
      return entry[0] === type && entry[1] === listener && entry[2] === capture;
    }
    function addEventListener(type, listener, options) {
      try {
        const kind = String(type);
        if (listener && this instanceof Element && CLICK_EVENTS.has(kind)) {
          const held = clickListeners.get(this) || [];
          const capture = captureOf(options);
          if (!held.some((e) => same(e, kind, listener, capture))) held.push([kind, listener, capture]);
          clickListeners.set(this, held);
        }
      } catch (e) { /* never in the page's way */ }
      return Reflect.apply(add, this, arguments);
    }
    function removeEventListener(type, listener, options) {
      try {
        const held = this instanceof Element ? clickListeners.get(this) : undefined;
        if (held) {
          const capture = captureOf(options);
          const at = held.findIndex((e) => same(e, String(type), listener, capture));
          if (at >= 0) held.splice(at, 1);
        }
      } catch (e) { /* never in the page's way */ }
      return Reflect.apply(remove, this, arguments);
    }
    proto.addEventListener = addEventListener;
    proto.removeEventListener = removeEventListener;
  })();

  const NAME_FROM_CONTENT = new Set(["button", "link", "heading", "option", "cell", "columnheader",
    "rowheader", "tab", "menuitem", "menuitemcheckbox", "menuitemradio", "treeitem", "tooltip",
    "checkbox", "radio", "switch", "label", "legend", "summary"]);
  const INTERACTIVE = new Set(["button", "link", "textbox", "searchbox", "checkbox", "radio",
    "combobox", "listbox", "option", "slider", "spinbutton", "switch", "tab", "menuitem",
    "menuitemcheckbox", "menuitemradio", "treeitem", "canvas", "summary"]);
  const SKIP_TAGS = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "HEAD", "META", "LINK",
    "TITLE", "BASE"]);
  const INPUT_ROLES = {checkbox: "checkbox", radio: "radio", button: "button", submit: "button",
    reset: "button", image: "button", file: "button", color: "button", range: "slider",
    number: "spinbutton", search: "searchbox"};
  const TAG_ROLES = {BUTTON: "button", TEXTAREA: "textbox", H1: "heading", H2: "heading",
    H3: "heading", H4: "heading", H5: "heading", H6: "heading", P: "paragraph", UL: "list",
    OL: "list", LI: "listitem", TABLE: "table", TR: "row", TD: "cell", TH: "columnheader",
    FORM: "form", NAV: "navigation", MAIN: "main", LABEL: "label", OPTION: "option",
    SUMMARY: "summary", DIALOG: "dialog", IFRAME: "iframe", CANVAS: "canvas",
    PROGRESS: "progressbar", METER: "meter", FIELDSET: "group", LEGEND: "legend",
    DETAILS: "group", ARTICLE: "article", BLOCKQUOTE: "blockquote", PRE: "code",
    CAPTION: "caption", DL: "list", DT: "term", DD: "definition", FIGURE: "figure"};

  // An element's tag name as an HTML document gives it (upper case): an XHTML document
  // (application/xhtml+xml) gives its HTML elements' names in lower case, as XML keeps them.
  const HTML_NS = "http://www.w3.org/1999/xhtml";
  const tagOf = (el) => (el.namespaceURI === HTML_NS ? el.localName.toUpperCase() : el.tagName);

  function bidOf(el) {
    let bid = ids.get(el);
    if (bid === undefined) { bid = String(++counter); ids.set(el, bid); }
    if (el.getAttribute(ATTR) !== bid) el.setAttribute(ATTR, bid);
    return bid;
  }

  function tagTree(root) {
    for (const el of root.querySelectorAll("*")) {
      if (SKIP_TAGS.has(tagOf(el))) continue;
      bidOf(el);
      if (el.shadowRoot) tagTree(el.shadowRoot);
    }
  }

  function tag() {
    if (!document.body) return;
    bidOf(document.body);
    tagTree(document.body);
  }

  const squash = (s) => (s || "").replace(/\s+/g, " ").trim();
  const cut = (s, n) => (s.length > n ? s.slice(0, n - 1) + "\u2026" : s);

  function roleOf(el) {
    const explicit = (el.getAttribute("role") || "").trim().split(/\s+/)[0];
    if (explicit && explicit !== "none" && explicit !== "presentation" && explicit !== "generic") return explicit;
    const tag = tagOf(el);
    if (tag === "A" || tag === "AREA") return el.hasAttribute("href") ? "link" : null;
    if (tag === "INPUT") {
      const type = (el.getAttribute("type") || "text").toLowerCase();
      if (type === "hidden") return null;
      return INPUT_ROLES[type] || "textbox";
    }
    if (tag === "SELECT") return el.multiple || el.size > 1 ? "listbox" : "combobox";
    if (tag === "IMG") return el.getAttribute("alt") === "" && !el.title ? null : "img";
    if (tag === "svg" || tag === "SVG") return el.getAttribute("aria-label") ? "img" : null;
    if (TAG_ROLES[tag]) return TAG_ROLES[tag];
    if (el.isContentEditable && (!el.parentElement || !el.parentElement.isContentEditable)) return "textbox";
    return null;
  }

  function textById(ids_) {
    return ids_.split(/\s+/).map((id) => document.getElementById(id))
      .filter(Boolean).map((e) => squash(e.textContent)).join(" ");
  }

  function nameOf(el, role, maxChars) {
    let name = "";
    const labelledby = el.getAttribute("aria-labelledby");
    if (labelledby) name = textById(labelledby);
    if (!name) name = squash(el.getAttribute("aria-label"));
    const tag = tagOf(el);
    if (!name && (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA")) {
      const type = (el.getAttribute("type") || "").toLowerCase();
      if (tag === "INPUT" && ["button", "submit", "reset"].includes(type)) {
        name = squash(el.value) || (type === "submit" ? "Submit" : type === "reset" ? "Reset" : "");
      } else if (tag === "INPUT" && type === "image") {
        name = squash(el.getAttribute("alt"));
      }
      if (!name && el.labels && el.labels.length) {
        name = Array.from(el.labels).map((l) => squash(labelText(l, el))).join(" ");
      }
      if (!name) name = squash(el.getAttribute("placeholder"));
    }
    if (!name && (tag === "IMG" || tag === "AREA")) name = squash(el.getAttribute("alt"));
    if (!name && tag === "FIELDSET") { const l = el.querySelector("legend"); if (l) name = squash(l.textContent); }
    if (!name && tag === "TABLE") { const c = el.querySelector("caption"); if (c) name = squash(c.textContent); }
    if (!name && NAME_FROM_CONTENT.has(role) && tag !== "INPUT" && tag !== "SELECT") name = squash(el.textContent);
    if (!name) name = squash(el.getAttribute("title"));
    return cut(name, maxChars);
  }

  function labelText(label, control) {
    // The label's text without the control's own text (a <select> inside a <label>).
    let text = "";
    for (const node of label.childNodes) {
      if (node === control) continue;
      if (node.nodeType === Node.TEXT_NODE) text += node.textContent + " ";
      else if (node.nodeType === Node.ELEMENT_NODE && !node.contains(control) && !["SELECT", "TEXTAREA", "INPUT"].includes(tagOf(node))) text += node.textContent + " ";
    }
    return text;
  }

  function visible(el) {
    if (el.checkVisibility) return el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true});
    const style = getComputedStyle(el);
    return style.display !== "none" && style.visibility !== "hidden" && style.opacity !== "0";
  }

  function hasArea(el) {
    const rect = el.getBoundingClientRect();
    return rect.width > 0 && rect.height > 0;
  }

  // A click lands on an element's centre once Playwright has scrolled the element into view,
  // and reaches the element only if what is hit there is the element or inside it. An element
  // in view whose centre another one covers cannot be clicked (a collapsed pie slice under its
  // "+" button, a button under an open colour picker); one outside the window or scrolled out of
  // a scrolling box is scrolled to first, so it counts as reachable.
  function hitAtCentre(el) {
    const rect = el.getBoundingClientRect();
    const x = rect.left + rect.width / 2, y = rect.top + rect.height / 2;
    const view = el.ownerDocument.defaultView;
    if (!view || x < 0 || y < 0 || x >= view.innerWidth || y >= view.innerHeight) return true;
    const root = el.getRootNode();
    const hit = (root.elementFromPoint ? root : el.ownerDocument).elementFromPoint(x, y);
    return hit === null || el === hit || el.contains(hit) || scrolledOutOfABox(el, x, y);
  }

  function scrolledOutOfABox(el, x, y) {
    for (let box = el.parentElement; box; box = box.parentElement) {
      const r = clipRect(box);
      if (r && (x < r.left || x >= r.right || y < r.top || y >= r.bottom)) return true;
    }
    return false;
  }

  // The box an element clips its content to (null if it clips nothing), looked up once per
  // snapshot: a scrolling feed's items share their ancestors.
  let clipRects_ = new Map();
  function clipRect(box) {
    let rect = clipRects_.get(box);
    if (rect === undefined) {
      const style = getComputedStyle(box);
      rect = style.overflowX === "visible" && style.overflowY === "visible" ? null : box.getBoundingClientRect();
      clipRects_.set(box, rect);
    }
    return rect;
  }

  // A box that shows nothing of itself or its content: no width or no height, its overflow
  // clipped (a menu or section collapsed with max-height: 0 and overflow: hidden). Not <body> or
  // <html>, whose overflow is the viewport's; not a box overflow does not apply to.
  const NO_OVERFLOW = /^(?:contents|inline|table-(?:row|row-group|column|column-group|header-group|footer-group))$/;
  function clipsAll(box) {
    if (box === document.body || box === document.documentElement) return false;
    const style = getComputedStyle(box);
    if (NO_OVERFLOW.test(style.display) || (style.overflowX === "visible" && style.overflowY === "visible")) return false;
    const r = box.getBoundingClientRect();
    return r.width === 0 || r.height === 0;
  }

  // ``el`` is inside such a box (or is one), so nothing of it shows and a click cannot reach it:
  // it is clipped by every ancestor up to its containing block's (an absolutely positioned
  // element escapes the boxes between it and its positioned ancestor; a fixed one escapes all).
  // Looked up once per element per snapshot (``clipped_`` is reset by snapshot and inspect).
  let clipped_ = new Map();
  function clippedAway(el) {
    let result = clipped_.get(el);
    if (result !== undefined) return result;
    if (clipsAll(el)) {
      result = true;
    } else {
      const position = getComputedStyle(el).position;
      const next = position === "fixed" ? null : position === "absolute" ? el.offsetParent
        : el.assignedSlot || el.parentElement || (el.getRootNode() && el.getRootNode().host) || null;
      result = next !== null && next !== document.body && next !== document.documentElement && clippedAway(next);
    }
    clipped_.set(el, result);
    return result;
  }

  function pointerCursor(el) {
    const cursor = getComputedStyle(el).cursor;
    if (cursor !== "pointer") return false;
    const parent = el.parentElement;
    return !parent || getComputedStyle(parent).cursor !== "pointer";
  }

  function clickable(el) {
    return typeof el.onclick === "function" || typeof el.ondblclick === "function" || listens(el) ||
      (el.hasAttribute("tabindex") && el.tabIndex >= 0) || pointerCursor(el);
  }

  function quote(s) { return JSON.stringify(s); }

  // States are read with selectors, not properties: a <form>'s ``disabled`` property is the
  // control named "disabled" inside it (named-property access), and a control inside a
  // disabled <fieldset> is disabled without its own property saying so.
  function matches(el, selector) {
    try { return el.matches(selector); } catch (e) { return false; }
  }

  function isDisabled(el) { return matches(el, ":disabled"); }

  function properties(el, role, maxChars) {
    const parts = [];
    const tag = tagOf(el);
    if (tag === "INPUT" || tag === "TEXTAREA") {
      const type = (el.getAttribute("type") || "").toLowerCase();
      if (role === "textbox" || role === "searchbox" || role === "spinbutton" || role === "slider") {
        const value = type === "password" ? "\u2022".repeat(Math.min(el.value.length, 8)) : el.value;
        if (value !== "") parts.push("value=" + quote(cut(value, maxChars)));
      }
      if (type === "file") {  // a file field reads as a button: say what it is and what it holds
        parts.push("file-input");
        const names = Array.from(el.files || []).map((f) => quote(cut(f.name, 60)));
        const more = names.length > 10 ? ", \u2026" : "";
        if (names.length) parts.push("files=[" + names.slice(0, 10).join(", ") + more + "]");
      }
    } else if (tag === "SELECT") {
      const selected = Array.from(el.selectedOptions).map((o) => squash(o.label || o.textContent));
      if (selected.length) parts.push("value=" + quote(cut(selected.join(", "), maxChars)));
      const labels = Array.from(el.options).map((o) => cut(squash(o.label || o.textContent), 40));
      const shown = labels.slice(0, 30).join(", ") + (labels.length > 30 ? ", \u2026" : "");
      parts.push("options=[" + shown + "]");
    } else if (role === "textbox" && el.isContentEditable) {
      const value = squash(el.textContent);
      if (value) parts.push("value=" + quote(cut(value, maxChars)));
    } else if ((role === "progressbar" || role === "meter") && el.value !== undefined) {
      parts.push("value=" + el.value);
    }
    const aria = (name) => el.getAttribute(name);
    if ((tag === "INPUT" && el.checked) || aria("aria-checked") === "true") parts.push("checked");
    if (tag === "OPTION" ? el.selected : aria("aria-selected") === "true") parts.push("selected");
    if (aria("aria-pressed") === "true") parts.push("pressed");
    if (aria("aria-expanded") === "true" || (tag === "DETAILS" && el.open)) parts.push("expanded");
    if (isDisabled(el) || aria("aria-disabled") === "true") parts.push("disabled");
    if (INTERACTIVE.has(role) && hasArea(el) && !hitAtCentre(el)) parts.push("covered");
    if (matches(el, ":required") || aria("aria-required") === "true") parts.push("required");
    if (el.readOnly && (tag === "INPUT" || tag === "TEXTAREA")) parts.push("readonly");
    if (role === "heading") { const level = /^H(\d)$/.exec(tag); if (level) parts.push("level=" + level[1]); }
    if (role === "link" && opts_.showUrls) { const href = el.getAttribute("href"); if (href) parts.push("url=" + quote(cut(href, 80))); }
    return parts;
  }

  let opts_ = {};

  // Images still loading change the tree when they arrive: an icon drawn by CSS
  // (``content: url(...)``, ``background-image``) has no area, so no line, until its image is in.
  // ``imagesLoaded(ms)`` waits (at most ``ms``) for the document's <img> elements and the images
  // its elements' styles name; an image that outlasted one wait is not waited for again.
  // The page's own code may replace these globals; they are taken at the start of the document.
  const NativeImage = window.Image, NativePromise = window.Promise;
  const setTimer = window.setTimeout.bind(window), clearTimer = window.clearTimeout.bind(window);
  const URL_IN_CSS = /url\(\s*(["']?)(.*?)\1\s*\)/g;
  const slowImages = new Set();
  function cssImageUrls(el, into) {
    const style = getComputedStyle(el);
    for (const value of [style.content, style.backgroundImage]) {
      if (!value || value.indexOf("url(") < 0) continue;
      for (const found of value.matchAll(URL_IN_CSS)) into.add(found[2]);
    }
  }
  function pendingImages() {
    const pending = [];
    if (!document.body) return pending;
    for (const img of document.images) {
      if (!img.complete && !slowImages.has(img.currentSrc || img.src)) pending.push(img);
    }
    const urls = new Set();
    for (const el of document.body.querySelectorAll("*")) {
      if (!SKIP_TAGS.has(tagOf(el))) cssImageUrls(el, urls);
    }
    for (const url of urls) {
      if (slowImages.has(url) || url.startsWith("data:")) continue;
      const probe = new NativeImage();  // shares the document's load of ``url`` (its cache)
      probe.src = url;
      if (!probe.complete) pending.push(probe);
    }
    return pending;
  }
  function loaded(img) {
    return new NativePromise((resolve) => {
      if (img.complete) { resolve(); return; }
      img.addEventListener("load", resolve, {once: true});
      img.addEventListener("error", resolve, {once: true});
    });
  }
  function imagesLoaded(ms) {
    const pending = ms > 0 ? pendingImages() : [];
    if (!pending.length) return null;
    let timer;
    const late = new NativePromise((resolve) => { timer = setTimer(resolve, ms); });
    return NativePromise.race([NativePromise.all(pending.map(loaded)), late]).then(() => {
      clearTimer(timer);
      for (const img of pending) if (!img.complete) slowImages.add(img.currentSrc || img.src);
    });
  }

  function snapshotWhenLoaded(options) {
    const wait = imagesLoaded((options && options.imageWaitMs) || 0);
    return wait ? wait.then(() => snapshot(options)) : snapshot(options);
  }

  function snapshot(options) {
    opts_ = options || {};
    clipRects_ = new Map();
    clipped_ = new Map();
    const maxName = opts_.maxNameChars || 100;
    const maxText = opts_.maxTextChars || 200;
    const maxLines = opts_.maxLines || 2000;
    const maxChars = opts_.maxChars || 300000;
    let chars = 0;
    tag();
    const lines = [];
    const interactive = [];
    const focusedEl = deepActive();
    let omitted = 0;

    function emit(depth, text) {
      const line = "  ".repeat(depth) + text;
      if (lines.length >= maxLines || chars + line.length > maxChars) { omitted++; return; }
      chars += line.length + 1;
      lines.push(line);
    }

    function walkChildren(parent, depth, inNamed, textShown = true) {
      // ``textShown`` false: ``parent`` is invisible (visibility:hidden, opacity:0), so its own
      // text is too; its element children may still be visible (visibility:visible).
      const nodes = parent.shadowRoot ? [...parent.shadowRoot.childNodes, ...parent.childNodes] : parent.childNodes;
      for (const node of nodes) {
        if (node.nodeType === Node.TEXT_NODE) {
          if (inNamed || !textShown) continue;
          const text = squash(node.textContent);
          if (text) emit(depth, "StaticText " + quote(cut(text, maxText)));
        } else if (node.nodeType === Node.ELEMENT_NODE) {
          walk(node, depth, inNamed);
        }
      }
    }

    function walk(el, depth, inNamed) {
      if (SKIP_TAGS.has(tagOf(el))) return;
      if (el.getAttribute("aria-hidden") === "true" || el.hasAttribute("inert")) return;
      const shown = visible(el) && !clippedAway(el);
      if (!shown && getComputedStyle(el).display === "none") return;
      const role = roleOf(el);
      // Only what a click would take (see inspect): a listener on an empty or covered box is no
      // target.
      const isClickable = !role && shown && clickable(el) && hasArea(el) && hitAtCentre(el);
      const ownText = role || isClickable ? "" : directText(el);
      if (!shown || (!role && !isClickable && !ownText)) {
        walkChildren(el, depth, inNamed, shown);
        return;
      }
      const bid = bidOf(el);
      if (!role && !isClickable) {
        // A generic element with text of its own: the text, with the element's id.
        if (!inNamed && !hasElementChildren(el)) {
          emit(depth, "[" + bid + "] StaticText " + quote(cut(ownText, maxText)));
          return;
        }
        walkChildren(el, depth, inNamed);
        return;
      }
      const shownRole = role || "generic";
      let name = nameOf(el, shownRole, maxName);
      const leafText = !name && !hasElementChildren(el) ? squash(el.textContent) : "";
      if (leafText && !inNamed) name = cut(leafText, maxText);
      const parts = ["[" + bid + "]", shownRole];
      if (name) parts.push(quote(name));
      parts.push(...properties(el, shownRole, maxName));
      if (isClickable) parts.push("clickable");
      if (isClickable && !name) { const hint = classHint(el); if (hint) parts.push("class=" + quote(hint)); }
      if (el === focusedEl) parts.push("focused");
      emit(depth, parts.join(" "));
      if (INTERACTIVE.has(shownRole) || isClickable) interactive.push(bid);
      // Their children are shown as properties (options, value) or not at all (a textarea's text
      // node is its default value, not what it holds now).
      if (["SELECT", "TEXTAREA", "IFRAME"].includes(tagOf(el))) return;
      const named = inNamed || leafText !== "" || (NAME_FROM_CONTENT.has(shownRole) && name !== "" && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby"));
      walkChildren(el, depth + 1, named);
    }

    if (document.body) walkChildren(document.body, 0, false);
    if (omitted) lines.push("\u2026 (" + omitted + " more lines not shown)");
    const result = {
      text: lines.join("\n"),
      url: location.href,
      title: document.title,
      focused: focusedEl && focusedEl !== document.body ? bidOf(focusedEl) : null,
      interactive: interactive,
    };
    if (opts_.domText) result.dom = domText(opts_.maxDomChars || 100000);
    return result;
  }

  function classHint(el) {
    // A nameless clickable element (an icon) says what it is, if anything, by its classes.
    const classes = Array.from(el.classList || []).slice(0, 3).join(" ");
    return cut(classes, 60);
  }

  function directText(el) {
    let text = "";
    for (const node of el.childNodes) if (node.nodeType === Node.TEXT_NODE) text += node.textContent;
    return squash(text);
  }

  function hasElementChildren(el) {
    for (const child of el.children) if (!SKIP_TAGS.has(tagOf(child))) return true;
    return false;
  }

  function deepActive() {
    let active = document.activeElement;
    while (active && active.shadowRoot && active.shadowRoot.activeElement) active = active.shadowRoot.activeElement;
    return active;
  }

  function domText(maxChars) {
    if (!document.body) return "";
    const copy = document.body.cloneNode(true);
    for (const el of copy.querySelectorAll("script, style, noscript, template")) el.remove();
    // A password's value is shown as the tree shows it: bullets, never the text.
    for (const el of copy.querySelectorAll("input[type=password i][value]")) {
      el.setAttribute("value", "\u2022".repeat(Math.min(el.getAttribute("value").length, 8)));
    }
    const html = copy.outerHTML;
    return html.length > maxChars ? html.slice(0, maxChars) + "\u2026" : html;
  }

  function find(bid) {
    const selector = "[" + ATTR + '="' + bid + '"]';
    const direct = document.querySelector(selector);
    if (direct) return direct;
    const stack = [document.body];
    while (stack.length) {
      const root = stack.pop();
      if (!root) continue;
      for (const el of root.querySelectorAll("*")) {
        if (el.shadowRoot) {
          const hit = el.shadowRoot.querySelector(selector);
          if (hit) return hit;
          stack.push(el.shadowRoot);
        }
      }
    }
    return null;
  }

  function inspect(bid) {
    tag();
    const el = find(bid);
    if (!el) return {found: false};
    clipped_ = new Map();
    return {found: true, visible: visible(el) && hasArea(el) && !clippedAway(el),
            tag: tagOf(el).toLowerCase(), type: (el.getAttribute("type") || "").toLowerCase(),
            role: roleOf(el), disabled: isDisabled(el)};
  }

  // Set-of-marks labels: each id goes where it hides the least. The candidate spots are tried
  // in order (above the box's left corner, inside it, to its left, above its right corner, to
  // its right, below it) and the cheapest wins, the cost of a spot being the area it
  // covers of labels already placed (x8), of the page's text (x3), of other marked boxes and
  // the 4 pixels around them (x1: a label touching another box reads as that box's) and of its
  // own box (x0.5: a small control hidden under its label shows no state), plus 30 for each
  // spot passed over (a label far from the usual corner is harder to match) and a large cost
  // for leaving the viewport.
  const LABEL_HEIGHT = 14, LABEL_CHAR = 6.7, LABEL_PAD = 6, SPOT_COST = 30, NEAR = 4;

  function overlap(a, b) {
    const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    return w > 0 && h > 0 ? w * h : 0;
  }

  function textRects(width, height, limit) {
    // Boxes of the visible text in the viewport (at most ``limit`` text nodes are read).
    const rects = [];
    if (!document.body) return rects;
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    let read = 0;
    for (let node = walker.nextNode(); node && read < limit; node = walker.nextNode()) {
      if (!node.textContent.trim() || (node.parentElement && SKIP_TAGS.has(tagOf(node.parentElement)))) continue;
      read++;
      range.selectNodeContents(node);
      for (const r of range.getClientRects()) {
        if (r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.top < height && r.left < width) rects.push(r);
      }
    }
    return rects;
  }

  function labelSpot(box, w, placed, texts, boxes, width, height) {
    const h = LABEL_HEIGHT;
    const spots = [[box.left, box.top - h], [box.left, box.top], [box.left - w, box.top],
                   [box.right - w, box.top - h], [box.right, box.top], [box.left, box.bottom]];
    let best = null, bestCost = Infinity;
    for (const [index, [x, y]] of spots.entries()) {
      const spot = {left: x, top: y, right: x + w, bottom: y + h};
      const near = {left: x - NEAR, top: y - NEAR, right: x + w + NEAR, bottom: y + h + NEAR};
      let cost = (x < 0 || y < 0 || x + w > width || y + h > height) ? 1e9 : SPOT_COST * index;
      for (const other of placed) cost += 8 * overlap(spot, other);
      for (const text of texts) cost += 3 * overlap(spot, text);
      for (const other of boxes) cost += other === box ? 0.5 * overlap(spot, other) : overlap(near, other);
      if (cost < bestCost) { best = spot; bestCost = cost; }
      if (cost === 0) break;
    }
    return best;
  }

  function marks(bids) {
    unmarks();
    const layer = document.createElement("div");
    layer.id = "__agentgym_marks";
    layer.style.cssText = "position:fixed;left:0;top:0;width:0;height:0;z-index:2147483647;pointer-events:none;";
    // On <html>, not <body>: a transformed <body> (translateZ(0), will-change: transform) holds
    // fixed boxes to its own box, which scrolls with the page. Wherever the layer's corner still
    // lands, the boxes are drawn shifted back by as much.
    document.documentElement.appendChild(layer);
    const origin = layer.getBoundingClientRect();
    const at = (left, top) => "left:" + (left - origin.left) + "px;top:" + (top - origin.top) + "px;";
    const width = window.innerWidth, height = window.innerHeight;
    const boxes = [];
    for (const bid of bids) {
      const el = find(bid);
      if (!el) continue;
      const r = el.getBoundingClientRect();
      if (r.width <= 0 || r.height <= 0 || r.bottom < 0 || r.right < 0 || r.top > height || r.left > width) continue;
      boxes.push({bid, left: r.left, top: r.top, right: r.right, bottom: r.bottom});
    }
    const texts = textRects(width, height, 5000);
    const placed = [];
    for (const box of boxes) {
      const frame = document.createElement("div");
      frame.style.cssText = "position:fixed;box-sizing:border-box;border:2px solid #e0218a;pointer-events:none;" +
        at(box.left, box.top) + "width:" + (box.right - box.left) + "px;height:" + (box.bottom - box.top) + "px;";
      layer.appendChild(frame);
      const spot = labelSpot(box, Math.ceil(box.bid.length * LABEL_CHAR) + LABEL_PAD, placed, texts, boxes, width, height);
      placed.push(spot);
      const label = document.createElement("div");
      label.textContent = box.bid;
      label.style.cssText = "position:fixed;box-sizing:border-box;background:#e0218a;color:#fff;" +
        "font:bold 11px/14px monospace;padding:0 3px;border-radius:2px;white-space:nowrap;" +
        at(spot.left, spot.top) + "height:" + LABEL_HEIGHT + "px;";
      layer.appendChild(label);
    }
    return boxes.length;
  }

  function unmarks() {
    const old = document.getElementById("__agentgym_marks");
    if (old) old.remove();
  }

  Object.defineProperty(window, "__agentgym", {
    value: Object.freeze({tag, snapshot, snapshotWhenLoaded, inspect, marks, unmarks, attribute: ATTR}),
    enumerable: false, configurable: false, writable: false,
  });
})();
"""


def _call(expression: str) -> str:
    """A function for ``page.evaluate`` that installs the script if needed, then runs ``expression``."""
    return "(arg) => {\n" + INIT_SCRIPT + "\nreturn " + expression + ";\n}"


#: ``page.evaluate(SNAPSHOT_CALL, options)``: the snapshot (see the module docstring), taken once
#: the page's images have loaded or ``options["imageWaitMs"]`` have passed.
SNAPSHOT_CALL = _call("window.__agentgym.snapshotWhenLoaded(arg)")
#: ``page.evaluate(INSPECT_CALL, bid)``: ``{"found", "visible", "tag", "type", "role", "disabled"}``.
INSPECT_CALL = _call("window.__agentgym.inspect(arg)")
#: ``page.evaluate(MARKS_CALL, bids)``: draw the set-of-marks overlay; returns the boxes drawn.
MARKS_CALL = _call("window.__agentgym.marks(arg)")
#: ``page.evaluate(UNMARKS_CALL)``: remove the overlay.
UNMARKS_CALL = _call("window.__agentgym.unmarks()")
#: ``page.evaluate(TAG_CALL)``: tag every element now.
TAG_CALL = _call("window.__agentgym.tag()")

#: The attribute holding an element's id.
BID_ATTRIBUTE = "data-agentgym-bid"
