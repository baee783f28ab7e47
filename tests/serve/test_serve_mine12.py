"""Defects of the servers' keys found in the twelfth round."""

from __future__ import annotations

import pytest

from agentgym.policies import RandomPolicy
from agentgym.remote.server import env_app
from agentgym.serve import create_app


@pytest.mark.parametrize("key", ["secret\n", "secret\r\n", " secret", "secret ", "sec\x00ret"])
def test_a_server_key_that_no_client_can_send_is_refused_when_the_app_is_made(key):
    # the policy and environment servers took it and answered 401 to every client, the right key
    # included (a header cannot carry a line break, and the token read is stripped)
    with pytest.raises(ValueError, match="api_key") as policy_error:
        create_app(RandomPolicy(), api_key=key)
    with pytest.raises(ValueError, match="api_key") as env_error:
        env_app(api_key=key)
    assert "secret" not in str(policy_error.value) and "secret" not in str(env_error.value)


def test_a_server_whose_port_is_taken_says_so():
    # 'the policy server did not start on 127.0.0.1:PORT', the cause only in uvicorn's log
    import socket

    from fastapi import FastAPI

    from agentgym.serve.runner import serving_in_thread

    taken = socket.socket()
    try:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=rf"did not start on 127.0.0.1:{port}: .*address already in use"):
            with serving_in_thread(FastAPI(), host="127.0.0.1", port=port, name="test server"):
                pass
    finally:
        taken.close()
