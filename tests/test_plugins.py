"""Third-party environment packages are discovered through the `agentgym.envs` entry points."""

import json
import subprocess
import sys
import textwrap


def _install_fake_distribution(site, name, entry_points, module_source):
    (site / f"{name}.py").write_text(textwrap.dedent(module_source))
    dist = site / f"{name}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[agentgym.envs]\n{entry_points}\n")


PLUGIN = """
import agentgym
from agentgym import Feedback, LLMEnv

class Ping(LLMEnv):
    def new_episode(self, options):
        return "ping?"
    def play(self, action):
        return Feedback("pong", {"outcome": 1.0}, terminated=True, success=True)

def register_envs():
    agentgym.register("plugin/Ping-v0", Ping, tags=("from-plugin",), description="ping pong")
"""

CHECK = """
import json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import agentgym
    ids = [e.id for e in agentgym.list_envs(family="plugin")]
    env = agentgym.make("plugin/Ping-v0")
    env.reset(seed=0)
    obs = env.step("hi")[0]
print(json.dumps({"ids": ids, "obs": obs, "warnings": [str(w.message) for w in caught]}))
"""


def test_entry_point_plugins_are_discovered_and_broken_ones_only_warn(tmp_path):
    _install_fake_distribution(tmp_path, "agentgym_ping", "ping = agentgym_ping:register_envs", PLUGIN)
    _install_fake_distribution(tmp_path, "agentgym_broken", "broken = agentgym_broken:nope", "x = 1\n")
    env = {"PYTHONPATH": str(tmp_path), "PATH": ""}
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["ids"] == ["plugin/Ping-v0"] and result["obs"] == "pong"
    assert any("'broken'" in w and "failed to load" in w for w in result["warnings"])


HIJACK = """
import agentgym
from agentgym import Feedback, LLMEnv

class Fake(LLMEnv):
    def new_episode(self, options):
        return "I am not Wordle"
    def play(self, action):
        return Feedback("won", {"outcome": 1.0}, terminated=True, success=True)

def register_envs():
    agentgym.register("games/Wordle-v0", Fake, description="hijacked")
"""

SUITE_PLUGIN = """
import agentgym

agentgym.register_suite("plugin-suite-v0", [("games/GuessTheNumber-v0", [0, 1])], "from a suite plugin")
"""

CHECK_HIJACK = """
import json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import agentgym
    agentgym.load_plugins()
    env = agentgym.make("games/Wordle-v0")
    suite = agentgym.get_suite("plugin-suite-v0")
print(json.dumps({"class": type(env.unwrapped).__name__,
                  "description": agentgym.env_info("games/Wordle-v0").description,
                  "suite": [suite.description, suite.num_tasks],
                  "warnings": [str(w.message) for w in caught]}))
"""


def test_a_plugin_cannot_hijack_a_builtin_id_and_suite_plugins_load(tmp_path):
    _install_fake_distribution(tmp_path, "agentgym_hijack", "hijack = agentgym_hijack:register_envs", HIJACK)
    _install_fake_distribution(tmp_path, "agentgym_suites_demo", "", "")
    entry_points = tmp_path / "agentgym_suites_demo-1.0.dist-info" / "entry_points.txt"
    entry_points.write_text("[agentgym.suites]\ndemo = agentgym_suites_demo\n")
    (tmp_path / "agentgym_suites_demo.py").write_text(textwrap.dedent(SUITE_PLUGIN))
    env = {"PYTHONPATH": str(tmp_path), "PATH": ""}
    out = subprocess.run([sys.executable, "-c", CHECK_HIJACK], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["class"] == "Wordle" and result["description"] != "hijacked"
    assert any("'hijack'" in w and "failed to load" in w and "already registered" in w and "override=True" in w
               for w in result["warnings"]), result["warnings"]
    assert result["suite"] == ["from a suite plugin", 2]


HALF_PLUGIN = """
import agentgym
from agentgym import Feedback, LLMEnv

class Half(LLMEnv):
    def new_episode(self, options):
        return "half"
    def play(self, action):
        return Feedback("done", {"outcome": 0.0}, terminated=True)

agentgym.register("halfplugin/Half-v0", Half)
agentgym.register_suite("halfplugin-suite-v0", [("halfplugin/Half-v0", [0])], "half a plugin")
raise RuntimeError("the plugin's bug, after two registrations")
"""


def test_a_plugin_that_fails_half_way_is_skipped_whole_and_unreadable_entry_points_only_warn(tmp_path, monkeypatch):
    import pytest
    from importlib import metadata

    import agentgym
    from agentgym import registry

    (tmp_path / "half_plugin_for_test.py").write_text(textwrap.dedent(HALF_PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    plugin = metadata.EntryPoint("half", "half_plugin_for_test", registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry.metadata, "entry_points", lambda group: [plugin] if group == plugin.group else [])
    before = len(agentgym.list_envs())
    with pytest.warns(UserWarning, match=r"plugin 'half' \(half_plugin_for_test\) failed to load and was skipped: "
                                         r"RuntimeError\(.the plugin's bug"):
        registry.load_plugins(reload=True)
    import gymnasium

    assert not registry.is_registered("halfplugin/Half-v0") and "halfplugin/Half-v0" not in gymnasium.registry
    assert "halfplugin-suite-v0" not in [suite.name for suite in agentgym.list_suites()]
    assert len(agentgym.list_envs()) == before

    def unreadable(group):
        raise TypeError("a malformed entry_points.txt somewhere in site-packages")
    monkeypatch.setattr(registry.metadata, "entry_points", unreadable)
    with pytest.warns(UserWarning, match="entry points cannot be read .*no plugin was loaded"):
        registry.load_plugins(reload=True)
