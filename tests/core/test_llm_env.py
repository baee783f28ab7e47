"""The LLMEnv contract, on a tiny environment defined here."""

import pytest
from gymnasium.error import ResetNeeded
from gymnasium.utils.env_checker import check_env

from agentgym import ErrorKind, Feedback, InvalidAction, LLMEnv, ResetInfo, StepInfo, Tool
from agentgym.testing import check_hostile_actions, check_seed_determinism


class Pick(LLMEnv):
    """Pick the hidden letter among three."""

    difficulties = ("easy", "hard")
    instructions = "Reply with a, b or c."
    tools = (Tool("peek", "Not allowed, but listed.", fn=lambda: "no"),)

    def new_episode(self, options):
        self.secret = self.rng.choice("abc")
        self.moves = 0
        return f"Pick a letter ({options.get('note', 'no note')})."

    def play(self, action):
        letter = action.strip().lower()
        if letter not in ("a", "b", "c"):
            raise InvalidAction("reply with a, b or c.")
        self.moves += 1
        won = letter == self.secret
        return Feedback("yes" if won else "no", {"outcome": float(won), "progress": 0.25},
                        terminated=won or self.moves == 3, success=won, info={"moves": self.moves})

    @property
    def reference_answer(self):
        return self.secret

    def random_action(self, rng):
        return rng.choice("abc")


# Gymnasium's checker can only try other render modes on an environment made by gymnasium.make.
@pytest.mark.filterwarnings("ignore:.*Not able to test alternative render modes")
def test_check_env_and_agentgym_checks_pass():
    check_env(Pick())
    check_hostile_actions(Pick(), n=100)
    check_seed_determinism(Pick())


def test_check_llm_env_replays_the_seeds_it_is_given(monkeypatch):
    import agentgym.testing as testing

    replayed = []
    real = testing.check_seed_determinism
    monkeypatch.setattr(testing, "check_seed_determinism",
                        lambda env, seeds, **kw: (replayed.append((seeds, kw)), real(env, seeds, **kw)))
    testing.check_llm_env(Pick(), hostile=5, replay_steps=3, replay_seeds=2)
    testing.check_llm_env(Pick(), hostile=5)
    assert replayed == [((0, 1), {"max_steps": 3}), ((0, 1, 2, 3, 4), {"max_steps": 60})]
    with pytest.raises(ValueError, match="replay_seeds must be at least 2"):
        testing.check_llm_env(Pick(), replay_seeds=1)


def test_reset_info_contract():
    obs, info = Pick().reset(seed=5, options={"note": "hi"})
    assert obs == "Pick a letter (hi)."
    assert info["instructions"] == "Reply with a, b or c."
    assert info["task_id"] == "Pick-easy-5-0"
    assert info["tools"] == [{"type": "function", "function": {
        "name": "peek", "description": "Not allowed, but listed.",
        "parameters": {"type": "object", "properties": {}, "required": []}}}]


def test_task_ids_follow_seed_and_episode():
    env = Pick()
    ids = [env.reset(seed=1)[1]["task_id"], env.reset()[1]["task_id"], env.reset(seed=1)[1]["task_id"]]
    assert ids == ["Pick-easy-1-0", "Pick-easy-1-1", "Pick-easy-1-0"]


def test_step_reward_is_sum_of_components_and_info_is_merged():
    env = Pick()
    env.reset(seed=0)
    env.secret = "a"
    obs, reward, terminated, truncated, info = env.step(" A ")
    assert (obs, reward, terminated, truncated) == ("yes", 1.25, True, False)
    assert info == {"reward_components": {"outcome": 1.0, "progress": 0.25}, "error": None,
                    "success": True, "moves": 1}


@pytest.mark.parametrize("action", ["zzz", 42, None, ["a"], "a" * 20_001])
def test_bad_actions_become_error_observations(action):
    env = Pick(invalid_penalty=0.5)
    env.reset(seed=0)
    before = env.moves
    obs, reward, terminated, truncated, info = env.step(action)
    assert obs.startswith("Invalid action:")
    assert info["error"] and info["reward_components"] == {"invalid": -0.5} and reward == -0.5
    assert info["error_kind"] is ErrorKind.INVALID_ACTION and info["error_kind"] == "invalid"
    assert not terminated and not truncated and env.moves == before


