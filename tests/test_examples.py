"""Every script in examples/ runs."""

import re
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from PIL import Image

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))
#: Examples run (once) by a test of their own below, which checks what they print.
CHECKED_APART = {"remote_env.py", "ray_rollout.py", "web_agent.py", "gui_agent.py", "custom_web_env.py"}


def _orphaned_browsers() -> set[int]:
    """Pids of the live processes carrying agentgym's browser marker switch whose launching
    process (the pid the marker starts with) has exited: what a finished example left behind.
    Browsers of programs still running meanwhile (another test run) do not count."""
    from agentgym.browser.launch import MARKER_SWITCH

    found = set()
    for process in psutil.process_iter(["pid", "cmdline"]):
        for part in process.info["cmdline"] or ():
            if part.startswith(MARKER_SWITCH):
                launcher = part[len(MARKER_SWITCH):].split("-", 1)[0]
                if not (launcher.isdigit() and psutil.pid_exists(int(launcher))):
                    found.add(process.info["pid"])
    return found


def run_example(name: str, tmp_path: Path, timeout: float = 300) -> str:
    """Run ``examples/<name>`` in ``tmp_path`` and return what it printed; it must exit 0 and
    leave none of the browsers it launched running (a few seconds allowed for them to go)."""
    before = _orphaned_browsers()
    script = EXAMPLES[[p.name for p in EXAMPLES].index(name)]
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    deadline = time.monotonic() + 5
    while (left := _orphaned_browsers() - before) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"{name} left browser processes running: {sorted(left)}"
    return out.stdout


def test_there_are_examples():
    assert any(p.name == "custom_env.py" for p in EXAMPLES)


@pytest.mark.parametrize("script", [p for p in EXAMPLES if p.name not in CHECKED_APART], ids=lambda p: p.name)
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


def test_remote_env_example_plays_through_a_server_and_survives_its_shutdown(tmp_path):
    stdout = run_example("remote_env.py", tmp_path, timeout=120)
    assert "success=True" in stdout and "info['remote_error']='unreachable'" in stdout


def test_web_agent_example_plays_miniwob_and_the_shop_and_leaves_no_browser(tmp_path):
    stdout = run_example("web_agent.py", tmp_path)
    assert "a bad id is an error observation" in stdout and "success True" in stdout
    assert re.search(r"mouse_drag_and_drop\([\d, .]+\) -> reward 1\.0, success True", stdout)  # the drag
    assert " oracle: success 100% over 12 episodes" in stdout and "errors 0" in stdout
    assert "Chromium processes left running: 0" in stdout
    assert "bought the target: success True" in stdout
    with Image.open(tmp_path / "click-button.png") as screenshot:
        assert screenshot.size == (332, 214)  # MiniWoB's viewport, which holds the task's area


def test_gui_agent_example_grounds_navigates_and_scores_a_near_miss_by_each_reward(tmp_path):
    stdout = run_example("gui_agent.py", tmp_path)
    scores = dict(re.findall(r"reward=(\w+) +near miss scores ([\d.]+)", stdout))
    assert float(scores["click"]) == 0.0 and 0.0 < float(scores["gaussian"]) < 1.0 and float(scores["tiered"]) == 0.5
    assert "the oracle's click: reward 1.0, success True, the browser delivered it to the target: True" in stdout
    assert "judged on the app's state: success True" in stdout
    assert "  oracle: success 100% over 12 episodes, errors 0" in stdout
    with Image.open(tmp_path / "grounding.png") as screenshot:
        assert screenshot.size == (412, 915)  # the phone's screen


def test_custom_web_env_example_registers_a_browser_env_that_keeps_the_contract(tmp_path):
    stdout = run_example("custom_web_env.py", tmp_path)
    assert re.search(r'^\[\d+\] button "green"$', stdout, re.MULTILINE)  # the page's tree, with ids
    assert "oracle: reward 1.0, success True, picked 'green'" in stdout
    assert "check_llm_env: passed" in stdout
    assert "  oracle: success 100% over 10 episodes, errors 0" in stdout


def test_ray_rollout_example_gives_the_same_trajectories_on_ray_workers(tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed; pip install 'agentgym[ray]'")
    stdout = run_example("ray_rollout.py", tmp_path)
    assert "same trajectories on Ray as in threads: True" in stdout and "errors 0" in stdout


# ---------------------------------------------------------------- the quick-start training run
ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "examples" / "quickstart.toml"
QUICKSTART_ENV = ROOT / "examples" / "quickstart_env.py"


def test_quickstart_config_is_valid_and_evaluates_on_held_out_seeds():
    from agentgym.train import load_config

    config = load_config(QUICKSTART)  # checked as `agentgym train` checks it
    assert config.model.path == "smollm2-135m" and config.model.lora.enabled
    assert config.eval.every and config.eval.first_seed >= config.env.train_seeds[1]


def test_quickstart_trains_end_to_end_and_shows_progress_when_piped(tmp_path, capsys):
    """The quick-start command as a user runs it (in-process), with a tiny random model in place
    of SmolLM2 and two steps: it trains, evaluates before and after, prints progress lines while
    it does (standard output is not a terminal here, as when piped), and leaves metrics, a
    checkpoint and the final adapter."""
    import json

    from agentgym.cli import main
    from tests.rewards.tiny_lm import tiny_llama, tiny_tokenizer

    model_dir, run = tmp_path / "tiny-model", tmp_path / "run"
    tokenizer = tiny_tokenizer()
    tiny_llama(len(tokenizer), layers=1).save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    code = main(["train", "--config", str(QUICKSTART), "--import", str(QUICKSTART_ENV),
                 "--set", f'model.path="{model_dir.as_posix()}"', "--steps", "2", "--out", str(run)])
    out = capsys.readouterr()
    assert code == 0, (out.out + out.err)[-3000:]
    for line in ("eval before training: 32/32 episodes, success", "step 1/2 rollout: 24/24 episodes, success",
                 "step 2/2 rollout: 24/24 episodes, success", "eval after step 2: 32/32 episodes, success"):
        assert line in out.out, f"{line!r} missing from:\n{out.out[-3000:]}"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [0, 1, 2]
    assert records[0]["eval/episodes"] == records[-1]["eval/episodes"] == 32
    assert list((run / "checkpoints").iterdir()), "the end-of-run checkpoint is missing"
    assert (run / "final" / "adapter_config.json").is_file(), "the final LoRA adapter is missing"

    import agentgym
    from agentgym.testing import check_llm_env, oracle_agent, play_episode

    env = agentgym.make("quickstart/Addition-v0", digits=1)  # registered by --import above
    check_llm_env(env, hostile=30)
    assert all(play_episode(env, oracle_agent, seed=s)["success"] for s in range(10))
