"""Every script in examples/ runs."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


def test_there_are_examples():
    assert any(p.name == "custom_env.py" for p in EXAMPLES)


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path):
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip(), "an example should show what it did"


def test_custom_env_example_registers_a_working_environment():
    import runpy

    namespace = runpy.run_path(str(EXAMPLES[[p.name for p in EXAMPLES].index("custom_env.py")]))
    import agentgym
    from agentgym.testing import check_llm_env, oracle_agent, play_episode

    env = agentgym.make("mine/Parity-v0")
    check_llm_env(env, hostile=50)
    assert all(play_episode(env, oracle_agent, seed=s)["success"] for s in range(10))
    assert namespace["Parity"].__doc__
