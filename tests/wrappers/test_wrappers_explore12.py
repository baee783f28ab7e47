"""Wrappers, exploratory round 12: defects found by probing the wrappers' contracts."""

from __future__ import annotations

import pytest

from agentgym import Feedback, LLMEnv
from agentgym.wrappers import TrajectoryRecorder


class _Talk(LLMEnv):
    """An episode that never ends by itself."""

    instructions = "Say anything."

    def new_episode(self, options):
        return "start"

    def play(self, action):
        return Feedback(f"you said {action}", {}, terminated=False)


class _Held(_Talk):
    """... that holds a resource for each episode and counts its releases."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.released = 0

    def acquire_resources(self):
        pass

    def release_resources(self):
        self.released += 1


def test_a_recorder_whose_last_write_fails_still_closes_its_file_and_the_environment(resources):
    """close() stores the episode cut short; when that write failed (a full disk: /dev/full),
    close raised before closing the recorder's file or the environment: the file descriptor
    stayed open and the episode's resources were never released."""
    inner = _Held()
    env = TrajectoryRecorder(inner, "/dev/full")
    env.reset(seed=0)
    env.step("hello")
    with pytest.raises(OSError):
        env.close()
    assert env.writer.closed
    assert inner.released == 1 and not inner.episode_active
    resources.assert_released()
    env.close()  # closing again is quiet: the episode was already stored (or lost) once


def test_answer_format_refuses_a_step_once_the_episode_was_ended_from_outside():
    """Inside a TurnLimit (as make(wrappers=[AnswerFormat]) stacks it) a step after the
    truncating one, or after close(), was answered with a format error (a penalty, and a second
    truncation with turns_left -1) when the action had no move; a well-formed one raised
    ResetNeeded. Both now raise ResetNeeded, as ToolCalling does."""
    from gymnasium.error import ResetNeeded

    from agentgym.wrappers import AnswerFormat, TurnLimit

    env = TurnLimit(AnswerFormat(_Held()), 1)
    env.reset(seed=0)
    assert env.step("<answer>hi</answer>")[3]  # truncated
    for action in ("no move here", "<answer>hi</answer>"):
        with pytest.raises(ResetNeeded):
            env.step(action)
    env.reset(seed=1)
    assert env.step("no move here")[0].startswith("Format error")  # a new episode plays on
    env.close()

    env = AnswerFormat(_Held())
    env.reset(seed=0)
    env.close()
    with pytest.raises(ResetNeeded):
        env.step("no move here")


class _Painting(LLMEnv):
    """A multimodal environment ({"text", "image"} observations) with a tool."""

    instructions = "Name a colour."

    def __init__(self, **kwargs):
        import numpy as np

        from agentgym import Tool
        from agentgym.spaces import text_and_image_space

        super().__init__(**kwargs)
        self.observation_space = text_and_image_space(2, 2)
        self.tools = (Tool("shade", "The shade of the picture.", lambda: "dark"),)
        self.np = np

    def new_episode(self, options):
        self.turn = 0
        return {"text": "a picture", "image": self.np.full((2, 2, 3), 7, self.np.uint8)}

    def play(self, action):
        self.turn += 1
        return Feedback({"text": f"you said {action}", "image": self.np.full((2, 2, 3), 9, self.np.uint8)}, {},
                        terminated=False)


def _stepped_in_a_vector_env(wrapper, actions):
    """The text observations of one ``wrapper(_Painting())`` in a ThreadVectorEnv given
    ``actions``, one step each (the vector env batches observations with the Dict space)."""
    from agentgym.vector.thread_vector_env import ThreadVectorEnv

    vector = ThreadVectorEnv([lambda: wrapper(_Painting())])
    try:
        vector.reset(seed=0)
        return [str(vector.step([action])[0]["text"][0]) for action in actions]
    finally:
        vector.close()


