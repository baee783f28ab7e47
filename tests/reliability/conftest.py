"""The reliability suite: probes of the whole stack that must keep holding.

Every probe here is bounded (a fixed number of episodes, requests or kills, each run under a
minute), talks only to loopback, and checks what a long training run cares about: nothing lost
(every trajectory and log line readable), nothing hung (bounded waits), nothing open (threads,
file descriptors and child processes counted before and after with psutil).

The ``resources`` fixture (``tests/conftest.py``, :class:`tests.resource_probe.ResourceProbe`)
snapshots the process; ``resources.assert_released()`` waits a little for stragglers to wind
down and fails naming what is still open.
"""

from __future__ import annotations


#: The id that stands for its class among the browser-played environments (below).
_REPRESENTATIVES = {"agentgym.envs.web.miniwob.env:MiniWoBEnv": "web/miniwob.click-button-v0"}


def shipped_env_ids() -> list[str]:
    """Every environment agentgym ships, for the contract probes -- but of the ones played in a
    browser (families ``web`` and ``gui``), one id per class: the 131 MiniWoB++ ids, for
    instance, are one class over different pages, each page is reset and played in
    ``tests/web_miniwob``, and probing every one with a browser here would take many minutes
    for no new code covered."""
    import agentgym

    shipped = [e for e in agentgym.list_envs() if str(e.entry_point).startswith("agentgym.envs.")]
    ids, seen = [], set()
    for info in sorted(shipped, key=lambda e: e.id):
        if info.family not in ("web", "gui"):
            ids.append(info.id)
            continue
        entry = str(info.entry_point)
        if entry in seen:
            continue
        seen.add(entry)
        ids.append(_REPRESENTATIVES.get(entry, info.id))
    return ids


def _played_in_a_browser(env_id: str) -> bool:
    return env_id.startswith(("web/", "gui/"))


def probe_budget(env_id: str, hostile: int) -> dict[str, int]:
    """``check_llm_env``'s budget for ``env_id``: ``hostile`` hostile actions (but see
    :func:`hostile_budget`), and seeds 0-4 each replayed twice for 60 steps to check
    determinism (the contract's defaults) -- but for an environment played in a browser, seeds
    0 and 1 for 12 steps. Its family's own tests (tests/browser, tests/web_*, tests/gui_envs)
    replay its episodes in full; here, where every shipped environment is probed locally and
    through the server, its first steps of two seeds are checked (each browser step costs tens
    of milliseconds against microseconds for a game: the determinism check alone took about 5 s
    of every browser environment's 8 s probe with five seeds)."""
    browser = _played_in_a_browser(env_id)
    return {"hostile": hostile_budget(env_id, hostile), "replay_steps": 12 if browser else 60,
            "replay_seeds": 2 if browser else 5}


def hostile_budget(env_id: str, usual: int) -> int:
    """How many hostile actions a probe sends to ``env_id``: for an environment played in a
    browser (each step a page action and a snapshot, tens of milliseconds against microseconds
    for a game), only the fixed nasties of :func:`agentgym.testing.hostile_actions` (each kind
    of hostile text once), not the random tail."""
    from agentgym.testing import _HOSTILE_FIXED

    return min(usual, len(_HOSTILE_FIXED)) if _played_in_a_browser(env_id) else usual
