"""Defects found by exploratory testing of the shop (round 15), each pinned by a test."""

from __future__ import annotations

import copy
import pickle
import random

import agentgym
import agentgym.envs.web.shop  # noqa: F401  (registers the environments)
from agentgym.envs.web.shop.site import ShopSession, load_shop


def _play_out(env) -> tuple[bool, float]:
    for _ in range(30):
        _, reward, terminated, truncated, info = env.step(env.unwrapped.oracle_action())
        if terminated or truncated:
            return info["success"], reward
    return False, 0.0


def test_a_text_episode_copies_and_pickles_midway():
    # copy.deepcopy and pickle (a lookahead search, rollouts branching from one state: LLMEnv's
    # "Copies") failed with "cannot pickle '_thread.RLock' object" (the session's lock) and
    # "Can't pickle <functools._lru_cache_wrapper ...>" (the shop's search cache)
    env = agentgym.make("web/Shop-v0", size=200)
    try:
        env.reset(seed=1)
        env.step("search[socks]")
        session = env.unwrapped.shop_session
        for clone in (copy.deepcopy(env), pickle.loads(pickle.dumps(env))):
            twin = clone.unwrapped.shop_session
            assert twin is not session and twin.view == session.view and twin.goal == session.goal
            assert clone.unwrapped.shop is env.unwrapped.shop  # the read-only catalogue is shared, not copied
            assert _play_out(clone) == (True, 1.0)
            assert session.kind == "results" and not session.done  # the original is untouched
        assert _play_out(env) == (True, 1.0)
    finally:
        env.close()


def test_a_copied_session_has_its_own_lock():
    shop = load_shop(200, 0)
    session = ShopSession(shop, shop.catalogue.draw_goal(random.Random(0), "easy"))
    twin = copy.deepcopy(session)
    assert twin.lock is not session.lock and twin.shop is shop
    with session.lock:  # the original's lock held elsewhere does not block the copy
        twin.search("socks")
    assert twin.kind == "results" and session.kind == "search"
