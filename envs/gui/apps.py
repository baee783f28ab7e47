"""A generated phone with apps, and the multi-step tasks played on it (AndroidWorld-like).

:func:`generate_phone_task` draws, from a seed, a phone (a launcher with the task's apps among
others, in a drawn theme) and a task on it:

* ``toggle`` -- turn a setting on or off (Settings -> a category -> on hard, its "Advanced"
  page -> the switch);
* ``choice`` -- set a choice setting to a value (its row opens a dialog of options);
* ``contact`` -- create a contact with given fields (Contacts -> "Create contact" -> the form ->
  Save); existing contacts are there too;
* ``list`` -- find a product and add it to a shopping list (Shop -> a category, or the search
  box -> the product -> "Add to list" -> the list). "Add to cart" is right next to it.

Success is judged on the app's state (``window.__gui.state``, read after the agent's ``finish``),
never on the actions: :meth:`NavTask.check`. A path that wanders and ends in the right state
counts; actions that look right but leave the state unchanged (a form filled in and cancelled, a
switch flipped twice, the cart instead of the list) do not.

Each task carries a *plan* (:class:`Step` list: tap an element by its semantic key, type into a
field, finish) that the oracle turns into actions on the live screen (scrolling to an element
out of view first); the action-prediction task uses the same plans as demonstrations.

Difficulty: the number of apps, settings categories, contacts, products per category (hard:
lists longer than the screen), look-alike products ("Apples", "Green apples"), a second level of
settings ("Advanced"), and more fields to fill in.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from . import vocab
from .screens import SYSTEM_IDS
from .themes import DEVICE_SIZES, draw_theme

TASK_KINDS = ("toggle", "choice", "contact", "list")

_LEVEL = {
    "easy": {"apps": 6, "categories": 4, "per_category": 3, "contacts": 3, "shop_categories": 3, "items": 6,
             "lists": 2, "fields": ("first", "phone"), "advanced": False},
    "medium": {"apps": 12, "categories": 7, "per_category": 5, "contacts": 7, "shop_categories": 5, "items": 11,
               "lists": 3, "fields": ("first", "last", "phone"), "advanced": False},
    "hard": {"apps": 20, "categories": 10, "per_category": 8, "contacts": 14, "shop_categories": 7, "items": 30,
             "lists": 5, "fields": ("first", "last", "phone", "email"), "advanced": True},
}
_UNITS = ("each", "1 kg", "500 g", "pack of 6", "1 l", "250 g", "bunch", "bag of 10")
_FIELD_LABELS = {"first": "First name", "last": "Last name", "phone": "Phone", "email": "Email", "company": "Company"}


@dataclass(frozen=True)
class Step:
    """One step of a task's plan.

    Attributes:
        op: ``tap`` (the element with semantic ``key``), ``type`` (``text`` into the field
            ``key``, tapping it first unless it has the focus) or ``finish``.
        key: the element's semantic key (``app:Settings``, ``setting:wifi``...).
        text: what ``type`` enters.
        say: the step in words (AndroidControl's low-level instruction).
    """

    op: str
    key: str | None = None
    text: str | None = None
    say: str = ""


@dataclass
class NavTask:
    """A task on the phone: what to tell the agent, the plan, and what the state must show."""

    kind: str
    goal: str
    plan: list[Step]
    params: dict[str, Any] = field(default_factory=dict)

    def check(self, state: dict[str, Any]) -> bool:
        """Whether the app's ``state`` (``window.__gui.state``) shows the task done."""
        p = self.params
        if self.kind == "toggle":
            return bool(state.get("settings", {}).get(p["key"])) == p["value"]
        if self.kind == "choice":
            return state.get("choices", {}).get(p["key"]) == p["value"]
        if self.kind == "contact":
            return any(contact.get("id") not in p["existing"] and _contact_matches(contact, p["fields"])
                       for contact in state.get("contacts", []))
        if self.kind == "list":
            return p["item"] in state.get("lists", {}).get(p["list"], [])
        raise ValueError(f"unknown task kind {self.kind!r}")


def _contact_matches(contact: dict[str, Any], fields: dict[str, str]) -> bool:
    for name, wanted in fields.items():
        have = str(contact.get(name) or "")
        if name == "phone":
            if _digits(have) != _digits(wanted):
                return False
        elif " ".join(have.split()).casefold() != " ".join(wanted.split()).casefold():
            return False
    return True


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@dataclass
class PhoneTask:
    """A generated phone (its app spec) and the task to do on it."""

    spec: dict[str, Any]
    task: NavTask


class _Ids:
    def __init__(self) -> None:
        self.next = 10

    def __call__(self) -> int:
        self.next += 1
        return self.next - 1


def generate_phone_task(rng: random.Random, *, device: str, difficulty: str,
                        kinds: tuple[str, ...] = TASK_KINDS) -> PhoneTask:
    """A phone and a task of one of ``kinds`` on it, drawn with ``rng`` (same state, same
    phone and task)."""
    level = _LEVEL[difficulty]
    ids = _Ids()
    kind = rng.choice(list(kinds))
    screens: dict[str, Any] = {}
    state: dict[str, Any] = {"settings": {}, "choices": {}, "contacts": [], "lists": {}, "catalog": {}}
    choice_specs: dict[str, Any] = {}
    settings_map = _settings_app(rng, ids, level, screens, state, choice_specs)
    _contacts_app(rng, ids, level, screens, state)
    shop_map = _shop_app(rng, ids, level, screens, state)
    apps = _launcher(rng, ids, level, device, screens)
    task = _task(rng, kind, level, difficulty, state, settings_map, shop_map)
    spec = {
        "device": device, "size": list(DEVICE_SIZES[device]), "theme": draw_theme(rng, difficulty), "title": "Phone",
        "chrome": {"status_bar": device == "phone", "nav_bar": device == "phone", "taskbar": device != "phone"},
        "system_ids": SYSTEM_IDS, "screens": screens, "start": ["home"], "home": "home", "overlay": None,
        "state": state, "choices": choice_specs, "apps": apps, "next_id": 100_000,
    }
    return PhoneTask(spec, task)


# ---------------------------------------------------------------------- apps
def _settings_app(rng: random.Random, ids: _Ids, level: dict[str, Any], screens: dict[str, Any],
                  state: dict[str, Any], choice_specs: dict[str, Any]) -> dict[str, list[str]]:
    """Builds Settings; returns each setting / choice key's path of link keys."""
    categories = list(vocab.CATEGORIES[: level["categories"]])
    rows = []
    paths: dict[str, list[str]] = {}
    for index, (name, icon, summary) in enumerate(categories):
        sid = f"settings/{index}"
        link_key = f"link:category:{index}"
        rows.append({"t": "link", "id": ids(), "key": link_key, "label": name, "detail": summary, "icon": icon,
                     "chevron": True, "do": {"go": sid}})
        members = [s for s in vocab.SETTINGS if s[3] == name]
        rng.shuffle(members)
        members = members[: level["per_category"]]
        switches = []
        for key, label, detail, _cat, row_icon in members:
            state["settings"][key] = rng.random() < 0.5
            switches.append({"t": "switch", "id": ids(), "key": f"setting:{key}", "label": label, "detail": detail,
                             "setting": key, "icon": row_icon})
        choices = []
        for key, label, cat, options in vocab.CHOICES:
            if cat == name:
                state["choices"][key] = rng.choice(options)
                choice_specs[key] = {"label": label, "options": list(options)}
                choices.append({"t": "choice", "id": ids(), "key": f"choice:{key}", "label": label, "choice": key})
        main_rows, advanced_rows = switches + choices, []
        if level["advanced"] and len(main_rows) > 2:
            rng.shuffle(main_rows)
            half = len(main_rows) // 2
            main_rows, advanced_rows = main_rows[:half], main_rows[half:]
        body: list[dict[str, Any]] = [{"t": "section", "title": name, "rows": main_rows}]
        for row in main_rows:
            paths[row["key"]] = [link_key]
        if advanced_rows:
            adv_sid, adv_key = f"{sid}/advanced", f"link:advanced:{index}"
            body.append({"t": "section", "rows": [{"t": "link", "id": ids(), "key": adv_key, "label": "Advanced",
                                                   "detail": ", ".join(r["label"] for r in advanced_rows[:2]) + "\u2026",
                                                   "chevron": True, "do": {"go": adv_sid}}]})
            screens[adv_sid] = {"title": "Advanced", "app": "Settings", "back": ids(), "body": [
                {"t": "section", "title": f"{name} \u00b7 Advanced", "rows": advanced_rows}]}
            for row in advanced_rows:
                paths[row["key"]] = [link_key, adv_key]
        screens[sid] = {"title": name, "app": "Settings", "back": ids(), "body": body}
    screens["settings"] = {"title": "Settings", "app": "Settings", "back": ids(),
                           "actions": [{"id": ids(), "key": "icon:settings-search", "label": "Search settings",
                                        "icon": "search", "do": {"toast": "Search is not available"}}],
                           "body": [{"t": "section", "rows": rows}]}
    return paths


def _contacts_app(rng: random.Random, ids: _Ids, level: dict[str, Any], screens: dict[str, Any],
                  state: dict[str, Any]) -> None:
    for n in range(level["contacts"]):
        first, last = rng.choice(vocab.FIRST_NAMES), rng.choice(vocab.LAST_NAMES)
        state["contacts"].append({"id": f"c{n}", "first": first, "last": last, "phone": _phone(rng),
                                  "email": f"{first.lower()}.{last.lower()}@{rng.choice(vocab.EMAIL_DOMAINS)}",
                                  "company": "", "hue": rng.random()})
    screens["contacts"] = {
        "title": "Contacts", "app": "Contacts", "back": ids(),
        "actions": [{"id": ids(), "key": "icon:contacts-search", "label": "Search contacts", "icon": "search",
                     "do": {"toast": "Search is not available"}},
                    {"id": ids(), "key": "icon:contacts-more", "label": "More options", "icon": "more",
                     "do": {"menu": {"items": [
                         {"id": ids(), "key": "menu:import", "label": "Import", "icon": "download", "do": {"toast": "Nothing to import"}},
                         {"id": ids(), "key": "menu:export", "label": "Export", "icon": "upload", "do": {"toast": "Exported"}},
                         {"id": ids(), "key": "menu:contacts-settings", "label": "Settings", "icon": "gear", "do": {"toast": "No settings"}},
                     ]}}}],
        "body": [{"t": "dyn", "source": "contacts"}],
        "fab": {"id": ids(), "key": "fab:create_contact", "label": "Create contact", "icon": "plus", "extended": True,
                "do": {"go": "contact_new"}},
    }
    fields = [{"t": "field", "id": ids(), "key": f"field:{name}", "label": label, "placeholder": label,
               "form": "contact", "name": name, "input": "tel" if name == "phone" else "text"}
              for name, label in _FIELD_LABELS.items()]
    screens["contact_new"] = {
        "title": "New contact", "app": "Contacts", "back": ids(), "form": "contact",
        "body": [{"t": "form", "fields": fields}],
        "footer": [{"id": ids(), "key": "button:cancel_contact", "label": "Cancel", "variant": "text", "do": {"back": 1}},
                   {"id": ids(), "key": "button:save_contact", "label": "Save", "variant": "primary",
                    "do": {"submit": "contact"}}],
    }
    screens["contact"] = {"title": "Contact", "app": "Contacts", "back": ids(), "body": [{"t": "dyn", "source": "contact"}]}


def _phone(rng: random.Random) -> str:
    return f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}"


