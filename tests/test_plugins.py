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
