"""Behaviour that a synchronous fast path of ``LLMEnv.step``/``reset`` must keep.

An environment without async hooks may be stepped without the generator program that drives
async ones; these tests pin that both ways give the same trajectories, hook calls, errors and
resource releases, so that an optimisation of one cannot drift from the other.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from gymnasium.error import ResetNeeded

import agentgym
from agentgym import ConfigError, Feedback, InvalidAction, LLMEnv
from agentgym.info import ErrorKind


class Recorder(LLMEnv):
    """Records every hook call. ``win`` wins, ``boom`` raises, ``bad`` is invalid, ``extra``
    returns extra info keys, ``odd`` an error with a custom kind; anything else goes on."""

    instructions = "Say win."
    example_actions = ("win", "wait")

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.calls: list[str] = []
        self.fail_new_episode = self.fail_release = False

    def acquire_resources(self) -> None:
        self.calls.append("acquire")

    def release_resources(self) -> None:
        self.calls.append("release")
        if self.fail_release:
            raise OSError("release failed")

    def new_episode(self, options):
        self.calls.append(f"new_episode {sorted(options)}")
        if self.fail_new_episode:
            raise RuntimeError("no task")
        return f"Say win ({self.rng.randint(0, 999)})."

    def play(self, action):
        self.calls.append(f"play {action}")
        if action == "boom":
            raise RuntimeError("the game died")
        if action == "bad":
            raise InvalidAction("say win")
        if action == "extra":
            return Feedback("extra", {"progress": 0.25, "bonus": 0.5}, info={"moves": 3})
        if action == "odd":
            return Feedback("odd", {}, error="odd move", error_kind=ErrorKind.FORMAT)
        won = action == "win"
        return Feedback("won" if won else "waiting", {"outcome": float(won)}, terminated=won, success=won)


class AsyncRecorder(Recorder):
    """The same environment with an async hook: it goes through the contract's program."""

    async def aplay(self, action):
        return self.play(action)


ACTIONS = ["wait", "bad", 7, None, "x" * 40, "extra", "odd", "", "wait", "win"]


def _without_class(reset: tuple) -> tuple:
    """The reset result with the class name taken off ``task_id`` (the twins' names differ)."""
    observation, info = reset
    return observation, {**info, "task_id": info["task_id"].split("-", 1)[1]}


def _trajectory(env: LLMEnv, actions) -> list:
    out = [_without_class(env.reset(seed=3, options={"k": 1}))]
    for action in actions:
        out.append(env.step(action))
    return out


async def _atrajectory(env: LLMEnv, actions) -> list:
    out = [_without_class(await env.areset(seed=3, options={"k": 1}))]
    for action in actions:
        out.append(await env.astep(action))
    return out


def test_the_async_hooked_twin_goes_the_program_way_and_the_plain_one_does_not():
    assert AsyncRecorder.has_async_hooks() and not Recorder.has_async_hooks()

    async def inside_a_loop():
        plain = Recorder()
        plain.reset(seed=0)
        assert plain.step("win")[2]  # no async hooks: the sync API works inside a loop
        hooked = AsyncRecorder()
        with pytest.raises(RuntimeError, match="astep"):
            hooked.step("win")

    asyncio.run(inside_a_loop())


def test_sync_and_async_paths_give_identical_trajectories_and_hook_calls():
    plain, hooked = Recorder(invalid_penalty=0.5, max_action_chars=30), AsyncRecorder(invalid_penalty=0.5,
                                                                                       max_action_chars=30)
    expected = _trajectory(plain, ACTIONS)
    assert _trajectory(hooked, ACTIONS) == expected
    assert hooked.calls == plain.calls
    assert asyncio.run(_atrajectory(AsyncRecorder(invalid_penalty=0.5, max_action_chars=30), ACTIONS)) == expected
    assert asyncio.run(_atrajectory(Recorder(invalid_penalty=0.5, max_action_chars=30), ACTIONS)) == expected
    # the details the fast path must keep
    _, reward, terminated, truncated, info = expected[2]  # "bad"
    assert (reward, terminated, truncated) == (-0.5, False, False)
    assert info == {"reward_components": {"invalid": -0.5}, "error": "say win", "success": False,
                    "error_kind": ErrorKind.INVALID_ACTION}
    assert expected[3][4]["error"] == "the action must be text, got int"
    assert expected[5][4]["error"] == "the action is 40 characters long; the limit is 30"
    assert expected[6][1:] == (0.75, False, False, {"reward_components": {"progress": 0.25, "bonus": 0.5},
                                                    "error": None, "success": False, "moves": 3})
    assert expected[7][4]["error_kind"] == ErrorKind.FORMAT
    assert expected[-1][1:4] == (1.0, True, False) and expected[-1][4]["success"] is True
    assert plain.calls[-1] == "release" and plain.calls.count("release") == 1
    assert asyncio.run(hooked.areset(seed=3))[1]["task_id"] == "AsyncRecorder-default-3-0"
    assert plain.reset(seed=3)[1]["task_id"] == "Recorder-default-3-0" and expected[0][1]["tools"] == []