def _shop_app(rng: random.Random, ids: _Ids, level: dict[str, Any], screens: dict[str, Any],
              state: dict[str, Any]) -> dict[str, str]:
    """Builds Shop; returns each product id's category."""
    names = list(vocab.CATALOG)
    rng.shuffle(names)
    chosen = sorted(names[: level["shop_categories"]], key=list(vocab.CATALOG).index)
    category_of: dict[str, str] = {}
    rows = []
    counter = 0
    for cat in chosen:
        _icon, items = vocab.CATALOG[cat]
        picked = sorted(rng.sample(items, min(len(items), level["items"])))
        products = []
        for name in picked:
            counter += 1
            pid = f"p{counter}"
            category_of[pid] = cat
            products.append({"id": pid, "name": name, "price": f"${rng.randint(1, 14)}.{rng.choice([0, 29, 49, 79, 99]):02d}",
                             "unit": rng.choice(_UNITS), "desc": f"Fresh {name.lower()}, chosen for you.",
                             "hue": rng.random()})
        state["catalog"][cat] = products
        sid = f"cat:{cat}"
        rows.append({"t": "link", "id": ids(), "key": f"link:shop:{cat}", "label": cat, "icon": vocab.CATALOG[cat][0],
                     "detail": f"{len(products)} products", "chevron": True, "do": {"go": sid}})
        screens[sid] = {"title": cat, "app": "Shop", "back": ids(), "body": [{"t": "dyn", "source": "category", "category": cat}]}
    all_ids = list(category_of)
    for name in rng.sample(vocab.LIST_NAMES, level["lists"]):
        state["lists"][name] = sorted(rng.sample(all_ids, rng.randint(0, 3)), key=all_ids.index)
    rows.append({"t": "link", "id": ids(), "key": "link:shop:lists", "label": "My lists", "icon": "list",
                 "chevron": True, "do": {"go": "lists"}})
    screens["shop"] = {"title": "Shop", "app": "Shop", "back": ids(), "body": [
        {"t": "search", "id": ids(), "key": "field:search", "label": "Search products", "placeholder": "Search products",
         "form": "search", "name": "q", "input": "text"},
        {"t": "dyn", "source": "search"},
        {"t": "section", "title": "Categories", "rows": rows}]}
    screens["item"] = {"title": "Details", "app": "Shop", "back": ids(), "body": [{"t": "dyn", "source": "item"}]}
    screens["lists"] = {"title": "My lists", "app": "Shop", "back": ids(), "body": [{"t": "dyn", "source": "lists"}]}
    return category_of


