"""ProcessEnv's ``spawn`` child is a fresh interpreter that imports what the factory needs and not
the parent's ``__main__`` (agentgym/runtime/process_child.py); a factory from ``__main__`` still
goes through multiprocessing's spawn, and a child left running at exit is killed."""

from __future__ import annotations

import functools
import os
import pickle
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import psutil
import pytest

import agentgym
from agentgym.runtime import ProcessEnv

ROOT = Path(__file__).resolve().parents[2]


def _script(tmp_path: Path, body: str) -> Path:
    """``tmp_path/main.py``: counts its own imports in ``imports.txt``, then runs ``body`` as
    the ``__main__`` block (ProcessEnv and agentgym imported)."""
    script = tmp_path / "main.py"
    script.write_text(textwrap.dedent("""
        import functools, os, sys, time
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "imports.txt"), "a") as log:
            log.write(f"{__name__} {os.getpid()}\\n")
        import agentgym
        from agentgym.runtime import ProcessEnv
        import runtime_test_envs

        def make_here():
            return agentgym.make("games/GuessTheNumber-v0")

        if __name__ == "__main__":
    """) + textwrap.indent(textwrap.dedent(body), "    "))
    return script


def _run(script: Path) -> subprocess.CompletedProcess:
    path = [str(ROOT / "tests" / "runtime"), *sys.path]
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(path)})


def test_the_child_does_not_import_the_parents_main(tmp_path):
    """multiprocessing's spawn re-imported the script in every child (a training script's torch
    with it: 1.5 s and 170 MB more per environment)."""
    script = _script(tmp_path, """
        env = ProcessEnv(functools.partial(agentgym.make, "games/GuessTheNumber-v0")).start()
        observation, _ = env.reset(seed=0)
        print("pids", os.getpid(), env.pid, flush=True)
        env.close()
    """)
    done = _run(script)
    assert done.returncode == 0, done.stderr
    parent = done.stdout.split()[1]
    assert (tmp_path / "imports.txt").read_text().split() == ["__main__", parent]


def test_a_factory_from_main_still_works_through_multiprocessing_spawn(tmp_path):
    script = _script(tmp_path, """
        env = ProcessEnv(make_here).start()
        observation, _ = env.reset(seed=0)
        print("child", env.pid, flush=True)
        env.close()
    """)
    done = _run(script)
    assert done.returncode == 0, done.stderr
    child = done.stdout.split()[1]
    assert [line.split()[1] for line in (tmp_path / "imports.txt").read_text().splitlines()][1:] == [child]


def test_a_child_still_running_when_the_parent_exits_is_killed(tmp_path):
    """The environment hangs in a step while the parent's interpreter exits: its child goes too
    (as a multiprocessing daemon does), instead of sleeping on as an orphan."""
    script = _script(tmp_path, """
        import threading
        env = ProcessEnv(functools.partial(agentgym.make, "testing/Countdown-v0", hang_s=3600)).start()
        env.reset(seed=0)
        threading.Thread(target=env.step, args=("hang",), daemon=True).start()
        time.sleep(0.5)
        print("child", env.pid, flush=True)
    """)
    done = _run(script)
    assert done.returncode == 0, done.stderr
    child = int(done.stdout.split()[1])
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE


def test_a_factory_the_child_cannot_unpickle_is_a_construction_error():
    """A module the parent made at run time does not exist in the child: start() raises the
    child's ModuleNotFoundError, with its traceback as a note, and leaves no process."""
    module = types.ModuleType("made_at_run_time")
    exec("def make():\n    raise AssertionError('never called')\n", module.__dict__)
    module.make.__module__ = "made_at_run_time"
    sys.modules["made_at_run_time"] = module
    before = psutil.Process().children()
    try:
        env = ProcessEnv(module.make)
        with pytest.raises(ModuleNotFoundError, match="made_at_run_time") as raised:
            env.start()
        assert any("in the environment's process" in note for note in raised.value.__notes__)
        assert psutil.Process().children() == before  # reaped by start() itself: no zombie waits for close()
        env.close()
    finally:
        del sys.modules["made_at_run_time"]


