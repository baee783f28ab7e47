"""What a faster reset must keep: the same episodes for the same seeds, the same reset info.

The digests below were recorded from the code before the reset path was optimised (the
per-seed ``task_id`` prefix, Tower of Hanoi's cached starts): every first observation, reset
``info``, the state of ``env.rng`` after the reset (the RNG streams must not change), the
game's hidden state and the first oracle step, for seeds 0..200 and for 50 unseeded resets
after ``reset(seed=7)``. A change that draws one number more or less, or shares a cached
board between episodes, changes a digest.
"""

from __future__ import annotations

import hashlib

import pytest

import agentgym
from agentgym import ConfigError, Feedback, LLMEnv, Tool
from agentgym.tools import Toolset

EXPECTED = {
    ("games/GuessTheNumber-v0", "easy", None): "684216eb352a5f2e",
    ("games/GuessTheNumber-v0", "medium", None): "67323f4641ff96fa",
    ("games/GuessTheNumber-v0", "hard", None): "9ae45596b946b240",
    ("games/TowerOfHanoi-v0", "easy", None): "f922dec1e523a1ec",
    ("games/TowerOfHanoi-v0", "medium", None): "3269214dc3e83388",
    ("games/TowerOfHanoi-v0", "hard", None): "77a8b20dab014db4",
    ("games/TowerOfHanoi-v0", "easy", "AAA"): "8ca275896a5a1538",
    ("games/TowerOfHanoi-v0", "medium", "abca"): "f09ddea9f18f0e20",
}


def _digest(env_id: str, difficulty: str, start: str | None) -> str:
    options = None if start is None else {"start": start}
    env = agentgym.make(env_id, difficulty=difficulty, episode_statistics=False)
    game = env.unwrapped
    digest = hashlib.sha256()

    def record(observation, info) -> None:
        state = game.rng.getstate()[1]
        digest.update(repr((observation, sorted(info.items()), state[:5], state[-1], game.render_text(),
                            getattr(game, "secret", None), getattr(game, "position", None),
                            getattr(game, "_peg_lines", None))).encode())
        digest.update(repr(env.step(game.oracle_action())).encode())  # the board is the game's own

    try:
        for seed in range(201):
            record(*env.reset(seed=seed, options=options))
        record(*env.reset(seed=7, options=options))
        for _ in range(50):
            record(*env.reset(options=options))
    finally:
        env.close()
    return digest.hexdigest()[:16]


@pytest.mark.parametrize("case", list(EXPECTED), ids=lambda case: "-".join(map(str, case)))
def test_resets_give_the_episodes_they_gave_before(case) -> None:
    assert _digest(*case) == EXPECTED[case]


@pytest.mark.parametrize("start", ["AAAA", "CCC", "AXA", "", 7, "ＡＡＡ"])
def test_hanoi_refuses_a_bad_start_as_before(start) -> None:
    env = agentgym.make("games/TowerOfHanoi-v0", difficulty="easy", episode_statistics=False)
    with pytest.raises(ValueError) as raised:
        env.reset(seed=0, options={"start": start})
    assert str(raised.value) == ("options['start'] must name the peg (A, B or C) of each of the 3 disks, "
                                 f"smallest first, not all on C; got {str(start).upper()!r}")
    env.close()


def test_task_id_follows_the_seed_and_a_replaced_difficulty() -> None:
    env = agentgym.make("games/GuessTheNumber-v0", difficulty="easy", episode_statistics=False)
    assert env.reset(seed=3)[1]["task_id"] == "GuessTheNumber-easy-3-0"
    assert env.reset()[1]["task_id"] == "GuessTheNumber-easy-3-1"
    env.unwrapped.difficulty = "medium"
    assert env.reset()[1]["task_id"] == "GuessTheNumber-medium-3-2"
    assert env.reset(seed=4)[1]["task_id"] == "GuessTheNumber-medium-4-0"
    env.close()


# ``info["tools"]`` and the toolsets' opening skip ToolHost only when there is surely nothing:
# tools set by an episode, a tool listing of the class's own, an empty toolset list that is no
# tuple and a wrong ``toolsets`` still go through it, as before.
_PEEK = Tool("peek", "Look.", fn=lambda: "no")


class _Plain(LLMEnv):
    instructions = "Say anything."

    def new_episode(self, options):
        return "Go."

    def play(self, action):
        return Feedback("Done.", {"outcome": 1.0}, terminated=True, success=True)


class _ToolsPerEpisode(_Plain):
    def new_episode(self, options):
        self.tools = (_PEEK,) if options.get("peek") else ()
        return "Go."


class _OwnListing(_Plain):
    def all_tools(self):
        return (_PEEK,)


class _Opened(Toolset):
    opened = 0

    def open(self) -> None:
        _Opened.opened += 1


def test_tools_an_episode_sets_are_reported() -> None:
    env = _ToolsPerEpisode()
    assert env.reset(seed=0, options={"peek": True})[1]["tools"] == [_PEEK.schema()]
    assert env.reset()[1]["tools"] == []
    assert _Plain().reset(seed=0)[1]["tools"] == []
    assert _OwnListing().reset(seed=0)[1]["tools"] == [_PEEK.schema()]


def test_toolsets_are_still_opened_or_refused() -> None:
    env = _Plain()
    env.toolsets = [_Opened]  # a list, not the empty tuple: ToolHost makes and opens it
    env.reset(seed=0)
    assert _Opened.opened == 1
    env.close()
    env = _Plain()
    env.toolsets = ""
    with pytest.raises(ConfigError, match="toolsets must be a tuple"):
        env.reset(seed=0)
