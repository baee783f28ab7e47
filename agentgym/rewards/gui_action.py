"""Rewards of a GUI action's non-spatial fields: its action type and the text it types, as
pure functions (where the action happens is :mod:`agentgym.rewards.gui_grounding`'s part).

Hostile input never raises: a type or a text that is not a string scores ``0.0``; only a text
threshold that is not a number from 0 to 1 (a configuration error) raises ``ValueError``.

**The formulas and where they come from** (``1[·]`` is 1 when true, else 0):

* Action type (UI-R1, Lu et al. 2025, arXiv 2503.21620, ``R_T``; GUI-R1, Luo et al. 2025,
  arXiv 2504.10458, ``R_act``): ``1[canon(pred) = canon(target)]``; :func:`canonical_action_type`
  lower-cases, turns spaces and hyphens into ``_`` and maps aliases (:data:`ACTION_ALIASES`:
  ``tap`` → ``click``, ``input_text`` → ``type``, ``press_back`` → ``back``...).
* Typed text (GUI-R1's ``R_text``): ``1[F1(pred, target) > 0.5]`` with SQuAD token F1
  (:func:`agentgym.rewards.search.token_f1`); 1 when both normalise to the same string.
"""

from __future__ import annotations

from typing import Any, Mapping

from agentgym.rewards.gui_inputs import as_number
from agentgym.rewards.search import normalise_answer, token_f1

#: Spellings of the same action (after lower-casing, spaces and hyphens to ``_``) → the
#: canonical name the GUI environments use: click, double_click, long_press, type, scroll,
#: swipe, key, back, home, finish; every alias their action parser takes is among them. Names
#: not listed are compared as they are.
ACTION_ALIASES: Mapping[str, str] = {
    "tap": "click", "left_click": "click", "touch": "click",
    "doubleclick": "double_click", "double_tap": "double_click", "dbl_click": "double_click",
    "dblclick": "double_click",
    "long_click": "long_press", "long_tap": "long_press", "longpress": "long_press",
    "press_and_hold": "long_press",
    "input": "type", "input_text": "type", "type_text": "type", "write": "type",
    "press_key": "key", "keypress": "key", "key_press": "key", "hotkey": "key", "press": "key",
    "keyboard_press": "key",
    "press_back": "back", "navigate_back": "back", "go_back": "back",
    "press_home": "home", "navigate_home": "home", "go_home": "home",
    "done": "finish", "complete": "finish", "terminate": "finish", "stop": "finish", "status": "finish",
    "fling": "swipe",
}


# --------------------------------------------------------------------------- action type

def _spelling(action_type: Any) -> str | None:
    """``action_type`` stripped, lower-cased, spaces and hyphens as ``_``; ``None`` for a
    non-string or blank one."""
    if not isinstance(action_type, str):
        return None
    return "_".join(action_type.strip().lower().replace("-", " ").split()) or None


def check_aliases(aliases: Any) -> dict[str, str]:
    """Extra aliases as a dict (``None``: none); ``ValueError`` unless they are a mapping of
    non-blank action-type names to non-blank names (a configuration error)."""
    if aliases is None:
        return {}
    if not isinstance(aliases, Mapping) or not all(
            _spelling(alias) is not None and _spelling(canonical) is not None for alias, canonical in aliases.items()):
        raise ValueError(f"aliases must be a mapping of action types to canonical types, such as "
                         f"{{'select': 'click'}}, got {aliases!r}")
    return dict(aliases)


def canonical_action_type(action_type: Any, aliases: Mapping[str, str] | None = None) -> str | None:
    """The canonical name of an action type: stripped, lower-cased, spaces and hyphens as
    ``_``, then mapped through ``aliases`` (first: they take precedence) and
    :data:`ACTION_ALIASES`; the names of ``aliases`` and the names they map to are spelt the
    same way, so ``{"Select": "Click"}`` maps ``"select"`` to ``"click"``, and a name they map
    to that is itself a built-in alias goes on to its canonical name (``{"select": "tap"}``
    maps ``"select"`` to ``"click"``, as ``"tap"`` is). ``None`` for a non-string or blank
    type. ``ValueError`` for ``aliases`` that are not a mapping (configuration)."""
    if aliases is not None and not isinstance(aliases, Mapping):
        raise ValueError(f"aliases must be a mapping of action types to canonical types, got {aliases!r}")
    name = _spelling(action_type)
    if name is None:
        return None
    for alias, canonical in (aliases or {}).items():
        if _spelling(alias) == name:
            name = _spelling(canonical) or name
            break
    return ACTION_ALIASES.get(name, name)


def action_type_reward(predicted_type: Any, target_type: Any, *, aliases: Mapping[str, str] | None = None) -> float:
    """UI-R1's ``R_T`` / GUI-R1's ``R_act``: ``1[canon(predicted) = canon(target)]``, case-
    insensitive, aliases applied (``"Tap"`` matches ``"click"``); 0 when either is not a
    non-blank string."""
    predicted = canonical_action_type(predicted_type, aliases)
    target = canonical_action_type(target_type, aliases)
    return float(predicted is not None and predicted == target)


# --------------------------------------------------------------------------- typed text

def check_text_threshold(threshold: Any) -> float:
    """``threshold`` as a float; ``ValueError`` unless it is a number from 0 to 1 (a
    configuration error: below 0 every text would match, above 1 or NaN only identical ones)."""
    number = as_number(threshold)
    if number is None or not 0 <= number <= 1:
        raise ValueError(f"the text threshold must be a number from 0 to 1, got {threshold!r}")
    return number


def text_match_reward(predicted: Any, target: Any, *, threshold: float = 0.5) -> float:
    """GUI-R1's ``R_text``: ``1[token F1 > threshold]`` (SQuAD normalisation and F1); 1 when
    both normalise to the same string (also two empty ones); 0 for a non-string.
    ``ValueError`` for a ``threshold`` that is not a number from 0 to 1 (configuration)."""
    check_text_threshold(threshold)
    if not isinstance(predicted, str) or not isinstance(target, str):
        return 0.0
    if normalise_answer(predicted) == normalise_answer(target):
        return 1.0
    return float(token_f1(predicted, target) > threshold)


__all__ = ["ACTION_ALIASES", "action_type_reward", "canonical_action_type", "check_aliases", "check_text_threshold",
           "text_match_reward"]
