"""Exploratory tests: rollouts and evaluations that mix environment families (games, tools,
search, web) in one suite or one rollout."""

import pytest

import agentgym
from agentgym.core import ConfigError
from agentgym.suites import build_suite


def test_a_suite_refuses_two_entries_reported_under_one_label():
    # Results are reported per entry label: two entries labelled games/Wordle-v0 gave two
    # rows of the same name, each counting both entries' episodes (8 in rows, 4 overall).
    with pytest.raises(ConfigError, match=r"entries 1 and 3 are both games/Wordle-v0 "):
        build_suite("mixed-v0", [("games/Wordle-v0", [0, 1]), ("tools/SQL-v0", [0]), ("games/Wordle-v0", [2, 3])])
    with pytest.raises(ConfigError, match=r"games/Wordle-v0\[hard\]"):
        build_suite("mixed-v0", [("games/Wordle-v0", [0], {"difficulty": "hard"}),
                                 ("games/Wordle-v0", [1], {"difficulty": "hard"})])
    # the same environment with other arguments is another row
    suite = build_suite("mixed-v0", [("games/Wordle-v0", [0]), ("games/Wordle-v0", [0], {"difficulty": "hard"})])
    assert [entry.label for entry in suite.entries] == ["games/Wordle-v0", "games/Wordle-v0[hard]"]


def test_a_suite_entry_refuses_a_repeated_seed():
    # A seed is one task: listed twice, its episodes counted twice in the success rate while
    # pass@k saw one task.
    with pytest.raises(ConfigError, match=r"web/Shop-v0.*seed 3 .*more than once"):
        agentgym.register_suite("repeated-seed-v0", [("games/Wordle-v0", [0, 1]), ("web/Shop-v0", [3, 4, 3])])


def test_an_entry_with_a_tuple_argument_keeps_its_row_label(tmp_path):
    # The trajectory stores its kwargs as JSON (the tuple becomes a list) and the results are
    # grouped by the label read back from them: the row was "tools/Python-v0[['arithmetic',
    # 'strings']]", not the entry's "[('arithmetic', 'strings')]" of run.json, and came after
    # the suite's other entries.
    from agentgym.eval import evaluate

    suite = build_suite("tuple-argument-v0", [("tools/Python-v0", [0], {"families": ("arithmetic", "strings")}),
                                              ("games/GuessTheNumber-v0", [0])])
    evaluation = evaluate("oracle", suite, out_dir=tmp_path / "run", progress=False)
    assert [m.label for m in evaluation.results.environments] == [e.label for e in suite.entries]
    assert evaluation.results.overall.successes == 2


def test_an_asyncio_vector_env_of_several_families_is_built_and_closed_inside_a_running_loop():
    # Its primary API is `await astep` from the caller's loop, yet building it inside a coroutine
    # raised "use `await env.a__init__(...)`" (no such method), chained with the same for
    # close ("await env.aclose"); building and closing run in the slots' threads, not on a loop.
    import asyncio
    import functools
    import threading

    from agentgym.vector import AsyncioVectorEnv

    ids = ["games/Wordle-v0", "tools/SQL-v0", "web/Shop-v0"]
    threads_before = set(threading.enumerate())

    async def main():
        envs = AsyncioVectorEnv([functools.partial(agentgym.make, env_id) for env_id in ids], step_timeout=30)
        try:
            observations, _ = await envs.areset(seed=0)
            _, _, _, truncations, infos = await envs.astep(["CRANE", "<sql>SELECT 1</sql>", "search[red shoes]"])
        finally:
            envs.close()
        return observations, truncations, infos, envs

    observations, truncations, infos, envs = asyncio.run(main())
    assert "five-letter word" in observations[0] and "SQLite" in observations[1] and "Instruction" in observations[2]
    assert not truncations.any() and "env_failed" not in infos
    assert envs.closed
    assert not [t for t in set(threading.enumerate()) - threads_before if t.name.startswith("agentgym-vector-slot")]


def test_a_suite_argument_name_that_is_not_a_string_is_one_clear_error():
    # it reached the registry's name suggestions: TypeError: 'int' object is not iterable (difflib)
    from agentgym.suites import env_suite

    with pytest.raises(ConfigError, match=r"^env_suite: constructor argument names must be strings, got 3$"):
        env_suite(["tools/SQL-v0", "games/Wordle-v0"], [0], {"difficulty": "hard", 3: 4})
    with pytest.raises(ConfigError, match=r"suite 'keys-v0': games/Wordle-v0: constructor argument names must be"):
        agentgym.register_suite("keys-v0", [("tools/SQL-v0", [0]), ("games/Wordle-v0", [0], {(1, 2): 4})])


def test_a_handle_stepped_before_its_first_reset_says_so():
    # It failed as "step raised AttributeError: 'NoneType' object has no attribute 'step'" and
    # broke the handle.
    import asyncio
    import functools

    from agentgym.runtime.handle import EnvCallFailed
    from agentgym.runtime.local import LocalHandle

    async def main():
        handle = LocalHandle(functools.partial(agentgym.make, "games/Wordle-v0"), timeout=10)
        try:
            with pytest.raises(EnvCallFailed) as failed:
                await handle.step("CRANE")
            assert not handle.broken
            observation, _ = await handle.reset(seed=0)
            return failed.value.failure.error, observation
        finally:
            await handle.close()

    error, observation = asyncio.run(main())
    assert error == "step before reset: call reset() first (the environment is not built yet)"
    assert "five-letter word" in observation
