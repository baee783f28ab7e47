"""Exploratory round 13 of tools/Python-v0 and the PythonSandbox toolset: defects found by probes."""

from __future__ import annotations

import pytest

from agentgym.envs.tools.python.env import PythonTasksEnv
from agentgym.envs.tools.python.tasks import normalize_answer


@pytest.mark.parametrize("kind, given, expected", [
    ("integer", "１２３", "123"), ("integer", "١٢٣", "123"), ("integer", "−42", "-42"), ("integer", "$−1,234$", "-1234"),
    ("integer", "１,２３４", "1234"), ("date", "２０２４-０２-２９", "2024-02-29"), ("integer", "12", "12"),
])
def test_an_integer_in_unicode_digits_or_with_a_unicode_minus_is_that_integer(kind, given, expected):
    # '１２３' (full-width digits) was taken as a well-formed integer, kept as written, and so
    # graded wrong against '123', while the date '２０２４-...' was read as 2024; '−42' (U+2212,
    # the minus of typeset maths) was "not an integer".
    assert normalize_answer(kind, given) == expected


def test_a_full_width_answer_is_graded_as_the_number_it_is(sandbox):
    env = PythonTasksEnv("easy", families="arithmetic", sandbox=sandbox)
    try:
        env.reset(seed=3)
        wide = env.task.answer.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"}).replace("-", "−")
        feedback = env.play(f"<answer>{wide}</answer>")
        assert (feedback.observation, feedback.rewards) == ("Correct.", {"outcome": 1.0}), wide
    finally:
        env.close()


def test_the_python_environment_copies_after_its_episode_has_ended(sandbox):
    # The ended episode's interpreter record (with its lock) stayed on the PythonSandbox, so
    # copy.deepcopy / pickle of the environment failed ("cannot pickle '_thread.lock' object")
    # after the first episode, where the contract refuses only an open toolset.
    import copy
    import pickle

    env = PythonTasksEnv("easy", families="arithmetic", sandbox=sandbox)
    try:
        env.reset(seed=3)
        assert env.step(f"<answer>{env.task.answer}</answer>")[2]
        assert env.python_sandbox.last_result is None  # no code ran: the copy starts no interpreter
        for twin in (copy.deepcopy(env), pickle.loads(pickle.dumps(env))):
            try:
                twin.reset(seed=4)
                assert twin.python_sandbox.calls == 0 and twin.python_sandbox.session is None
                assert twin.play(f"<answer>{twin.task.answer}</answer>").rewards == {"outcome": 1.0}
            finally:
                twin.close()
    finally:
        env.close()


def test_a_python_sandbox_is_not_copied_while_its_episode_is_open(sandbox):
    import copy

    from agentgym.tools import PythonSandbox

    toolset = PythonSandbox(sandbox=sandbox)
    toolset.open()  # lazy: no interpreter yet, but the episode is open
    try:
        with pytest.raises(TypeError, match="episode is open"):
            copy.deepcopy(toolset)
    finally:
        toolset.close()
    assert copy.deepcopy(toolset).calls == 0
