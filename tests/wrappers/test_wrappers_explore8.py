"""Exploratory tests, eighth round: the conversation wrappers."""

from __future__ import annotations

from agentgym.wrappers import ChatHistory, ToolCalling


def _native_call(call_id: str | None) -> dict:
    call = {"type": "function", "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'}}
    if call_id is not None:
        call["id"] = call_id
    return {"role": "assistant", "content": "Let me add.", "tool_calls": [call]}


def test_raw_assistant_keeps_the_tool_calls_of_a_message_action(calculator):
    """A native tool call (an OpenAI-style message, as a teacher-forced policy or a server's
    parsed reply gives) left no trace in raw_assistant mode: the assistant message kept only the
    content, and the tool message answered a call id no message made."""
    env = ChatHistory(ToolCalling(calculator), raw_assistant=True)
    env.reset(seed=0)
    action = _native_call("c1")
    messages = env.step(action)[4]["messages"]
    assert messages[-2] == {"role": "assistant", "content": "Let me add.", "tool_calls": action["tool_calls"]}
    assert messages[-1]["tool_call_id"] == "c1" and messages[-1]["content"] == "3"
    assert action == _native_call("c1")  # the policy's message is not changed


def test_raw_assistant_names_a_call_without_id_as_its_tool_message_does(calculator):
    env = ChatHistory(ToolCalling(calculator), raw_assistant=True)
    env.reset(seed=0)
    messages = env.step(_native_call(None))[4]["messages"]
    (call,) = messages[-2]["tool_calls"]
    assert call["id"] == messages[-1]["tool_call_id"]
    assert call["function"] == {"name": "add", "arguments": '{"a": 1, "b": 2}'}


def test_a_copy_of_a_recorder_writing_a_file_plays_on_and_records_its_own_branch(calculator, tmp_path):
    """copy.deepcopy of a recorder mid-episode (a lookahead search over the wrapped stack)
    failed with "cannot pickle '_thread.lock' object" when it wrote a file."""
    import copy

    from agentgym.trajectory import read_trajectories
    from agentgym.wrappers import TrajectoryRecorder

    path = tmp_path / "t.jsonl"
    env = TrajectoryRecorder(calculator, path)
    env.reset(seed=0)
    env.step("not a number")
    branch = copy.deepcopy(env)
    assert branch.writer is env.writer  # one file, not a copy of an open file
    branch.step("1")
    branch.close()  # the copy does not close the file it shares
    env.step("2")
    env.close()
    stored = list(read_trajectories(path))
    assert [[t.action for t in trajectory.turns] for trajectory in stored] == [["not a number", "1"],
                                                                              ["not a number", "2"]]
    assert [len(r.trajectories) for r in (env, branch)] == [1, 1]


class _SqlEnv:
    """An environment whose agent calls its one tool as <sql>...</sql>."""

    @staticmethod
    def make():
        from agentgym import Feedback, LLMEnv, Tool

        class SqlEnv(LLMEnv):
            instructions = "Query the table."
            tool_call_formats = ("sql",)

            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.tools = (Tool("sql", "Run a query.", lambda query: "rows: 1",
                                   {"type": "object", "properties": {"query": {"type": "string"}},
                                    "required": ["query"]}),)

            def new_episode(self, options):
                return "start"

            def play(self, action):
                return Feedback("done", {}, terminated=True)

        return SqlEnv()


def test_a_tool_step_in_another_format_keeps_only_the_prose_beside_its_tool_calls():
    """With a format other than Hermes (<sql>, <python>, fenced code) the assistant message kept
    the markup in its content besides the tool_calls made of it: the call was shown (and
    counted against the context budget) twice."""
    env = ChatHistory(ToolCalling(_SqlEnv.make()))
    env.reset(seed=0)
    messages = env.step("I will query. <sql>SELECT 1</sql>")[4]["messages"]
    assert messages[-2]["content"] == "I will query."
    assert messages[-2]["tool_calls"][0]["function"] == {"name": "sql", "arguments": '{"query": "SELECT 1"}'}
    assert messages[-1]["content"] == "rows: 1"


class _Canvas:
    """A multimodal environment that draws each turn into the one array it shows."""

    @staticmethod
    def make():
        import gymnasium as gym
        import numpy as np

        from agentgym.spaces import UnicodeText

        class Canvas(gym.Env):
            observation_space = gym.spaces.Dict({})
            action_space = UnicodeText(100)

            def reset(self, *, seed=None, options=None):
                self.canvas, self.turn = np.zeros((2, 2, 3), np.uint8), 0
                return {"text": "turn 0", "image": self.canvas}, {}

            def step(self, action):
                self.turn += 1
                self.canvas[:] = self.turn  # drawn on in place
                return {"text": f"turn {self.turn}", "image": self.canvas}, 0.0, self.turn == 2, False, {}

        return Canvas()


def test_the_recorder_keeps_the_image_each_turn_was_played_on(tmp_path):
    """The recorder kept only the text of a {"text", "image"} observation: a multimodal
    episode's trajectory (and its file) had no observation_image in any turn."""
    from agentgym.trajectory import read_trajectories
    from agentgym.wrappers import TrajectoryRecorder

    env = TrajectoryRecorder(_Canvas.make(), tmp_path / "t.jsonl")
    env.reset(seed=0)
    env.step("a")
    env.step("b")
    env.close()
    for trajectory in (env.trajectories[0], read_trajectories(tmp_path / "t.jsonl")[0]):
        assert [t.observation for t in trajectory.turns] == ["turn 0", "turn 1"]
        assert [int(t.observation_image.max()) for t in trajectory.turns] == [0, 1]


def _hinting(hint):
    from agentgym import Feedback, LLMEnv

    class Hinting(LLMEnv):
        instructions = "Say anything."

        def new_episode(self, options):
            return "start"

        def play(self, action):
            return Feedback("go on", {}, terminated=False)

        def hint(self, level=3):
            return hint

    return Hinting()


def test_a_blank_hint_is_no_hint():
    """A hint of only whitespace appended an empty "\\n\\nHint: " to every observation (and
    reported it as the hint), where the module promises nothing appended without a hint."""
    from agentgym.wrappers import Hinted

    for blank in ("", "   ", "\n\t"):
        env = Hinted(_hinting(blank))
        observation, info = env.reset(seed=0)
        assert observation == "start"
        assert info["hint"] == {"level": 3, "hint": None, "suffix": None}
        observation, *_, info = env.step("x")
        assert observation == "go on" and info["hint"]["suffix"] is None


def test_a_hint_that_is_not_text_is_reported_not_shown_as_python_repr():
    """hint() is text or None; a list, bytes or number was appended as its Python repr
    ("Hint: ['go', 'left']", "Hint: b'left'") and 0 was silently no hint."""
    from agentgym.wrappers import Hinted

    for hint, kind in ((["go", "left"], "list"), (b"left", "bytes"), (0, "int"), (7, "int")):
        env = Hinted(_hinting(hint))
        observation, info = env.reset(seed=0)
        assert observation == "start"
        assert info["hint"]["hint"] is None and info["hint"]["suffix"] is None
        assert f"not text (got {kind})" in info["hint"]["error"]


def test_a_keep_last_that_is_not_a_count_is_refused_with_a_message_that_names_it(calculator):
    """keep_last=None (read as 'keep all') or "3" failed with "'<' not supported between
    instances of 'NoneType' and 'int'"; 1.5 with "an integer is required"; True kept one."""
    import pytest

    from agentgym.core import ConfigError
    from agentgym.wrappers import TrajectoryRecorder

    for bad in (None, "3", 1.5, True, -1):
        with pytest.raises(ConfigError, match=r"TrajectoryRecorder: keep_last must be an integer >= 0, got"):
            TrajectoryRecorder(calculator, keep_last=bad)
    assert TrajectoryRecorder(calculator, keep_last=0).trajectories == []


def test_a_system_prompt_that_is_not_text_is_refused(calculator):
    """system_prompt=123 or a list became a system message with that content, which a chat
    template fails on (or renders as a Python repr) far from the mistake."""
    import pytest

    from agentgym.core import ConfigError

    for bad in (123, ["Be brief."], b"Be brief."):
        with pytest.raises(ConfigError, match=r"ChatHistory: system_prompt must be text or None, got"):
            ChatHistory(calculator, system_prompt=bad)


def test_wrappers_inside_the_turn_limit_see_the_episode_it_truncates(tmp_path):
    """make(wrappers=[EpisodeStatistics, TrajectoryRecorder]) (or a rollout configuration's
    wrappers) puts them inside the TurnLimit: an episode it truncated got no info["episode"],
    and its trajectory was stored only at the next reset, marked "reset() was called before the
    episode ended" (or never, without one)."""
    import functools

    import agentgym
    from agentgym.trajectory import read_trajectories
    from agentgym.wrappers import EpisodeStatistics, TrajectoryRecorder

    path = tmp_path / "t.jsonl"
    recorder = functools.partial(TrajectoryRecorder, output=path)
    env = agentgym.make("games/GuessTheNumber-v0", wrappers=[recorder, EpisodeStatistics], max_turns=2)
    env.reset(seed=0)
    env.step("garbage")
    *_, truncated, info = env.step("garbage")
    assert truncated and info["episode"]["turns"] == 2 and info["episode"]["invalid_actions"] == 2
    [trajectory] = read_trajectories(path)  # stored when the episode ended, not at the next reset
    assert trajectory.truncated and not trajectory.terminated and trajectory.error is None
    assert len(trajectory.turns) == 2
    env.close()
    assert len(read_trajectories(path)) == 1