def test_answer_format_answers_a_missing_move_in_a_multimodal_environment_with_its_last_image():
    """In a {"text", "image"} environment the format error was a bare string, outside the
    observation space: the agent lost the picture, and a vector env batching the observations
    failed ('string indices must be integers'). It is now the error text with the image shown
    last (a copy), as the environment's own invalid-action observation is."""
    from agentgym.wrappers import AnswerFormat

    env = AnswerFormat(_Painting())
    observation, _ = env.reset(seed=0)
    error = env.step("no move here")[0]
    assert error in env.observation_space
    assert error["text"] == env.format_error and (error["image"] == 7).all()
    error["image"][:] = 0  # the caller's own copy
    assert (observation["image"] == 7).all()
    env.step("<answer>red</answer>")
    assert (env.step("still no move")[0]["image"] == 9).all()  # the latest picture
    text_env = AnswerFormat(_Held())
    text_env.reset(seed=0)
    assert text_env.step("no move")[0] == text_env.format_error  # a text environment: text
    texts = _stepped_in_a_vector_env(AnswerFormat, ["no move", "<answer>red</answer>"])
    assert texts == [env.format_error, "you said red"]


def test_tool_calling_answers_tool_steps_in_a_multimodal_environment_with_its_last_image():
    """In a {"text", "image"} environment the tool responses and the malformed-markup error were
    bare strings outside the observation space (a vector env batching them failed); they are now
    that text with the image shown last."""
    from agentgym.wrappers import ToolCalling

    call = '<tool_call>{"name": "shade", "arguments": {}}</tool_call>'
    env = ToolCalling(_Painting())
    env.reset(seed=0)
    response = env.step(call)[0]
    assert response in env.observation_space
    assert response["text"] == "<tool_response>\ndark\n</tool_response>" and (response["image"] == 7).all()
    env.step("red")
    malformed = env.step("<tool_call>{not json</tool_call>")[0]
    assert malformed in env.observation_space
    assert malformed["text"].startswith("Tool call error") and (malformed["image"] == 9).all()
    assert _stepped_in_a_vector_env(ToolCalling, [call, "red"]) == ["<tool_response>\ndark\n</tool_response>",
                                                                      "you said red"]


def test_a_recorded_group_id_reads_back_from_the_file(tmp_path):
    """reset(options={"group_id": 3}) took the number as it was: the line written could not be
    read back (a trajectory's group_id is text), and the reader skipped the whole episode as a
    damaged line. An integer group is now stored as its text; anything else that is not text is
    refused at reset with a message that names it."""
    from agentgym.trajectory import read_trajectories

    env = TrajectoryRecorder(_Held(), tmp_path / "t.jsonl")
    env.reset(seed=0, options={"group_id": 3})
    env.step("hello")
    env.reset(seed=0, options={"group_id": "g"})
    env.step("hello")
    with pytest.raises(ValueError, match="group_id"):
        env.reset(seed=0, options={"group_id": [3]})
    env.close()
    assert [t.group_id for t in env.trajectories] == ["3", "g"]
    assert [t.group_id for t in read_trajectories(tmp_path / "t.jsonl")] == ["3", "g"]


def test_a_plain_gymnasium_environment_s_info_is_recorded_as_a_readable_trajectory(tmp_path):
    """Over a Gymnasium environment whose info holds a task_id or an error that is no text
    (7, True), the recorder wrote them as they were, and the reader skipped the whole episode as
    a damaged line; instructions of None were recorded as the text 'None'."""
    import gymnasium as gym

    from agentgym.spaces import UnicodeText
    from agentgym.trajectory import read_trajectories

    class Plain(gym.Env):
        observation_space = action_space = UnicodeText(100)

        def reset(self, *, seed=None, options=None):
            return "start", {"task_id": 7, "instructions": None}

        def step(self, action):
            return "go on", 1.0, action == "stop", False, {"error": True if action == "bad" else None}

    env = TrajectoryRecorder(Plain(), tmp_path / "t.jsonl")
    env.reset(seed=0)
    env.step("bad")
    env.step("stop")
    env.close()
    for trajectory in (env.trajectories[0], *read_trajectories(tmp_path / "t.jsonl")):
        assert (trajectory.task_id, trajectory.instructions) == ("7", "")
        assert [turn.error for turn in trajectory.turns] == ["True", None]
    assert len(read_trajectories(tmp_path / "t.jsonl")) == 1


