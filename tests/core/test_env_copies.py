"""copy.deepcopy and pickle copy an environment mid-episode; what cannot travel is refused."""

import asyncio
import copy
import pickle

import pytest

import agentgym
from agentgym import Feedback, LLMEnv

MOVES = ["50", "25", "37", "31", "34"]


def play(env, moves):
    return [env.step(move)[:4] for move in moves]


@pytest.mark.parametrize("clone", [copy.deepcopy, lambda env: pickle.loads(pickle.dumps(env))],
                         ids=["deepcopy", "pickle"])
def test_a_copy_plays_on_from_the_same_point_independently(clone):
    env = agentgym.make("games/GuessTheNumber-v0")
    env.reset(seed=5)
    env.step("60")
    branch = clone(env)
    branch_results = play(branch, MOVES)
    assert play(env, MOVES) == branch_results  # the same state, and the branch did not move env
    env.close(), branch.close()


def test_the_original_is_untouched_by_its_copy_and_async_calls_work_on_both():
    env = agentgym.make("games/Wordle-v0")
    env.reset(seed=3)
    before = copy.deepcopy(env)
    branch = copy.deepcopy(env)
    play(branch, ["crane", "slate", "moist"])
    assert play(env, ["crane", "pious"]) == play(before, ["crane", "pious"])
    observation, _ = asyncio.run(branch.unwrapped.areset(seed=4))
    assert observation == asyncio.run(copy.deepcopy(env).unwrapped.areset(seed=4))[0]
    for e in (env, before, branch):
        e.close()


class Leased(LLMEnv):
    """Holds a lease for the episode: a resource a copy could not share."""

    instructions = "Say done."

    def acquire_resources(self):
        self.lease = "held"

    def release_resources(self):
        self.lease = None

    def new_episode(self, options):
        return "Go."

    def play(self, action):
        return Feedback("ok", {"outcome": 1.0}, terminated=action == "done")


def test_an_episode_holding_resources_is_refused_and_copied_once_it_ends():
    env = Leased()
    copy.deepcopy(env)  # before reset: nothing held
    env.reset(seed=0)
    with pytest.raises(TypeError, match="Leased cannot be copied or pickled while an episode holds its resources"):
        copy.deepcopy(env)
    with pytest.raises(TypeError, match="acquire_resources"):
        pickle.dumps(env)
    env.step("done")
    ended = copy.deepcopy(env)
    assert ended.reset(seed=1)[0] == "Go." and ended.lease == "held"
    ended.close(), env.close()


def test_an_open_toolset_is_refused():
    env = agentgym.make("dialogue/ClinicalInterviewTools-v0")
    copy.deepcopy(env)
    env.reset(seed=0)
    with pytest.raises(TypeError, match="while its toolsets are open"):
        copy.deepcopy(env)
    env.close()
