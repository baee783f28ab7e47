"""Defects found by a third round of exploratory testing of the GUI environments."""

from __future__ import annotations

import pytest

from agentgym.envs.gui.actions import ActionError, parse_action
from agentgym.envs.gui.frames import CoordinateFrame

PIXELS = CoordinateFrame.make("pixels", (412, 915))


@pytest.mark.parametrize("element", ["\u00b2", "[\u00b3]", "1" * 5000, "\u2460"])
def test_an_element_id_of_digits_int_cannot_read_is_an_action_error(element):
    # str.isdigit() holds for superscripts and circled digits, which int() refuses, and int()
    # refuses more than 4,300 digits: each was a ValueError out of step(), not an error observation
    action = '{"action": "click", "element": "%s"}' % element
    with pytest.raises(ActionError, match="element must be an id"):
        parse_action(action, PIXELS, allow_elements=True)


def test_an_element_id_in_other_decimal_digits_is_still_read():
    action = parse_action('{"action": "click", "element": "[\u0661\u0662]"}', PIXELS, allow_elements=True)
    assert action.element == 12
