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
import json, sys, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import agentgym
    imported = sorted(m for m in ("agentgym_sql", "agentgym_sql_suite") if m in sys.modules)
    info = agentgym.env_info("tools/SQL-v0")
    suite = agentgym.get_suite("plugin-sql-v0")
print(json.dumps({"imported_with_agentgym": imported, "entry_point": str(info.entry_point),
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
    assert result["imported_with_agentgym"] == [], "plugins are loaded on first use, not by import agentgym"
    assert result["description"] != "hijacked" and "agentgym_sql" not in result["entry_point"], result
    assert any("'sql'" in w and "already registered" in w for w in result["warnings"]), result["warnings"]
    assert result["suite"] == 3, result
