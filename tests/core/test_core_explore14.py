"""Round-14 probes of agentgym.core's checks."""

from __future__ import annotations

import pytest

from agentgym.core import ConfigError, check_number, is_finite_number


@pytest.mark.parametrize("value", [10**400, -(10**400)])
def test_an_integer_too_large_for_a_float_is_no_finite_number(value):
    """check_number (every environment's numeric arguments: a reward weight, a scale) raised
    Python's OverflowError ('int too large to convert to float') instead of its ConfigError."""
    assert not is_finite_number(value)
    with pytest.raises(ConfigError, match="sigma_scale must be a finite number"):
        check_number("GroundingEnv", "sigma_scale", value)


def test_large_integers_a_float_holds_are_finite_numbers():
    assert is_finite_number(10**300) and check_number("x", "y", 10**300) == 1e300
