"""README's environment table is the registry's, and its set-up commands exist."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from agentgym.cli.list_cmd import markdown_env_table

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_environment_table_matches_the_registry():
    match = re.search(r"<!-- envs:start[^>]*-->\n(.*?)<!-- envs:end -->", README, re.S)
    assert match, "README lost its environment table markers"
    # In a fresh interpreter: this one holds whatever other test modules registered before.
    table = subprocess.run([sys.executable, "-c", "from agentgym.cli.list_cmd import markdown_env_table as t; "
                            "print(t(builtin_only=True))"], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert match.group(1).strip() == table.strip(), (
        "README's environment table is stale: run `python tests/test_readme.py` to regenerate it")


def test_set_up_commands_are_documented_and_ci_runs_the_test_command():
    makefile = (ROOT / "Makefile").read_text()
    assert "make demo" in README and "make test" in README
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.strip().splitlines()[-1] == "make test"


# Blocks fenced ```python are whole programs and run here; ```py blocks are fragments (code that
# needs a launcher such as torchrun, or names defined around it).
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


def test_readme_has_python_examples():
    assert len(PYTHON_BLOCKS) >= 4


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_readme_python_examples_run(index, tmp_path):
    script = tmp_path / f"readme_{index}.py"
    script.write_text(PYTHON_BLOCKS[index])
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"README example {index} failed:\n{PYTHON_BLOCKS[index]}\n{out.stderr[-2000:]}"


if __name__ == "__main__":  # regenerate the table in place
    start, end = README.index("<!-- envs:start"), README.index("<!-- envs:end -->")
    header_end = README.index("-->", start) + 3
    (ROOT / "README.md").write_text(README[:header_end] + "\n" + markdown_env_table(builtin_only=True) + "\n" + README[end:])
    print("README environment table updated")
