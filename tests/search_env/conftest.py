"""Fixtures of the search environment tests: a small generated world whose corpus and BM25 index
live in a temporary cache (never the user's) and environments made on it (the ``resources``
probe comes from ``tests/conftest.py``)."""

from __future__ import annotations

import pytest

import agentgym.envs.search  # noqa: F401  (registers search/* even where envs/__init__ does not import it)
from agentgym.envs.search.env import SearchEnv
from agentgym.envs.search.retrievers import close_shared

#: The test world: big enough for every question kind, small enough to index in a fraction of a second.
SIZE, WORLD_SEED = 1500, 2


@pytest.fixture(scope="session")
def search_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The session's search cache directory; the shared retrievers are closed at the end."""
    path = tmp_path_factory.mktemp("search-cache")
    yield str(path)
    close_shared()


@pytest.fixture(autouse=True)
def _no_user_cache(search_cache: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Environments made with the default cache directory build under the session's cache."""
    monkeypatch.setenv("AGENTGYM_CACHE", search_cache)


@pytest.fixture
def world_kwargs(search_cache: str) -> dict:
    """Constructor arguments that select the test world and cache."""
    return {"size": SIZE, "seed": WORLD_SEED, "cache_dir": search_cache}


@pytest.fixture
def make_env(world_kwargs: dict):
    """``make_env(**kwargs)``: a ``SearchEnv`` on the test world, closed after the test."""
    made: list[SearchEnv] = []

    def make(**kwargs) -> SearchEnv:
        env = SearchEnv(**{**world_kwargs, **kwargs})
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()

