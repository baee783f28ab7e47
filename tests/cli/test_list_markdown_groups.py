"""README's table gives one row to a large family of variants (``web/miniwob.<task>-v0``) and
keeps every other environment on its own row."""

import agentgym
from agentgym.cli.list_cmd import markdown_env_table
from agentgym.core import Feedback, LLMEnv


class Variant(LLMEnv):
    instructions = "anything"
    example_actions = ("x",)

    def new_episode(self, options):
        return "go"

    def play(self, action):
        return Feedback("ok")


def test_variants_of_one_class_share_a_row_and_small_groups_do_not():
    for name in ("a", "b", "c", "d", "e"):
        agentgym.register(f"tablegroup/big.{name}-v0", Variant, max_turns=3 + len(name), tags=(name,),
                          description=f"variant {name}", override=True)
    for name in ("a", "b"):
        agentgym.register(f"tablegroup/small.{name}-v0", Variant, max_turns=3, override=True)
    table = markdown_env_table("tablegroup")
    rows = [line for line in table.splitlines() if "tablegroup/" in line]
    assert rows[0].startswith("| `tablegroup/big.<variant>-v0` | tablegroup | 4 | a, b, c, d, e | 5 variants")
    assert "e.g. variant a" in rows[0]
    assert [row.split("|")[1].strip() for row in rows[1:]] == ["`tablegroup/small.a-v0`", "`tablegroup/small.b-v0`"]


def test_the_shipped_miniwob_pages_are_one_row():
    table = markdown_env_table(builtin_only=True)
    assert "| `web/miniwob.<variant>-v0` | web |" in table
    assert "web/miniwob.click-button-v0" not in table
    miniwob = [e for e in agentgym.list_envs("web") if e.id.startswith("web/miniwob.")]
    assert f"{len(miniwob)} variants" in table and len(miniwob) >= 100
