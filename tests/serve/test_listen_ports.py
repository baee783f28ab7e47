"""Every server entry point refuses a port no server can listen on, up front, with one line
(uvicorn failed later, in its thread or its ``sys.exit``, with a resolver error)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from agentgym.policies import RandomPolicy
from agentgym.remote.runner import running_env_server, serve_env
from agentgym.retrieval.base import Document
from agentgym.retrieval.bm25 import BM25Index
from agentgym.retrieval.server import run_retrieval_server, serve_retriever
from agentgym.serve.guards import check_port
from agentgym.serve.runner import running_server, serve

BAD_PORTS = [-1, 65536, 80.0, "8000", True, None]


def _starts(index):
    return {
        "running_server": lambda port: running_server(RandomPolicy(), port=port).__enter__(),
        "running_env_server": lambda port: running_env_server(port=port).__enter__(),
        "serve_retriever": lambda port: serve_retriever(index, port=port),
        "serve": lambda port: serve(RandomPolicy(), port=port),
        "serve_env": lambda port: serve_env(port=port, tune_gc=False),
        "run_retrieval_server": lambda port: run_retrieval_server(index, port=port),
    }


def test_every_server_entry_point_refuses_a_port_it_cannot_listen_on(tmp_path):
    before = set(threading.enumerate())
    with BM25Index.build([Document("a", "A", "alpha")], tmp_path / "index") as index:
        for name, start in _starts(index).items():
            for port in BAD_PORTS:
                with pytest.raises(ValueError, match="port must be an integer from 0 to 65535") as caught:
                    start(port)
                assert repr(port) in str(caught.value), name
    # No server thread was started (threads of earlier tests in this process may end meanwhile).
    assert set(threading.enumerate()) - before == set()


def test_a_good_port_is_given_back_as_an_int():
    assert check_port(np.int64(8000)) == 8000 and type(check_port(np.int64(0))) is int
    assert check_port(65535) == 65535