@pytest.mark.parametrize("cls", [Recorder, AsyncRecorder])
def test_errors_and_releases_are_the_same_on_both_paths(cls):
    env = cls()
    with pytest.raises(ResetNeeded):
        env.step("wait")
    with pytest.raises(ConfigError, match="seed"):
        env.reset(seed=-1)
    with pytest.raises(ConfigError, match="options"):
        env.reset(options=[1])
    env.reset(seed=0)
    with pytest.raises(RuntimeError, match="the game died"):
        env.step("boom")
    with pytest.raises(ResetNeeded):
        env.step("wait")
    assert env.calls == ["acquire", "new_episode []", "play boom", "release"]
    env.fail_release = True
    env.reset(seed=0)
    with pytest.raises(RuntimeError, match="the game died") as raised:
        env.step("boom")
    assert any("release_resources raised too" in note for note in raised.value.__notes__)
    env.fail_release, env.fail_new_episode = False, True
    with pytest.raises(RuntimeError, match="no task"):
        env.reset(seed=0)
    assert env.calls[-3:] == ["acquire", "new_episode []", "release"]
    env.fail_new_episode = False
    env.reset(seed=0)
    env.reset(seed=0)  # abandons the first: released before the next acquire
    assert env.calls[-5:] == ["acquire", "new_episode []", "release", "acquire", "new_episode []"]
    env.close()
    env.close()
    assert env.calls[-1] == "release" and env.calls.count("release") == env.calls.count("acquire")


@pytest.mark.parametrize("cls", [Recorder, AsyncRecorder])
def test_close_from_another_thread_while_a_step_runs_releases_once_and_ends_the_episode(cls):
    entered, leave = threading.Event(), threading.Event()

    class Stuck(cls):
        def play(self, action):
            entered.set()
            leave.wait(10)
            return super().play(action)

    env = Stuck()
    env.reset(seed=0)
    results = []
    stepping = threading.Thread(target=lambda: results.append(env.step("wait")))
    stepping.start()
    assert entered.wait(10)
    env.close()
    assert env.calls.count("release") == 1
    leave.set()
    stepping.join(10)
    assert not stepping.is_alive() and env.calls.count("release") == 1
    assert results and results[0][0] == "waiting"
    with pytest.raises(ResetNeeded):
        env.step("wait")


@pytest.mark.parametrize("env_id,actions", [
    ("games/GuessTheNumber-v0", ["10", "５", "7.0", "7.5", "x", "", "-3", "99", "1" * 30, "guess 4", "15", "3"]),
    ("games/TowerOfHanoi-v0", ["move A C", "move a c", "A->C", "1 3", "move A A", "move B C", "C B", "x",
                               "move C A", "peg 1 to peg 2", "move A B", "move A C", "move B C"]),
    ("games/Mastermind-v0", ["1234", "1 2 3 4", "12", "1239", "x", "4321", "5612", "2134", "3456"]),
])
def test_games_give_the_same_steps_with_and_without_the_program(env_id, actions):
    """The bundled games stepped plainly and through an async-hooked twin (the program)."""
    plain = agentgym.make(env_id, max_turns=None, episode_statistics=False).unwrapped

    class Hooked(type(plain)):
        async def aplay(self, action):
            return self.play(action)

    hooked = Hooked(plain.difficulty)
    for seed in range(5):
        first = (plain.reset(seed=seed), [plain.step(a) if plain.episode_active else None for a in actions])
        second = (hooked.reset(seed=seed), [hooked.step(a) if hooked.episode_active else None for a in actions])
        assert first[1] == second[1]
        assert first[0][0] == second[0][0]


def _step_both(env_id: str, plain_text: str, searched_text: str, seed: int, options=None) -> tuple:
    """One step of ``plain_text`` and one of ``searched_text``, each on a fresh episode of ``seed``."""
    results = []
    for text in (plain_text, searched_text):
        env = agentgym.make(env_id, max_turns=None, episode_statistics=False).unwrapped
        env.reset(seed=seed, options=options)
        results.append((env.step(text), env.render_text()))
    return tuple(results)


@pytest.mark.parametrize("number", ["7", "５", "0", "21", "007", "1" * 30, "12", "1"])
def test_a_bare_number_is_the_same_guess_as_the_last_number_of_a_sentence(number):
    """GuessTheNumber reads a bare number without its search: same step as when searched."""
    for seed in range(3):
        bare, searched = _step_both("games/GuessTheNumber-v0", number, f"3.5 is silly, I say {number}", seed)
        assert bare == searched


def test_every_looked_up_move_spelling_is_the_move_the_search_finds():
    """TowerOfHanoi looks the usual spellings up before its search: same step as when searched."""
    from agentgym.envs.games.tower_of_hanoi import _SPELLED

    spellings = sorted(_SPELLED)
    assert {"move A C", "a->c", "1 3", "B to C", "A -> B"} <= set(spellings)
    for text in spellings:
        looked_up, searched = _step_both("games/TowerOfHanoi-v0", text, f"Next: {text}", 0, {"start": "ABA"})
        assert looked_up == searched, text


def test_guess_the_number_dense_progress_is_the_share_of_the_interval_ruled_out():
    """GuessTheNumber narrows its interval inline: a guess outside it rules nothing out."""
    env = agentgym.make("games/GuessTheNumber-v0", difficulty="easy", dense_reward=True, max_turns=None,
                        episode_statistics=False).unwrapped
    env.reset(seed=0)
    env.secret = 15
    steps = [(text, env.step(text)) for text in ("10", "18", "5", "19", "12")]
    assert [(text, obs.split(".")[0], reward) for text, (obs, reward, *_) in steps] == [
        ("10", "The secret number is higher than 10", 0.5),
        ("18", "The secret number is lower than 18", 0.30000000000000004),
        ("5", "The secret number is higher than 5", 0.0),
        ("19", "The secret number is lower than 19", 0.0),
        ("12", "The secret number is higher than 12", 0.2857142857142857),
    ]
    assert (env.low_bound, env.high_bound) == (13, 17)
