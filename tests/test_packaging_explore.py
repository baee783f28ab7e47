"""Exploratory tests of packaging and plugins from a new user's side: plugins installed beside
agentgym, optional dependencies that are not installed."""

import json
import subprocess
import sys
import textwrap

from tests.test_plugins import _install_fake_distribution

SQL_PLUGIN = """
import agentgym
from agentgym import Feedback, LLMEnv

class Fake(LLMEnv):
    def new_episode(self, options):
        return "I am not the SQL task"
    def play(self, action):
        return Feedback("won", {"outcome": 1.0}, terminated=True, success=True)

def register_envs():
    agentgym.register("tools/SQL-v0", Fake, description="hijacked")
"""

SQL_SUITE_PLUGIN = """
import agentgym

agentgym.register_suite("plugin-sql-v0", [("tools/SQL-v0", [0, 1, 2])], "a suite of a built-in tools task")
"""

CHECK_LATE_FAMILY = """
import json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import agentgym
    info = agentgym.env_info("tools/SQL-v0")
    suite = agentgym.get_suite("plugin-sql-v0")
print(json.dumps({"entry_point": str(info.entry_point),
                  "description": info.description, "suite": suite.num_tasks,
                  "warnings": [str(w.message) for w in caught]}))
"""


def test_plugins_load_after_every_builtin_family_is_registered(tmp_path):
    """Plugins used to be imported while ``import agentgym`` registered the games (their suites
    look ids up), before the other built-in families: a plugin taking ``tools/SQL-v0`` made the
    tools family's own registration raise, so ``import agentgym`` itself failed, and a suite
    plugin naming a tools task was dropped as naming an unknown id."""
    _install_fake_distribution(tmp_path, "agentgym_sql", "sql = agentgym_sql:register_envs", SQL_PLUGIN)
    _install_fake_distribution(tmp_path, "agentgym_sql_suite", "", "")
    (tmp_path / "agentgym_sql_suite-1.0.dist-info" / "entry_points.txt").write_text(
        "[agentgym.suites]\nsqlsuite = agentgym_sql_suite\n")
    (tmp_path / "agentgym_sql_suite.py").write_text(textwrap.dedent(SQL_SUITE_PLUGIN))
    out = subprocess.run([sys.executable, "-c", CHECK_LATE_FAMILY], capture_output=True, text=True,
                         env={"PYTHONPATH": str(tmp_path), "PATH": ""}, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)
    assert result["description"] != "hijacked" and "agentgym_sql" not in result["entry_point"], result
    assert any("'sql'" in w and "already registered" in w for w in result["warnings"]), result["warnings"]
    assert result["suite"] == 3, result


MISSING_EXTRAS = """
import contextlib, io, json, sys
sys.modules["torch"] = None           # as if the hf extra were not installed
sys.modules["bm25s"] = None           # nor the search extra
from agentgym.cli import main

def run(argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except BaseException as exc:  # a traceback: record what escaped
            code = type(exc).__name__
    return [code, err.getvalue()]

print(json.dumps({
    "sft": run(["sft", "--env", "games/Wordle-v0", "--out", sys.argv[1]]),
    "search": run(["info", "search/MultiHop-v0"]),
}))
sys.modules["agentgym.train.sft"] = None   # one of agentgym's own modules missing is a bug
run_bug = run(["sft", "--env", "games/Wordle-v0", "--out", sys.argv[1]])
print(json.dumps(run_bug))
"""


def test_cli_names_the_extra_of_an_optional_dependency_that_is_not_installed(tmp_path):
    """Without torch, ``agentgym sft`` (and train, eval --policy smollm2-135m) ended in a
    ModuleNotFoundError traceback; without bm25s, ``agentgym info search/MultiHop-v0`` ended in
    a traceback of the library's own ImportError and its advice. Both are one line, exit 2."""
    out = subprocess.run([sys.executable, "-c", MISSING_EXTRAS, str(tmp_path / "out")], capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    first, bug = (json.loads(line) for line in out.stdout.strip().splitlines()[-2:])
    code, err = first["sft"]
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("agentgym sft: error: ") and "'torch'" in err and "pip install 'agentgym[hf]'" in err, err
    code, err = first["search"]
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("agentgym info: error: ") and "pip install 'agentgym[search]'" in err, err
    assert bug[0] == "ModuleNotFoundError", bug
    assert not (tmp_path / "out").exists()


UNAVAILABLE = """
import contextlib, io, json, sys
sys.modules["playwright"] = None      # the web extra not installed
from agentgym.cli import main

def run(argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except BaseException as exc:
            code = type(exc).__name__
    return [code, err.getvalue()]

print(json.dumps({"web": run(["info", "web/miniwob.click-button-v0"]), "sandbox": run(["info", "tools/Python-v0"])}))
"""


def test_cli_says_in_one_line_what_the_machine_lacks(tmp_path):
    """Without Playwright (the browser layer's BrowserUnavailable) or bubblewrap (the sandbox's
    SandboxUnavailable), ``agentgym info`` of a web or Python task ended in a traceback around
    a message that already says what to install; it is that one line, exit 2."""
    out = subprocess.run([sys.executable, "-c", UNAVAILABLE], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path, env={"PATH": str(tmp_path)})  # no bwrap on this PATH
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    code, err = result["web"]
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("agentgym info: error: ") and "pip install 'agentgym[web]'" in err, err
    code, err = result["sandbox"]
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("agentgym info: error: ") and "bubblewrap" in err, err


def test_cli_run_directory_on_a_read_only_file_system_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    """``agentgym eval --out DIR`` on a read-only mount (EROFS, a plain OSError) ended in a
    traceback, while the same folder without write permission (PermissionError) was one line."""
    import errno
    from pathlib import Path

    from agentgym.cli import main

    read_only = tmp_path / "ro"
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if self == read_only or read_only in self.parents:
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    code = main(["eval", "--suite", "quick-v1", "--policy", "random", "--tasks", "1", "--out", str(read_only / "run")])
    err = capsys.readouterr().err
    assert code == 2 and err == f"agentgym eval: error: {read_only / 'run'}: Read-only file system\n", err


def test_the_package_docstrings_quick_start_makes_a_valid_move():
    """``help(agentgym)``'s quick start stepped "50" in GuessTheNumber at easy, whose numbers run
    from 1 to 20: the first thing a new user saw was an invalid action."""
    import agentgym

    code = textwrap.dedent(agentgym.__doc__.split("::", 1)[1])
    namespace: dict = {}
    exec(compile(code, "agentgym.__doc__", "exec"), namespace)
    assert namespace["info"]["error"] is None, namespace["observation"]
    namespace["env"].close()