def _launcher(rng: random.Random, ids: _Ids, level: dict[str, Any], device: str,
              screens: dict[str, Any]) -> list[dict[str, str]]:
    others = list(vocab.OTHER_APPS)
    rng.shuffle(others)
    entries = [("Settings", "gear", 0.6, "settings"), ("Contacts", "user", 0.55, "contacts"), ("Shop", "cart", 0.1, "shop")]
    for name, icon, hue in others[: level["apps"] - 3]:
        sid = f"app:{name}"
        entries.append((name, icon, hue, sid))
        buttons = [{"id": ids(), "key": f"button:{name}:{label}", "label": label, "variant": variant,
                    "do": {"toast": f"{label}: nothing to show"}}
                   for label, variant in (("Get started", "primary"), ("Learn more", "text"))]
        screens[sid] = {"title": name, "app": name, "back": ids(), "body": [
            {"t": "picture", "icon": icon, "h": 120}, {"t": "heading", "text": f"Welcome to {name}"},
            {"t": "text", "text": "Nothing here yet."}, {"t": "buttons", "items": buttons}]}
    rng.shuffle(entries)
    grid = [{"id": ids(), "key": f"app:{name}", "label": name, "icon": icon, "hue": hue, "do": {"go": sid}}
            for name, icon, hue, sid in entries]
    screens["home"] = {"title": "Home", "launcher": True, "body": [
        {"t": "heading", "text": rng.choice(["Good morning", "Tuesday 14 May", "Sunny, 21\u00b0"])},
        {"t": "grid", "cols": 4 if device == "phone" else 8, "items": grid}]}
    return [{"label": name, "screen": sid} for name, _icon, _hue, sid in entries]