def test_the_child_gets_the_parents_sys_path(tmp_path, monkeypatch):
    (tmp_path / "only_on_my_path.py").write_text(textwrap.dedent("""
        import agentgym
        def make():
            return agentgym.make("games/GuessTheNumber-v0")
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    import only_on_my_path

    env = ProcessEnv(only_on_my_path.make).start()
    try:
        observation, _ = env.reset(seed=0)
        assert isinstance(observation, str) and observation
    finally:
        env.close()


def test_an_unpicklable_factory_is_refused_in_the_parent_before_any_process_starts():
    before = psutil.Process().children()
    with pytest.raises((AttributeError, TypeError, pickle.PicklingError), match="local object"):
        ProcessEnv(lambda: agentgym.make("games/GuessTheNumber-v0")).start()
    assert psutil.Process().children() == before


@pytest.fixture
def registered_here():
    """Registers ids in this process for one test, then takes them out again."""
    import gymnasium

    from agentgym import registry

    ids = []

    def register(id, entry_point, **kwargs):
        agentgym.register(id, entry_point, **kwargs)
        ids.append(id)

    yield register
    for id in ids:
        registry._ENVS.pop(id, None)
        gymnasium.registry.pop(id, None)


def test_an_environment_registered_at_run_time_is_known_in_the_child(registered_here):
    """An id registered by a call at run time (not by importing a module) was unknown to a
    spawn child, which rebuilt the registry only by re-importing ``__main__``."""
    from runtime_test_envs import Countdown

    registered_here("testing/RegisteredAtRunTime-v0", Countdown, kwargs={"turns": 1}, max_turns=4)
    # Another registration that cannot travel (a lambda) must not send every child the slow way.
    registered_here("testing/MadeByALambda-v0", lambda **kwargs: Countdown(**kwargs))
    env = ProcessEnv(functools.partial(agentgym.make, "testing/RegisteredAtRunTime-v0")).start()
    try:
        observation, _ = env.reset(seed=0)
        assert observation.startswith("start in") and str(env.pid) in observation
        *_, terminated, truncated, info = env.step("anything")
        assert terminated and not truncated  # turns=1 from the registration's kwargs
    finally:
        env.close()


def test_a_registration_the_child_cannot_make_is_named_when_building_fails(registered_here):
    module = types.ModuleType("registered_from_nowhere")
    exec("class Nowhere:\n    pass\n", module.__dict__)
    module.Nowhere.__module__ = "registered_from_nowhere"
    sys.modules["registered_from_nowhere"] = module
    try:
        registered_here("testing/FromNowhere-v0", module.Nowhere)
        env = ProcessEnv(functools.partial(agentgym.make, "testing/FromNowhere-v0"))
        with pytest.raises(KeyError, match="no environment registered as 'testing/FromNowhere-v0'") as raised:
            env.start()
        assert any("registration could not be made in the environment's process: ModuleNotFoundError: "
                   "No module named 'registered_from_nowhere'" in note for note in raised.value.__notes__)
        env.close()
    finally:
        del sys.modules["registered_from_nowhere"]


def test_an_environment_from_an_imported_file_plays_in_process_isolation(tmp_path, capsys):
    """``agentgym --import path/to/my_envs.py eval --env-runtime process``: the child could not
    import ``my_envs`` (its folder was on no path), so every episode failed."""
    import json

    import gymnasium

    from agentgym import registry
    from agentgym.cli import main

    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "file_imported_envs.py").write_text(textwrap.dedent("""
        import agentgym
        from agentgym import Feedback, LLMEnv

        class Echo(LLMEnv):
            instructions = "Say anything."
            example_actions = ("hi",)

            def new_episode(self, options):
                return "go"

            def play(self, action):
                return Feedback("done", {"outcome": 1.0}, terminated=True, success=True)

        agentgym.register("fileimported/Echo-v0", Echo, max_turns=2)
    """))
    path = list(sys.path)
    try:
        code = main(["--import", str(folder / "file_imported_envs.py"), "eval", "--policy", "random",
                     "--env", "fileimported/Echo-v0", "--tasks", "2", "--env-runtime", "process",
                     "--out", str(tmp_path / "run"), "--no-progress"])
        assert code == 0, capsys.readouterr().err
        results = json.loads((tmp_path / "run" / "results.json").read_text())
        assert "0 errors" in capsys.readouterr().out and json.dumps(results).count("ModuleNotFoundError") == 0
    finally:
        sys.path[:] = path
        sys.modules.pop("file_imported_envs", None)
        registry._ENVS.pop("fileimported/Echo-v0", None)
        gymnasium.registry.pop("fileimported/Echo-v0", None)
