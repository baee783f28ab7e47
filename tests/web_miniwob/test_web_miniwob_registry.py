"""MiniWoB++ registration without a browser: one environment per page of the wheel, tags, turn
budgets, suites, lazy imports, and the constructor's argument checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import agentgym
from agentgym.core import ConfigError
from agentgym.envs.web.miniwob import MAX_TURNS, MINIWOB_ENV_IDS
from agentgym.envs.web.miniwob.env import MiniWoBEnv
from agentgym.envs.web.miniwob.oracles import ORACLE_TASKS
from agentgym.envs.web.miniwob.server import html_root
from agentgym.envs.web.miniwob.tasks import TASKS, included_tasks, task, wheel_task_names
from agentgym.registry import env_info, list_envs
from agentgym.suites import get_suite

ROOT = Path(__file__).resolve().parents[2]


def test_every_page_of_the_wheel_is_a_registered_task():
    pages = sorted(path.stem for path in (html_root() / "miniwob").glob("*.html"))
    assert len(pages) >= 120
    assert list(wheel_task_names()) == pages
    assert set(pages) <= set(TASKS), "a page of the wheel is not rated in tasks.py"
    registered = {info.id for info in list_envs(family="web", tags=["miniwob"])}
    assert {f"web/miniwob.{name}-v0" for name in pages} <= registered
    assert set(MINIWOB_ENV_IDS) == {f"web/miniwob.{name}-v0" for name in set(pages) | set(TASKS)}


@pytest.mark.parametrize("name", ["click-button", "book-flight", "drag-box", "drag-cube", "use-spinner", "enter-text"])
def test_a_task_registration_carries_its_task_tags_and_budget(name):
    info = env_info(f"web/miniwob.{name}-v0")
    rated = task(name)
    assert info.kwargs == {"task": name}
    assert info.entry_point == "agentgym.envs.web.miniwob.env:MiniWoBEnv"
    assert info.max_turns == MAX_TURNS[rated.difficulty]
    assert rated.difficulty in info.tags and "miniwob" in info.tags
    assert ("typing" in info.tags) == rated.needs_typing
    assert ("oracle" in info.tags) == (name in ORACLE_TASKS)
    assert ("excluded" in info.tags) == (rated.excluded is not None)
    if rated.excluded:
        assert rated.excluded in info.description


def test_excluded_tasks_have_reasons_and_stay_out_of_the_suites():
    excluded = [t for t in TASKS.values() if t.excluded]
    assert {"drag-cube", "chase-circle", "hover-shape", "simon-says", "button-delay"} <= {t.name for t in excluded}
    # The tasks that only need a drag are in since the action language has drags.
    assert not {"drag-box", "drag-items", "highlight-text", "draw-circle"} & {t.name for t in excluded}
    assert all(len(t.excluded) > 20 for t in excluded)
    suite_ids = {entry.env_id for entry in get_suite("web-miniwob-v0").entries}
    assert suite_ids == {t.env_id for t in included_tasks()}
    assert not suite_ids & {t.env_id for t in excluded}
    assert all(entry.seeds == (0, 1, 2) for entry in get_suite("web-miniwob-v0").entries)


def test_the_easy_and_oracle_suites():
    easy = get_suite("web-miniwob-easy-v0")
    assert {e.env_id for e in easy.entries} == {t.env_id for t in included_tasks("easy")}
    oracle = get_suite("web-miniwob-oracle-v0")
    assert [e.env_id for e in oracle.entries] == [f"web/miniwob.{name}-v0" for name in ORACLE_TASKS]
    assert len(ORACLE_TASKS) >= 20 and all(task(name).included for name in ORACLE_TASKS)


def test_the_mixed_environment_draws_from_the_included_tasks_of_its_difficulty():
    info = env_info("web/MiniWoB-v0")
    assert info.kwargs == {} and info.max_turns == max(MAX_TURNS.values())
    for level in ("easy", "medium", "hard"):
        env = MiniWoBEnv(level)
        assert env.task_pool == included_tasks(level) and all(t.difficulty == level for t in env.task_pool)
    mixed = MiniWoBEnv()
    assert mixed.difficulty == "mixed" and mixed.task_pool == included_tasks()


def test_importing_the_family_loads_no_browser_code():
    code = ("import sys, agentgym.envs.web.miniwob as m; "
            "assert len(m.MINIWOB_ENV_IDS) >= 120; "
            "bad = [n for n in ('playwright', 'agentgym.browser.pool', 'agentgym.envs.web.miniwob.env') "
            "if n in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


def test_constructor_arguments_are_checked_without_starting_a_browser():
    env = MiniWoBEnv(task="click-button")
    assert env.difficulty == "easy" and env.session is None and env.time_limit == 3600.0
    assert MiniWoBEnv(task="click-button", difficulty="easy").fixed_task.name == "click-button"
    with pytest.raises(ConfigError, match="click-buton.*did you mean click-button"):
        MiniWoBEnv(task="click-buton")
    with pytest.raises(ConfigError, match="rated 'easy'"):
        MiniWoBEnv("hard", task="click-button")
    with pytest.raises(ConfigError, match="unknown difficulty"):
        MiniWoBEnv("expert")
    with pytest.raises(ConfigError, match="time_limit"):
        MiniWoBEnv(task="click-button", time_limit=0)
    with pytest.raises(ConfigError, match="time_limit is at most"):
        MiniWoBEnv(task="click-button", time_limit=1e9)
    with pytest.raises(ConfigError, match="data_mode"):
        MiniWoBEnv(task="click-button", data_mode="dev")
    with pytest.raises(ConfigError, match="success_threshold"):
        MiniWoBEnv(task="click-button", success_threshold=1.0)
    assert MiniWoBEnv(task="click-button", time_limit=None).time_limit is None
    with pytest.raises(ConfigError, match="no MiniWoB"):
        agentgym.make("web/miniwob.click-button-v0", task="no-such-task")