def test_step_before_reset_and_after_end_raise_reset_needed():
    env = Pick()
    with pytest.raises(ResetNeeded):
        env.step("a")
    env.reset(seed=0)
    env.secret = "b"
    env.step("b")
    with pytest.raises(ResetNeeded):
        env.step("b")


def test_seeds_are_local_and_do_not_touch_global_generators():
    import random

    import numpy as np

    random.seed(123)
    np.random.seed(123)
    state, np_state = random.getstate(), np.random.get_state()[1].copy()
    env = Pick()
    secrets = []
    for seed in range(40):
        env.reset(seed=seed)
        secrets.append(env.secret)
    assert random.getstate() == state and (np.random.get_state()[1] == np_state).all()
    assert set(secrets) == {"a", "b", "c"}, "different seeds should give different episodes"

    def episode_secrets(env):
        env.reset(seed=9)
        drawn = [env.secret]
        for _ in range(4):
            env.reset()
            drawn.append(env.secret)
        return drawn

    assert episode_secrets(Pick()) == episode_secrets(Pick())


def test_unknown_difficulty_and_render_mode_are_clear_errors():
    with pytest.raises(ValueError, match="unknown difficulty 'medium'.*easy, hard"):
        Pick("medium")
    with pytest.raises(ValueError, match="render_mode"):
        Pick(render_mode="human")