# ---------------------------------------------------------------------- tasks
def _task(rng: random.Random, kind: str, level: dict[str, Any], difficulty: str, state: dict[str, Any],
          settings_map: dict[str, list[str]], shop_map: dict[str, str]) -> NavTask:
    open_settings = Step("tap", "app:Settings", say='Open the Settings app')
    if kind == "toggle":
        keys = [key for key in settings_map if key.startswith("setting:")]
        key = rng.choice(keys)
        setting = key.split(":", 1)[1]
        label = next(s[1] for s in vocab.SETTINGS if s[0] == setting)
        value = not state["settings"][setting]
        goal = f'Turn {"on" if value else "off"} "{label}" in Settings.'
        plan = [open_settings, *_path_steps(settings_map[key]),
                Step("tap", key, say=f'Turn {"on" if value else "off"} "{label}"'), Step("finish", say="Finish")]
        return NavTask("toggle", goal, plan, {"key": setting, "value": value})
    if kind == "choice":
        key = rng.choice([key for key in settings_map if key.startswith("choice:")])
        choice = key.split(":", 1)[1]
        label, options = next((c[1], c[3]) for c in vocab.CHOICES if c[0] == choice)
        value = rng.choice([option for option in options if option != state["choices"][choice]])
        goal = f'Set "{label}" to "{value}" in Settings.'
        plan = [open_settings, *_path_steps(settings_map[key]), Step("tap", key, say=f'Open "{label}"'),
                Step("tap", f"option:{choice}:{value}", say=f'Choose "{value}"'), Step("finish", say="Finish")]
        return NavTask("choice", goal, plan, {"key": choice, "value": value})
    if kind == "contact":
        first, last = rng.choice(vocab.FIRST_NAMES), rng.choice(vocab.LAST_NAMES)
        values = {"first": first, "last": last, "phone": _phone(rng),
                  "email": f"{first.lower()}.{last.lower()}@{rng.choice(vocab.EMAIL_DOMAINS)}"}
        fields = {name: values[name] for name in level["fields"]}
        described = ", ".join(f'{_FIELD_LABELS[name].lower()} "{value}"' for name, value in fields.items())
        goal = f"Create a new contact with {described}."
        plan = [Step("tap", "app:Contacts", say="Open the Contacts app"),
                Step("tap", "fab:create_contact", say='Tap "Create contact"')]
        plan += [Step("type", f"field:{name}", value, say=f'Enter "{value}" as the {_FIELD_LABELS[name].lower()}')
                 for name, value in fields.items()]
        plan += [Step("tap", "button:save_contact", say='Tap "Save"'), Step("finish", say="Finish")]
        existing = [contact["id"] for contact in state["contacts"]]
        return NavTask("contact", goal, plan, {"fields": fields, "existing": existing})
    if kind == "list":
        lists = list(state["lists"])
        pairs = [(pid, name) for pid in shop_map for name in lists if pid not in state["lists"][name]]
        pid, list_name = rng.choice(pairs)
        cat = shop_map[pid]
        product = next(p for p in state["catalog"][cat] if p["id"] == pid)["name"]
        goal = f'In the Shop app, add "{product}" to the "{list_name}" list.'
        plan = [Step("tap", "app:Shop", say="Open the Shop app"), Step("tap", f"link:shop:{cat}", say=f'Open "{cat}"'),
                Step("tap", f"item:{pid}", say=f'Open "{product}"'),
                Step("tap", "item:add_to_list", say='Tap "Add to list"'),
                Step("tap", f"list:{list_name}", say=f'Choose "{list_name}"'), Step("finish", say="Finish")]
        return NavTask("list", goal, plan, {"item": pid, "list": list_name, "product": product})
    raise ValueError(f"unknown task kind {kind!r}")


def _path_steps(links: list[str]) -> list[Step]:
    steps = []
    for key in links:
        if key.startswith("link:advanced"):
            steps.append(Step("tap", key, say='Open "Advanced"'))
        else:
            index = int(key.rsplit(":", 1)[1])
            steps.append(Step("tap", key, say=f'Open "{vocab.CATEGORIES[index][0]}"'))
    return steps


__all__ = ["NavTask", "PhoneTask", "Step", "TASK_KINDS", "generate_phone_task"]
