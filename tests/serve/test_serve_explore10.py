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



def test_running_server_refuses_to_serve_a_ready_app_beyond_loopback_without_an_api_key():
    # The module's contract (both entry points refuse to listen beyond loopback without a key):
    # a ready app skipped the check, so running_server(create_app(policy), host="0.0.0.0")
    # served the model to anyone who could reach the port. running_env_server checks a ready app.
    with pytest.raises(ValueError, match="refusing to serve on '0.0.0.0' without an API key"):
        with running_server(create_app(RandomPolicy()), host="0.0.0.0"):
            pass
    with running_server(create_app(RandomPolicy(), api_key="k"), api_key="k") as url:
        assert httpx.get(url + "/models", timeout=5).status_code == 401  # the app's own key guards it
