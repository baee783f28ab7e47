"""Exploratory round 13 of the registry, suites, spaces and lazy imports: each test is a defect a
user met, fixed."""

from __future__ import annotations

import sys

import pytest

from agentgym.core import ConfigError
from agentgym.registry import import_user_module


def test_import_of_a_folder_with_no_init_is_refused_and_names_the_modules_inside(tmp_path, monkeypatch):
    # `agentgym --import my_envs` where my_envs/ has no __init__.py: Python imports it as an
    # empty namespace package, nothing is registered, and the command then fails far from the
    # cause ("no environment registered as ..."). It is refused, naming the .py files inside.
    folder = tmp_path / "explore13_nsfolder"
    folder.mkdir()
    (folder / "envs.py").write_text("raise RuntimeError('not imported')\n")
    (tmp_path / "explore13_emptyns").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError) as raised:
        import_user_module("explore13_nsfolder")
    message = str(raised.value)
    assert "__init__.py" in message and "explore13_nsfolder.envs" in message
    assert "explore13_nsfolder" not in sys.modules  # not left half-imported
    with pytest.raises(ConfigError, match="no .py file"):
        import_user_module("explore13_emptyns")
    assert "explore13_emptyns" not in sys.modules
