"""Exploratory round 12 of the search environments: Corpus-v0's retrieval server key."""

from __future__ import annotations

import json

import pytest

from agentgym.core import ConfigError
from agentgym.envs.search.corpus_env import API_KEY_ENV, corpus_search_env


@pytest.fixture
def question_file(tmp_path):
    path = tmp_path / "questions.jsonl"
    path.write_text(json.dumps({"question": "Where is the Bar?", "answer": "Paris"}) + "\n", encoding="utf-8")
    return str(path)


def test_a_server_key_with_a_line_break_is_a_config_error_that_hides_it(question_file, monkeypatch):
    # a key read from a file with Windows line ends was taken, and every search then failed with an
    # observation quoting the key ("Illegal header value b'Bearer k3y-value\r'")
    monkeypatch.setenv(API_KEY_ENV, "k3y-value\r")
    with pytest.raises(ConfigError, match=r"\$AGENTGYM_API_KEY: api_key holds a line break") as caught:
        corpus_search_env(tasks=question_file, retriever_url="http://127.0.0.1:9")
    assert "k3y-value" not in str(caught.value)
