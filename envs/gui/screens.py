"""Generated screens for grounding: settings panels, forms, lists, menus, dialogs, launchers and
tables, drawn from a seed.

:func:`generate_screen` returns an app spec with one screen (rendered by
:mod:`~agentgym.envs.gui.runtime`) and its *candidates*: the elements an instruction can name
without ambiguity, each with that instruction ("Click the "Save as" button."). Which candidate
becomes the target is decided after rendering, among those fully in view and reachable by a
click at their centre (:mod:`~agentgym.envs.gui.grounding`).

Difficulty sets three things:

* **density** -- how many elements a screen holds (sections, rows, fields, items, icons);
* **target size** -- the theme's font size, row height and icon size (:mod:`~agentgym.envs.gui.themes`);
* **distractors** -- labels of the same family on the same screen ("Save", "Save as",
  "Save draft"), from :data:`~agentgym.envs.gui.vocab.BUTTON_FAMILIES`.

Labels are unique on a screen (case-insensitively), except the actions repeated in every row
of a table, whose instruction names the row.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable

from . import vocab
from .themes import DEVICE_SIZES, draw_theme

SCREEN_KINDS = ("settings", "form", "list", "menu", "dialog", "launcher", "table")
#: Element ids 1-3 are the system's buttons (back, home, recent apps).
SYSTEM_IDS = {"back": 1, "home": 2, "recents": 3}
FIRST_ID = 10
#: The names of the buttons the runtime draws on every screen (the phone's navigation bar, the
#: desktop's taskbar, an app bar's up button): no generated element takes one, so that an
#: instruction naming an element ('Tap the "Home" icon.') never names a system button as well.
SYSTEM_LABELS = ("Back", "Home", "Recent apps", "Navigate up")

#: Per difficulty: a multiplier of element counts and how many look-alikes join a label.
_LEVEL = {"easy": (1, 0), "medium": (2, 1), "hard": (3, 3)}


@dataclass(frozen=True)
class Candidate:
    """An element an instruction can name: its id, the instruction and the kind of element."""

    id: int
    instruction: str
    kind: str


@dataclass
class GeneratedScreen:
    """One screen: the app spec, the elements that can be targets, and the screen's kind."""

    spec: dict[str, Any]
    candidates: list[Candidate]
    kind: str


