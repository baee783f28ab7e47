"""A real environment server on loopback, shared by the tests of one module."""

import pytest

from agentgym.remote import running_env_server


@pytest.fixture(scope="module")
def server_url():
    with running_env_server(max_sessions=64) as url:
        yield url
