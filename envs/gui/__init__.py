"""The GUI family: generated apps in a real Chromium, seen as screenshots, operated with
coordinate actions; exact element boxes from the DOM.

Environments (all take ``difficulty`` ``easy`` / ``medium`` / ``hard``, ``device``
``desktop`` (1280 x 800) / ``phone`` (412 x 915), ``frame`` ``pixels`` / ``normalized_1000`` /
``resized`` (``max_side``, ``multiple_of``), ``view`` ``screenshot`` / ``text`` / ``both``,
``answer_format`` ``json`` / ``think_answer``, ``pool``):

* ``gui/Grounding-v0`` -- click the element an instruction names, one click (ScreenSpot-like);
  reward ``grounding`` from the click landing in the target's box (``reward="gaussian"`` or
  ``"tiered"`` for GUI-G²'s Gaussian or a tiered distance). Desktop by default.
* ``gui/ActionPrediction-v0`` -- predict the next action of a demonstration from the goal and
  the history (UI-R1 / AndroidControl-like); rewards ``action_type``, ``argument``, ``format``.
  ``steps="one"`` (a drawn step) or ``"all"``. Phone by default.
* ``gui/Navigation-v0`` -- multi-step tasks on a generated phone (turn a setting on, set a
  choice, create a contact, add a product to a list), judged on the apps' state when the agent
  finishes (AndroidWorld-like); reward ``outcome``.
* ``gui/NavigationText-v0`` -- ``gui/Navigation-v0`` with ``view="text"``: the screen as an
  accessibility tree, for text-only models (every environment takes ``view="text"``).

Suite ``gui-v0``: grounding on desktop and phone at every difficulty, action prediction and
navigation on the phone at every difficulty (the screenshot view, pixel frame), a few seeds each.

Modules:
    frames      -- coordinate frames and their exact maps to the screen (and back).
    actions     -- the JSON action language, parsed strictly.
    themes, icons, vocab -- colours and fonts (Debian's DejaVu faces), SVG icons, words.
    screens     -- the grounding screens (settings, forms, lists, menus, dialogs, launchers, tables).
    apps        -- the generated phone (launcher, Settings, Contacts, Shop...) and its tasks.
    runtime     -- the page: HTML, CSS and the JavaScript runtime that renders a spec and keeps its state.
    page        -- what an environment does in the page: load, act with real input events, read, screenshot.
    oracle      -- the scripted policy that follows a task's plan on the live screen.
    base        -- ``GuiEnv``, the base of the three environments.
    grounding, action_prediction, navigation -- the environments.

Environments register by entry-point string, so importing this package starts no browser and
loads no environment module.
"""

from __future__ import annotations

from agentgym.registry import register
from agentgym.suites import register_suite

_TAGS = ("gui", "multimodal", "browser", "coordinates")

register(
    "gui/Grounding-v0",
    "agentgym.envs.gui.grounding:GroundingEnv",
    max_turns=1,
    tags=(*_TAGS, "grounding", "single-step"),
    description="Click the element an instruction names on a generated screen (settings, form, list, menu, dialog, "
                "launcher, table); reward from the click landing in its exact box.",
)
register(
    "gui/ActionPrediction-v0",
    "agentgym.envs.gui.action_prediction:ActionPredictionEnv",
    max_turns=40,
    tags=(*_TAGS, "action-prediction"),
    description="Predict the next action of a phone demonstration from the goal and the history; rewards for the "
                "action type, its coordinates or text, and the format.",
)
register(
    "gui/Navigation-v0",
    "agentgym.envs.gui.navigation:NavigationEnv",
    max_turns=30,
    tags=(*_TAGS, "navigation", "multi-step"),
    description="Multi-step tasks on a generated phone (settings, contacts, shopping lists), judged on the apps' "
                "state when the agent finishes.",
)
register(
    "gui/NavigationText-v0",
    "agentgym.envs.gui.navigation:NavigationEnv",
    max_turns=30,
    kwargs={"view": "text"},
    tags=("gui", "browser", "navigation", "multi-step", "text-only"),
    description="gui/Navigation-v0 seen as an accessibility tree (element ids and boxes) for text-only models.",
)

GUI_ENV_IDS = ("gui/Grounding-v0", "gui/ActionPrediction-v0", "gui/Navigation-v0", "gui/NavigationText-v0")

register_suite(
    "gui-v0",
    [*(("gui/Grounding-v0", range(10), {"difficulty": level, "device": device})
       for device in ("desktop", "phone") for level in ("easy", "medium", "hard")),
     *(("gui/ActionPrediction-v0", range(10), {"difficulty": level}) for level in ("easy", "medium", "hard")),
     *(("gui/Navigation-v0", range(5), {"difficulty": level}) for level in ("easy", "medium", "hard"))],
    "GUI agents on generated apps: grounding (desktop and phone), next-action prediction and multi-step navigation "
    "on a phone, at every difficulty.",
)