def test_render_ansi_shows_the_last_observation():
    env = Pick(render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == "Pick a letter (no note)."
    assert Pick().render() is None


def test_async_api_matches_sync():
    import asyncio

    async def play():
        env = Pick()
        obs, info = await env.areset(seed=4)
        return obs, await env.astep(env.secret)

    obs, (obs2, reward, terminated, _, info) = asyncio.run(play())
    assert obs == "Pick a letter (no note)." and reward == 1.25 and terminated and info["success"]


def test_multimodal_invalid_action_keeps_the_image():
    import numpy as np

    from agentgym.spaces import text_and_image_space

    class Screen(LLMEnv):
        observation_space = text_and_image_space(2, 2)

        def new_episode(self, options):
            return {"text": "a screen", "image": np.full((2, 2, 3), 7, dtype=np.uint8)}

        def play(self, action):
            raise InvalidAction("click somewhere")

    env = Screen()
    env.reset(seed=0)
    observation = env.step("??")[0]
    assert observation["text"] == "Invalid action: click somewhere"
    assert observation in env.observation_space and observation["image"][0, 0, 0] == 7


# ------------------------------------------------------------------ argument checks
from agentgym.core import ConfigError  # noqa: E402
from agentgym.envs.games import GAME_IDS  # noqa: E402


@pytest.mark.parametrize("env_id", GAME_IDS)
@pytest.mark.parametrize("argument, value", [
    ("dense_reward", "yes"), ("dense_reward", 1), ("dense_reward", None),
    ("invalid_penalty", "abc"), ("invalid_penalty", True), ("invalid_penalty", float("nan")),
    ("difficulty", 3), ("difficulty", "impossible"), ("max_action_chars", 0), ("max_action_chars", "10"),
])
def test_every_game_refuses_wrong_constructor_arguments_by_name(env_id, argument, value):
    import agentgym

    with pytest.raises(ConfigError, match=argument):
        agentgym.make(env_id, **{argument: value})


@pytest.mark.parametrize("kwargs, message", [
    ({"opponent_strength": "strong"}, "opponent_strength must be a finite number"),
    ({"opponent_strength": 1.5}, r"opponent_strength must be in \[0, 1\]"),
    ({"agent_first": "no"}, "agent_first must be true or false"),
])
@pytest.mark.parametrize("env_id", ["games/TicTacToe-v0", "games/ConnectFour-v0"])
def test_two_player_games_check_their_own_arguments(env_id, kwargs, message):
    import agentgym

    with pytest.raises(ConfigError, match=message):
        agentgym.make(env_id, **kwargs)


def test_correct_arguments_are_kept():
    env = Pick("hard", dense_reward=True, invalid_penalty=1, max_action_chars=50)
    assert (env.dense_reward, env.invalid_penalty, env.max_action_chars) == (True, 1.0, 50)


@pytest.mark.parametrize("kwargs, message", [
    ({"options": "x"}, "options must be a dict or None, got 'x'"),
    ({"options": ["note"]}, "options must be a dict"),
    ({"seed": -1}, "seed must be at least 0"),
    ({"seed": 1.5}, "seed must be an integer"),
    ({"seed": True}, "seed must be an integer"),
])
def test_reset_refuses_wrong_seeds_and_options(kwargs, message):
    env = Pick()
    with pytest.raises(ConfigError, match=message):
        env.reset(**kwargs)
    assert env.reset(seed=0, options={"note": "ok"})[0] == "Pick a letter (ok)."


def test_a_numpy_integer_seed_is_a_seed():
    """``reset(seed=np.int64(3))`` passed the integer check, then Gymnasium refused it ("Seed must
    be a python integer"); seeds drawn with NumPy (np.arange, rng.integers) are common."""
    import numpy as np

    env = Pick()
    assert env.reset(seed=np.int64(3)) == env.reset(seed=3)


def test_default_random_action_uses_example_actions_or_says_what_to_write():
    import random

    class Parity(LLMEnv):
        example_actions = ("even", "odd")

    class Silent(LLMEnv):
        pass

    rng = random.Random(0)
    assert {Parity().random_action(rng) for _ in range(50)} == {"even", "odd"}
    with pytest.raises(NotImplementedError, match="Silent has no random_action: declare example_actions"):
        Silent().random_action(rng)


def test_the_random_policy_reports_a_missing_random_action_per_episode():
    import agentgym
    from agentgym.policies.random import RandomPolicy
    from agentgym.rollout import RolloutConfig, Task, rollout

    class Mute(LLMEnv):
        def new_episode(self, options):
            return "say something"

        def play(self, action):
            return Feedback("ok", {"outcome": 1.0}, terminated=True, success=True)

    agentgym.register("testing/MuteNoRandom-v0", Mute, max_turns=2)
    result = rollout(RandomPolicy(0), [Task("testing/MuteNoRandom-v0", seed=s) for s in range(2)],
                     RolloutConfig(max_turns=2), progress=False)
    trajectories = result.trajectories
    assert len(trajectories) == 2
    for trajectory in trajectories:
        assert "Mute has no random_action" in trajectory.error
        assert not trajectory.success


def test_check_llm_env_runs_on_an_environment_without_random_actions():
    """The seed-determinism check needs an agent; an environment that declares no random action
    is played with seeded arbitrary text instead of failing the check."""
    from agentgym.testing import check_llm_env

    class NoRandom(Pick):
        random_action = LLMEnv.random_action  # the default: no example_actions, so it raises

    check_llm_env(NoRandom())


def test_info_keys_are_the_typed_core_and_error_kinds_are_data():
    import json

    env = Pick()
    _, info = env.reset(seed=0)
    assert set(info) == set(ResetInfo.__annotations__)
    env.secret = "a"
    _, _, _, _, info = env.step("b")
    assert "error_kind" not in info, "error_kind is present exactly when error is"
    assert set(StepInfo.__required_keys__) <= set(info)
    _, _, _, _, info = env.step("z")
    assert json.loads(json.dumps(info))["error_kind"] == "invalid"
    assert str(ErrorKind.TIMEOUT) == "timeout" and ErrorKind("policy") is ErrorKind.POLICY_ERROR

    class Tooly(Pick):
        def play(self, action):
            if action == "call":
                return Feedback("the tool failed", error="tool broke", error_kind=ErrorKind.TOOL)
            if action == "plain":
                return Feedback("refused", error="not now")
            return super().play(action)

    env = Tooly()
    env.reset(seed=0)
    assert env.step("call")[4]["error_kind"] is ErrorKind.TOOL
    assert env.step("plain")[4]["error_kind"] is ErrorKind.INVALID_ACTION


def test_async_api_of_a_sync_environment_keeps_the_contract_and_resources():
    import asyncio

    class Held(Pick):
        acquired = released = 0

        def acquire_resources(self):
            self.acquired += 1

        def release_resources(self):
            self.released += 1

    env = Held()

    async def play():
        await env.areset(seed=4)
        await env.areset(seed=4)  # abandons the first episode
        result = await env.astep(env.secret)
        await env.aclose()
        return result

    assert asyncio.run(play())[4]["success"] and (env.acquired, env.released) == (2, 2)