@dataclass
class _Builder:
    rng: random.Random
    device: str
    difficulty: str
    next_id: int = FIRST_ID
    used: set[str] = field(default_factory=lambda: {label.casefold() for label in SYSTEM_LABELS})
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def phone(self) -> bool:
        return self.device == "phone"

    @property
    def verb(self) -> str:
        return "Tap" if self.phone else "Click"

    @property
    def level(self) -> int:
        return _LEVEL[self.difficulty][0]

    @property
    def lookalikes(self) -> int:
        return _LEVEL[self.difficulty][1]

    def count(self, easy: tuple[int, int], step: int) -> int:
        """A count drawn from ``easy`` widened by ``step`` per level above easy."""
        low, high = easy
        extra = (self.level - 1) * step
        return self.rng.randint(low + extra // 2, high + extra)

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def free(self, label: str) -> bool:
        return label.casefold() not in self.used

    def take(self, label: str) -> str:
        self.used.add(label.casefold())
        return label

    def pick(self, pool: list[str] | tuple[str, ...], n: int) -> list[str]:
        """Up to ``n`` distinct unused labels from ``pool`` (in the pool's shuffled order)."""
        options = [label for label in pool if self.free(label)]
        self.rng.shuffle(options)
        return [self.take(label) for label in options[:n]]

    def target(self, element_id: int, instruction: str, kind: str) -> None:
        self.candidates.append(Candidate(element_id, instruction, kind))

    # ------------------------------------------------------------------ elements
    def button(self, label: str, *, variant: str = "secondary", icon: str | None = None, size: str = "",
               do: dict[str, Any] | None = None, target: bool = True) -> dict[str, Any]:
        element = {"id": self.new_id(), "key": f"button:{label}", "label": label, "variant": variant,
                   "do": do or {"toast": f"{label}"}}
        if icon:
            element["icon"] = icon
        if size:
            element["size"] = size
        if target:
            self.target(element["id"], f'{self.verb} the "{label}" button.', "button")
        return element

    def icon_button(self, label: str, icon: str, *, do: dict[str, Any] | None = None) -> dict[str, Any]:
        element = {"id": self.new_id(), "key": f"icon:{label}", "label": label, "icon": icon,
                   "do": do or {"toast": label}}
        self.target(element["id"], f'{self.verb} the "{label}" icon.', "icon")
        return element

    def icon_buttons(self, n: int) -> list[dict[str, Any]]:
        pairs = [pair for pair in vocab.ICON_BUTTONS if self.free(pair[0])]
        self.rng.shuffle(pairs)
        return [self.icon_button(self.take(label), icon) for label, icon in pairs[:n]]

    def family_labels(self, n_families: int) -> list[str]:
        """Button labels: ``n_families`` families, each with its head label or a member and, on
        harder levels, its look-alikes."""
        families = list(vocab.BUTTON_FAMILIES)
        self.rng.shuffle(families)
        labels: list[str] = []
        for family in families:
            if len(labels) >= n_families * (1 + self.lookalikes):
                break
            members = [label for label in family if self.free(label)]
            if not members:
                continue
            self.rng.shuffle(members)
            labels += [self.take(label) for label in members[: 1 + self.lookalikes]]
        return labels

    def spec(self, screens: dict[str, Any], start: str, *, overlay: dict[str, Any] | None = None,
             state: dict[str, Any] | None = None, choices: dict[str, Any] | None = None,
             title: str = "App") -> dict[str, Any]:
        theme = draw_theme(self.rng, self.difficulty)
        return {
            "device": self.device, "size": list(DEVICE_SIZES[self.device]), "theme": theme, "title": title,
            "chrome": {"status_bar": self.phone, "nav_bar": self.phone, "taskbar": not self.phone},
            "system_ids": SYSTEM_IDS, "screens": screens, "start": [start], "home": None, "overlay": overlay,
            "state": {"settings": {}, "choices": {}, "contacts": [], "lists": {}, "catalog": {}, **(state or {})},
            "choices": choices or {}, "apps": [], "next_id": 100_000,
        }


def _appbar(b: _Builder, title: str, n_icons: int, *, back: bool = True) -> dict[str, Any]:
    screen: dict[str, Any] = {"title": title, "body": [], "actions": b.icon_buttons(n_icons)}
    if back:
        screen["back"] = b.new_id()
    return screen


# ---------------------------------------------------------------------- kinds
def _settings(b: _Builder) -> GeneratedScreen:
    categories = list(vocab.CATEGORIES)
    b.rng.shuffle(categories)
    n_sections = min(len(categories), b.count((1, 2), 1))
    title = b.rng.choice(["Settings", "Preferences", categories[0][0]])
    screen = _appbar(b, b.take(title), b.count((1, 1), 1))
    settings_state: dict[str, bool] = {}
    choices_state: dict[str, str] = {}
    choices: dict[str, Any] = {}
    links = ["Advanced", "Data usage", "Saved networks", "Permissions", "App info", "Storage", "About phone",
             "Default apps", "Languages", "Security", "Accounts", "Shortcuts", "Wallpaper", "Usage"]
    for name, icon, _summary in categories[:n_sections]:
        rows: list[dict[str, Any]] = []
        options = [s for s in vocab.SETTINGS if s[3] == name and b.free(s[1])]
        b.rng.shuffle(options)
        for key, label, detail, _cat, row_icon in options[: b.count((2, 3), 1)]:
            element = {"t": "switch", "id": b.new_id(), "key": f"setting:{key}", "label": b.take(label),
                       "setting": key, "icon": row_icon if b.rng.random() < 0.6 else None}
            if b.rng.random() < 0.7:
                element["detail"] = detail
            settings_state[key] = b.rng.random() < 0.5
            rows.append(element)
            b.target(element["id"], f'{b.verb} the "{label}" switch.', "switch")
        for key, label, cat, values in vocab.CHOICES:
            if cat == name and b.free(label) and b.rng.random() < 0.6:
                element = {"t": "choice", "id": b.new_id(), "key": f"choice:{key}", "label": b.take(label), "choice": key}
                choices_state[key] = b.rng.choice(values)
                choices[key] = {"label": label, "options": list(values)}
                rows.append(element)
                b.target(element["id"], f'{b.verb} "{label}".', "choice")
        for label in b.pick(links, b.count((0, 1), 1)):
            element = {"t": "link", "id": b.new_id(), "key": f"link:{label}", "label": label, "chevron": True,
                       "do": {"toast": label}}
            rows.append(element)
            b.target(element["id"], f'Open "{label}".', "link")
        b.rng.shuffle(rows)
        screen["body"].append({"t": "section", "title": name, "rows": rows})
    state = {"settings": settings_state, "choices": choices_state}
    return GeneratedScreen(b.spec({"main": screen}, "main", state=state, choices=choices, title=title), b.candidates,
                           "settings")


def _form(b: _Builder) -> GeneratedScreen:
    title = b.take(b.rng.choice(["New contact", "Create account", "Edit profile", "Shipping address", "Sign up",
                                 "Contact us", "Add employee", "Billing details"]))
    screen = _appbar(b, title, b.count((0, 1), 1))
    fields = list(vocab.FORM_FIELDS)
    b.rng.shuffle(fields)
    inputs = []
    for name, label, placeholder, kind in fields[: b.count((2, 4), 3)]:
        element = {"t": "field", "id": b.new_id(), "key": f"field:{name}", "label": b.take(label), "placeholder": placeholder,
                   "form": "form", "name": name, "input": kind}
        inputs.append(element)
        b.target(element["id"], f'{b.verb} the "{label}" field.', "field")
    if b.rng.random() < 0.5:
        screen["body"].append({"t": "text", "text": b.rng.choice(["Fields marked * are required.",
                                                                   "We never share your details.",
                                                                   "You can change this later in Settings."])})
    screen["body"].append({"t": "form", "fields": inputs})
    checks = []
    for label in b.pick(vocab.CHECK_LABELS, b.count((0, 1), 1)):
        element = {"t": "check", "id": b.new_id(), "key": f"check:{label}", "label": label}
        checks.append(element)
        b.target(element["id"], f'{b.verb} the "{label}" checkbox.', "check")
    if checks:
        screen["body"].append({"t": "section", "rows": checks})
    labels = b.family_labels(b.count((2, 2), 1))
    buttons = [b.button(label, variant="primary" if i == 0 else b.rng.choice(["secondary", "text"]))
               for i, label in enumerate(labels)]
    if b.phone and b.rng.random() < 0.5:
        screen["footer"] = buttons[:3]
        if buttons[3:]:
            screen["body"].append({"t": "buttons", "items": buttons[3:]})
    else:
        screen["body"].append({"t": "buttons", "items": buttons, "align": b.rng.choice(["", "end"])})
    return GeneratedScreen(b.spec({"main": screen}, "main", title=title), b.candidates, "form")


def _list_items(b: _Builder, n: int) -> tuple[str, list[dict[str, Any]]]:
    """A list screen's rows (files, mail or people) and the screen's title."""
    flavour = b.rng.choice(["files", "mail", "people"])
    rows = []
    if flavour == "files":
        for name in b.pick(vocab.FILE_NAMES, n):
            element = {"t": "item", "id": b.new_id(), "key": f"item:{name}", "label": name,
                       "icon": "folder" if "." not in name else "file",
                       "detail": f"Modified {b.rng.randint(1, 28)} {b.rng.choice(['Jan', 'Mar', 'May', 'Aug', 'Nov'])} "
                                 f"\u00b7 {b.rng.randint(1, 900)} KB", "do": {"toast": f"Opening {name}"}}
            rows.append(element)
        title = b.rng.choice(["Files", "Documents", "Recent", "My drive"])
    elif flavour == "mail":
        for subject in b.pick(vocab.EMAIL_SUBJECTS, n):
            sender = f"{b.rng.choice(vocab.FIRST_NAMES)} {b.rng.choice(vocab.LAST_NAMES)}"
            element = {"t": "item", "id": b.new_id(), "key": f"item:{subject}", "label": subject, "detail": sender,
                       "avatar": sender[0] + sender.split()[1][0], "hue": b.rng.random(),
                       "trail": f"{b.rng.randint(1, 12)}:{b.rng.randint(0, 59):02d}", "do": {"toast": subject}}
            rows.append(element)
        title = b.rng.choice(["Inbox", "Mail", "Messages"])
    else:
        names = [f"{first} {last}" for first in vocab.FIRST_NAMES for last in vocab.LAST_NAMES[:6]]
        for name in b.pick(names, n):
            element = {"t": "item", "id": b.new_id(), "key": f"item:{name}", "label": name,
                       "detail": f"+1 555 01{b.rng.randint(10, 99)}", "avatar": name[0] + name.split()[1][0],
                       "hue": b.rng.random(), "do": {"toast": name}}
            rows.append(element)
        title = b.rng.choice(["Contacts", "People", "Team"])
    for element in rows:
        b.target(element["id"], f'Open "{element["label"]}".', "item")
    return b.take(title), rows


def _list(b: _Builder) -> GeneratedScreen:
    screen, _ = _list_screen(b)
    return GeneratedScreen(b.spec({"main": screen}, "main", title=screen["title"]), b.candidates, "list")


def _list_screen(b: _Builder, *, targets: bool = True) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    title, rows = _list_items(b, b.count((3, 5), 6))
    screen = _appbar(b, title, b.count((1, 2), 1), back=b.rng.random() < 0.5)
    chips = b.pick(["All", "Unread", "Starred", "Recent", "Shared", "Images", "Documents", "Important",
                    "Archived", "Favourites"], b.count((0, 2), 2))
    if chips:
        items = []
        for label in chips:
            element = {"id": b.new_id(), "key": f"chip:{label}", "label": label}
            items.append(element)
            b.target(element["id"], f'Select the "{label}" filter.', "chip")
        screen["body"].append({"t": "chips", "items": items})
    screen["body"].append({"t": "section", "rows": rows})
    if b.rng.random() < 0.6:
        label = b.take(b.rng.choice([x for x in ("Compose", "New", "Upload", "Add contact", "Create") if b.free(x)]))
        fab = {"id": b.new_id(), "key": f"fab:{label}", "label": label, "icon": "plus",
               "extended": b.rng.random() < 0.5, "do": {"toast": label}}
        screen["fab"] = fab
        b.target(fab["id"], f'{b.verb} the "{label}" button.', "fab")
    if b.rng.random() < 0.4 * b.level:
        labels = b.pick(["Recent", "Shared", "Starred", "Inbox", "Sent", "Drafts", "Trash", "Spam", "Later"], 3)
        if len(labels) == 3:
            tabs = []
            for i, label in enumerate(labels):
                element = {"id": b.new_id(), "key": f"tab:{label}", "label": label, "selected": i == 0,
                           "do": {"toast": label}}
                tabs.append(element)
                if i:
                    b.target(element["id"], f'Go to the "{label}" tab.', "tab")
            screen["tabs"] = {"place": "top", "items": tabs}
    if not targets:
        b.candidates.clear()
    return screen, rows


def _menu(b: _Builder) -> GeneratedScreen:
    screen, _ = _list_screen(b, targets=False)
    if not any(action["label"] == "More options" for action in screen["actions"]):
        b.take("More options")
        screen["actions"].append({"id": b.new_id(), "key": "icon:More options", "label": "More options", "icon": "more",
                                  "do": {"toast": "More options"}})
    b.candidates.clear()
    entries = [(label, icon) for label, icon in vocab.MENU_ITEMS if b.free(label)]
    b.rng.shuffle(entries)
    items = []
    for label, icon in entries[: b.count((3, 5), 3)]:
        element = {"id": b.new_id(), "key": f"menu:{label}", "label": b.take(label), "do": {"toast": label}}
        if b.rng.random() < 0.6:
            element["icon"] = icon
        items.append(element)
        b.target(element["id"], f'Choose "{label}" from the menu.', "menuitem")
    overlay = {"t": "menu", "items": items, "at": {"right": 8, "top": (24 if b.phone else 0) + 44}}
    return GeneratedScreen(b.spec({"main": screen}, "main", overlay=overlay, title=screen["title"]), b.candidates, "menu")


def _dialog(b: _Builder) -> GeneratedScreen:
    background = _settings if b.rng.random() < 0.5 else _list
    generated = background(b)
    b.candidates.clear()
    title, text, labels = b.rng.choice(vocab.DIALOG_TEXTS)
    labels = [b.take(label) for label in labels if b.free(label)] or [b.take(b.rng.choice(["OK", "Got it", "Dismiss"]))]
    extra = b.family_labels(max(0, b.level - 2))
    buttons = [b.button(label, variant="text") for label in [*extra, *labels]]
    if buttons:
        buttons[-1]["variant"] = "primary"
    overlay: dict[str, Any] = {"t": "dialog", "title": title, "buttons": buttons}
    if b.rng.random() < 0.5 or b.level == 3:
        overlay["text"] = text
    if b.level > 1 and b.rng.random() < 0.6:
        options = b.pick(["Only this time", "While using the app", "Always", "Never", "PDF", "Word document",
                          "Plain text", "High quality", "Data saver", "Original size"], b.count((2, 3), 1))
        rows = []
        for i, label in enumerate(options):
            element = {"t": "radio", "id": b.new_id(), "key": f"radio:{label}", "label": label, "checked": i == 0,
                       "do": {"toast": label, "keep": True}}
            rows.append(element)
            b.target(element["id"], f'Select "{label}".', "radio")
        overlay["rows"] = rows
    spec = generated.spec
    spec["overlay"] = overlay
    return GeneratedScreen(spec, b.candidates, "dialog")


def _launcher(b: _Builder) -> GeneratedScreen:
    apps = [(name, icon, hue) for name, icon, hue in
            (*vocab.OTHER_APPS, ("Settings", "gear", 0.6), ("Contacts", "user", 0.55), ("Shop", "cart", 0.1))]
    b.rng.shuffle(apps)
    cols = 4 if b.phone else 8
    n = min(len(apps), b.count((6, 8), 8))
    grid = []
    for name, icon, hue in apps[:n]:
        element = {"id": b.new_id(), "key": f"app:{name}", "label": b.take(name), "icon": icon,
                   "hue": (hue + b.rng.uniform(-0.04, 0.04)) % 1.0, "do": {"toast": f"Opening {name}"}}
        grid.append(element)
        b.target(element["id"], f"Open the {name} app.", "app")
    body: list[dict[str, Any]] = []
    if b.rng.random() < 0.5:
        body.append({"t": "heading", "text": b.rng.choice(["Good morning", "Sunny, 21\u00b0", "Tuesday 14 May"])})
    body.append({"t": "grid", "cols": cols, "items": grid})
    screen = {"title": "Home", "launcher": True, "body": body}
    return GeneratedScreen(b.spec({"main": screen}, "main", title="Home"), b.candidates, "launcher")


def _table(b: _Builder) -> GeneratedScreen:
    name, columns = b.rng.choice(vocab.TABLE_SCHEMAS)
    screen = _appbar(b, b.take(name), b.count((1, 1), 1), back=False)
    columns = list(columns[: 2 if b.phone else 4])
    n_rows = b.count((3, 4), 4)
    actions = b.pick(["Edit", "View", "Delete", "Share", "Copy"], 1 if b.phone else min(3, b.level + 1))
    rows = []
    keys: set[str] = set()
    for _ in range(n_rows * 3):
        if len(rows) >= n_rows:
            break
        key = _row_key(b, name)
        if key in keys:
            continue
        keys.add(key)
        cells = [key, *(_cell(b, name, column) for column in columns[1:])]
        row_actions = []
        for label in actions:
            element = b.button(label, size="small", variant="text" if b.rng.random() < 0.5 else "secondary",
                               target=False, do={"toast": f"{label} {key}"})
            element["key"] = f"row:{key}:{label}"
            row_actions.append(element)
            b.target(element["id"], f'{b.verb} "{label}" in the row of {key}.', "row_action")
        rows.append({"cells": cells, "actions": row_actions})
    toolbar = [b.button(label, variant="primary" if i == 0 else "secondary")
               for i, label in enumerate(b.family_labels(b.count((1, 2), 1)))]
    tabs = []
    for i, label in enumerate(b.pick(["All", "Open", "Archived", "This month", "Flagged"], 3)):
        element = {"id": b.new_id(), "key": f"tab:{label}", "label": label, "selected": i == 0, "do": {"toast": label}}
        tabs.append(element)
        if i:
            b.target(element["id"], f'Go to the "{label}" tab.', "tab")
    screen["tabs"] = {"place": "top", "items": tabs}
    screen["body"] += [{"t": "buttons", "items": toolbar},
                       {"t": "table", "columns": columns, "rows": rows, "actions": bool(actions)}]
    return GeneratedScreen(b.spec({"main": screen}, "main", title=name), b.candidates, "table")


def _row_key(b: _Builder, table: str) -> str:
    if table == "Invoices":
        return f"Invoice {b.rng.randint(1000, 9999)}"
    if table == "Orders":
        return f"Order #{b.rng.randint(10000, 99999)}"
    if table == "Employees":
        return f"{b.rng.choice(vocab.FIRST_NAMES)} {b.rng.choice(vocab.LAST_NAMES)}"
    return f"Ticket {b.rng.randint(100, 999)}"


def _cell(b: _Builder, table: str, column: str) -> str:
    if column in ("Amount",):
        return f"${b.rng.randint(20, 9000)}.{b.rng.randint(0, 99):02d}"
    if column == "Status":
        return b.rng.choice(vocab.STATUSES)
    if column == "Customer":
        return b.rng.choice(vocab.LAST_NAMES) + " Ltd"
    if column == "Item":
        return b.rng.choice(vocab.CATALOG["Household"][1])
    if column == "Qty":
        return str(b.rng.randint(1, 40))
    if column == "Team":
        return b.rng.choice(vocab.TEAMS)
    if column == "Location":
        return b.rng.choice(vocab.CITIES)
    if column == "Role":
        return b.rng.choice(vocab.ROLES)
    if column == "Subject":
        return b.rng.choice(vocab.TICKET_SUBJECTS)
    if column == "Priority":
        return b.rng.choice(vocab.PRIORITIES)
    if column == "Owner":
        return b.rng.choice(vocab.FIRST_NAMES)
    return "-"


_KINDS: dict[str, Callable[[_Builder], GeneratedScreen]] = {
    "settings": _settings, "form": _form, "list": _list, "menu": _menu, "dialog": _dialog,
    "launcher": _launcher, "table": _table,
}


def generate_screen(rng: random.Random, *, device: str, difficulty: str, kinds: tuple[str, ...] = SCREEN_KINDS) -> GeneratedScreen:
    """A screen of one of ``kinds`` for ``device`` at ``difficulty``, drawn with ``rng`` (same
    generator state, same screen)."""
    kind = rng.choice(list(kinds))
    builder = _Builder(rng, device, difficulty)
    generated = _KINDS[kind](builder)
    generated.kind = kind
    return generated


__all__ = ["Candidate", "GeneratedScreen", "SCREEN_KINDS", "SYSTEM_IDS", "generate_screen"]
