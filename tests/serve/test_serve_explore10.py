"""Exploratory findings (round 10) on the policy server's entry points."""

from __future__ import annotations

import httpx
import pytest

from agentgym.policies import RandomPolicy
from agentgym.serve.app import create_app
from agentgym.serve.runner import running_server


def test_running_server_refuses_app_options_beside_a_ready_app():
    # They were dropped without a word: running_server(app, max_batch_size=2) served the app
    # with its own batch size (running_env_server refuses the same call).
    with pytest.raises(ValueError, match=r"either a ready app or app options.*max_batch_size"):
        with running_server(create_app(RandomPolicy()), max_batch_size=2):
            pass