@pytest.mark.parametrize("seed", ["7", True, 1.5, [7]])
def test_env_hints_refuses_a_seed_that_is_no_integer_when_built(seed):
    """EnvHints took any seed: "7" (a seed read from text) then failed every random_action hint
    of every turn, reported only in info['env_hints']['errors'] ('can only concatenate str (not
    "int") to str'), so a random baseline played without its moves. It is refused when built."""
    from agentgym.core import ConfigError
    from agentgym.wrappers import EnvHints

    with pytest.raises(ConfigError, match="EnvHints: seed must be an integer or None"):
        EnvHints(_Held(), hints=["random_action"], seed=seed)


def test_env_hints_takes_an_integer_seed_of_any_kind():
    import numpy as np

    from agentgym.wrappers import EnvHints

    class Random(_Held):
        def random_action(self, rng):
            return str(rng.randint(0, 10**6))

    seeded = [EnvHints(Random(), hints=["random_action"], seed=seed) for seed in (7, np.int64(7))]
    hints = [env.reset(seed=0)[1]["env_hints"] for env in seeded]
    assert hints[0] == hints[1] and "errors" not in hints[0]
    assert EnvHints(Random(), hints=["random_action"], seed=None).seed is None


def test_env_hints_names_a_hint_list_that_is_no_list_and_reads_an_iterator_once():
    """hints=None raised "'NoneType' object is not iterable" from inside the constructor, and
    hints given as an iterator were used up by the check of their names: no hint was computed."""
    from agentgym.wrappers import EnvHints

    with pytest.raises(ValueError, match="EnvHints: hints must be a list of hint names, got None"):
        EnvHints(_Held(), hints=None)
    assert EnvHints(_Held(), hints=iter(["random_action"])).hints == ("random_action",)


@pytest.mark.parametrize("flag", ["false", 0, None])
def test_chat_history_refuses_a_raw_assistant_that_is_no_flag(flag):
    """raw_assistant="false" (a flag written as text in a wrapper spec's data) was taken as
    true: tool steps then kept their markup and lost their tool_calls without a word."""
    from agentgym.core import ConfigError
    from agentgym.wrappers import ChatHistory

    with pytest.raises(ConfigError, match="ChatHistory: raw_assistant must be true or false"):
        ChatHistory(_Held(), raw_assistant=flag)


def test_the_recorder_refuses_an_fsync_that_is_no_flag_before_opening_its_file(tmp_path):
    """fsync="no" was taken as true (every trajectory then forced to disk)."""
    from agentgym.core import ConfigError

    with pytest.raises(ConfigError, match="TrajectoryRecorder: fsync must be true or false"):
        TrajectoryRecorder(_Held(), tmp_path / "t.jsonl", fsync="no")
    assert not (tmp_path / "t.jsonl").exists()


@pytest.mark.parametrize(("kwargs", "move"), [
    ({}, "<answer>red</answer>"),
    ({"format": "boxed"}, r"\boxed{red}"),
    ({"format": "regex", "pattern": r"MOVE: (\w+)", "instruction": "Write MOVE: <word>."}, "MOVE: red"),
])
def test_an_answer_format_stack_pickles_mid_episode_as_environments_do(kwargs, move):
    """Environments pickle with their episode in progress (LLMEnv's "Copies"), and so did every
    wrapper stack but one with AnswerFormat: "Can't pickle local object
    'AnswerFormat._format.<locals>.<lambda>'". The copy now plays on and reads the format."""
    import pickle

    from agentgym.wrappers import AnswerFormat

    env = AnswerFormat(_Talk(), **kwargs)
    env.reset(seed=0)
    copy = pickle.loads(pickle.dumps(env))
    assert copy.step(move)[0] == "you said red"
    assert copy.step("no move")[4]["format_ok"] is False


