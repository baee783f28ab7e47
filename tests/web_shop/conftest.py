"""Fixtures of the shop's browser tests."""

from __future__ import annotations

import pytest

from tests.browser.browser_helpers import checked_pool


@pytest.fixture(scope="module")
def pool():
    """One browser for a test module; no browser process may outlive its ``close``."""
    with checked_pool(1) as pool:
        yield pool
