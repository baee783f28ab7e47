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


#: The environments played in a browser whose contract is also probed through the server: one
#: of each kind of observation (a screenshot with its text, a page's tree, the shop's text).
_REMOTE_CONTRACT_BROWSER_IDS = ("gui/Grounding-v0", "web/miniwob.click-button-v0", "web/Shop-v0")


def remote_contract_ids() -> list[str]:
    """The ids whose contract ``test_remote_hostile`` probes through the server: every shipped
    environment of :func:`shipped_env_ids` -- but of those played in a browser, one of each
    kind of observation. The others (GUI action prediction and navigation, the shop in a
    browser) keep the contract locally (``test_bad_input``) and give through the server exactly
    what they give locally (the parity test, observations and info compared step by step):
    what the server carries is their text and images, which the representatives' probe covers;
    each full probe through the server took 12-18 s of a quiet CI run's 20 minutes."""
    return [env_id for env_id in shipped_env_ids()
            if not _played_in_a_browser(env_id) or env_id in _REMOTE_CONTRACT_BROWSER_IDS]


def _played_in_a_browser(env_id: str) -> bool:
    return env_id.startswith(("web/", "gui/"))


def probe_budget(env_id: str, hostile: int, *, remote: bool = False) -> dict[str, int]:
    """``check_llm_env``'s budget for ``env_id``: ``hostile`` hostile actions (but see
    :func:`hostile_budget`), and seeds 0-4 each replayed twice for 60 steps to check
    determinism (the contract's defaults) -- but for an environment played in a browser, seeds
    0 and 1 for 12 steps. Its family's own tests (tests/browser, tests/web_*, tests/gui_envs)
    replay its episodes in full; here, where every shipped environment is probed locally and
    through the server, its first steps of two seeds are checked (each browser step costs tens
    of milliseconds against microseconds for a game: the determinism check alone took about 5 s
    of every browser environment's 8 s probe with five seeds).

    ``remote``: the budget of the probe through the environment server, once the same
    environment has kept the contract locally (``test_bad_input``): for an environment played
    in a browser, 12 hostile actions (the fixed nasties that try the transport: see
    :func:`parity_budget`) and 6 steps of each seed, enough to show the seeds and the text
    travel; the browser itself was probed in full locally."""
    browser = _played_in_a_browser(env_id)
    if remote and browser:
        return {"hostile": min(hostile, 12), "replay_steps": 6, "replay_seeds": 2}
    return {"hostile": hostile_budget(env_id, hostile), "replay_steps": 12 if browser else 60,
            "replay_seeds": 2 if browser else 5}


def hostile_budget(env_id: str, usual: int) -> int:
    """How many hostile actions a probe sends to ``env_id``: for an environment played in a
    browser (each step a page action and a snapshot, tens of milliseconds against microseconds
    for a game), only the fixed nasties of :func:`agentgym.testing.hostile_actions` (each kind
    of hostile text once), not the random tail."""
    from agentgym.testing import _HOSTILE_FIXED

    return min(usual, len(_HOSTILE_FIXED)) if _played_in_a_browser(env_id) else usual


def parity_budget(env_id: str) -> tuple[int, int]:
    """How many hostile actions, and random moves a seed, ``test_remote_hostile`` sends to
    ``env_id`` locally and through the server to compare what each gives: 80 and 25; for an
    environment played in a browser, 12 and 8. What the server carries is text either way (the
    first 12 fixed nasties hold the empty, blank, NUL, control, lone-surrogate, right-to-left,
    emoji and 100,000-character actions); each of the browser environments' steps is a page action
    and a snapshot (a one-step episode a reset too), on both sides, so their full parity run took
    15-30 s each of the suite's 20 minutes, and their contract through the server (every fixed
    nasty) is checked apart."""
    return (12, 8) if _played_in_a_browser(env_id) else (80, 25)