def test_the_environment_s_error_is_raised_even_when_recording_its_episode_fails():
    """A step whose environment raised stores the episode cut short and re-raises the error;
    when that write failed too (a full disk: /dev/full) the OSError was raised in its place, so
    the caller never saw why the environment failed. The environment's error is raised, with a
    note saying the episode could not be stored."""

    class Fragile(_Talk):
        def play(self, action):
            if action == "crash":
                raise RuntimeError("the environment broke")
            return super().play(action)

    env = TrajectoryRecorder(Fragile(), "/dev/full")
    env.reset(seed=0)
    env.step("fine")
    with pytest.raises(RuntimeError, match="the environment broke") as raised:
        env.step("crash")
    assert any("could not store" in note and "OSError" in note for note in raised.value.__notes__)
    assert len(env.trajectories) == 1  # kept in memory
    env.close()


@pytest.mark.parametrize("level", [True, 2.0])
def test_hinted_refuses_a_level_that_is_no_integer(level):
    """Hinted(level=True) was taken as level 1 (True == 1) and 2.0 as level 2, each recorded as
    given in info['hint']['level']; a level is one of the integers 1, 2, 3 (as TurnLimit
    refuses a bool for its count)."""
    from agentgym.wrappers import Hinted

    with pytest.raises(ValueError, match="Hinted: level must be one of"):
        Hinted(_Talk(), level=level)


def test_hinted_takes_a_numpy_level_as_its_integer():
    import numpy as np

    from agentgym.wrappers import Hinted

    env = Hinted(_Talk(), level=np.int64(1))
    assert type(env.reset(seed=0)[1]["hint"]["level"]) is int


def test_chat_history_names_a_token_counter_that_gives_no_count():
    """count_tokens=tokenizer.encode (the token list, not its length) failed at reset with
    "unsupported operand type(s) for +: 'int' and 'list'", and a count_tokens that is no
    function with "'int' object is not callable"; both now say what count_tokens must be."""
    from agentgym.core import ConfigError
    from agentgym.wrappers import ChatHistory

    with pytest.raises(ConfigError, match="ChatHistory: count_tokens must be a function"):
        ChatHistory(_Talk(), max_context_tokens=100, count_tokens=5)
    env = ChatHistory(_Talk(), max_context_tokens=100, count_tokens=str.split)
    with pytest.raises(TypeError, match=r"count_tokens must return a number of tokens, got list .*len\("):
        env.reset(seed=0)
    env = ChatHistory(_Talk(), max_context_tokens=100, count_tokens=lambda text: len(text.split()))
    assert env.reset(seed=0)[1]["context_overflow"] is False


def test_a_made_stack_is_recreated_from_its_spec_and_passes_check_env():
    """Gymnasium recreates a wrapped environment from env.spec (gymnasium.make(env.spec), and
    check_env does so): every agentgym wrapper failed it with "TurnLimit wrapper does not
    inherit from `gymnasium.utils.RecordConstructorArgs`, therefore, the wrapper cannot be
    recreated", so check_env(agentgym.make(id)) raised. The wrappers now record their
    arguments, and the spec makes the same stack."""
    import functools

    import gymnasium as gym
    from gymnasium.utils.env_checker import check_env

    import agentgym
    from agentgym.wrappers import AnswerFormat, ChatHistory, EnvHints, Hinted

    def stack(env):
        layers = []
        while isinstance(env, gym.Wrapper):
            layers.append((type(env).__name__, {k: v for k, v in vars(env).items()
                                                if k in ("max_turns", "level", "hints", "seed", "budget",
                                                         "system_prompt", "penalty", "instruction")}))
            env = env.env
        return layers

    env = ChatHistory(agentgym.make("games/GuessTheNumber-v0", max_turns=4, episode_statistics=True, wrappers=[
        functools.partial(AnswerFormat, format="boxed", penalty=0.5), functools.partial(Hinted, level=2),
        functools.partial(EnvHints, hints=["oracle_action"], seed=3)]), max_context_chars=5000, system_prompt=None)
    again = gym.make(env.spec)
    try:
        assert stack(again) == stack(env) and len(stack(env)) == 6
        assert again.reset(seed=5)[1]["messages"] == env.reset(seed=5)[1]["messages"]
        with pytest.warns(UserWarning, match="different from the unwrapped version"):
            check_env(env, skip_render_check=True)
    finally:
        again.close()
        env.close()
