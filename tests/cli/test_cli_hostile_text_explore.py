"""Hostile text an environment writes, through ``agentgym play`` and ``agentgym info``: escape
sequences must reach the terminal as visible escapes, never as commands to it.

(Named apart from tests/eval/test_hostile_text_explore.py: two test files of one basename in
folders without ``__init__.py`` cannot be collected together.)"""

from agentgym.cli import main

#: Clears the screen, retitles the window, recolours what follows.
ESCAPES = "\x1b[2J\x1b]0;owned\x07\x1b[31m"
SHOWN = "\\x1b[2J\\x1b]0;owned\\x07\\x1b[31m"


def _register(register):
    from agentgym import Feedback, InvalidAction, LLMEnv

    class Escapes(LLMEnv):
        instructions = f"Rules {ESCAPES}."

        def new_episode(self, options):
            return f"A page {ESCAPES}"

        def oracle_action(self):
            return f"ok{ESCAPES}"

        def play(self, action):
            if action != "ok":
                raise InvalidAction(f"no {ESCAPES}")
            return Feedback(f"done {ESCAPES}", {"outcome": 1.0}, terminated=True, success=True)

    register("hostile_cli/Escapes-v0", Escapes, max_turns=3, description="escapes", tags=[f"tag{ESCAPES}"])


def test_play_and_info_show_an_environments_escape_sequences_as_escapes(capsys, monkeypatch,
                                                                          registered_for_the_test):
    """play and info printed instructions, observations, invalid-action errors and hints with
    their ESC characters (rich strips a carriage return, not ESC): a page could clear the
    player's screen or retitle the window."""
    _register(registered_for_the_test)
    moves = iter([":hint", "bad", "ok"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(moves))
    assert main(["play", "hostile_cli/Escapes-v0", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "You won!" in out
    for shown in (f"Rules {SHOWN}.", f"A page {SHOWN}", f"hint: ok{SHOWN}", f"invalid: no {SHOWN}", f"done {SHOWN}"):
        assert shown in out, shown
    assert main(["info", "hostile_cli/Escapes-v0"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and f"Rules {SHOWN}." in out and f"A page {SHOWN}" in out and f"tag{SHOWN}" in out


def test_one_line_errors_and_warnings_show_control_characters_as_escapes(capsys, tmp_path):
    """A user error echoing a path or a constructor's message printed its ESC characters as they
    were (agentgym report/compare on a directory whose name holds ESC[2J cleared the screen)."""
    from agentgym.cli import user_error_message, warning_printer

    run = tmp_path / "run\x1b[2J"
    assert main(["report", str(run)]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and f"{tmp_path}/run\\x1b[2J has no trajectories.jsonl" in err
    assert user_error_message(ValueError("bad \x1b[31mvalue\x07\r\nand more")) == "bad \\x1b[31mvalue\\x07 and more"
    show = warning_printer("eval", fallback=None)
    import agentgym.cli as cli

    show(UserWarning("glyph \x1b[2J missing"), UserWarning, cli.__file__, 1)
    assert capsys.readouterr().err == "agentgym eval: warning: glyph \\x1b[2J missing\n"


def test_play_prints_emoji_codes_as_written(capsys, monkeypatch, registered_for_the_test):
    """rich replaces emoji codes even with markup=False: a page saying ':x: failed, :+1: from
    2 people' was shown as '❌ failed, 👍 from 2 people', :state too."""
    from agentgym import Feedback, LLMEnv

    class Slack(LLMEnv):
        instructions = "Read the thread."

        def new_episode(self, options):
            return "build :x: failed, :+1: from 2 people at 12:30:00"

        def play(self, action):
            return Feedback("thanks :smile:", {"outcome": 1.0}, terminated=True, success=True)

    registered_for_the_test("hostile_cli/Slack-v0", Slack, max_turns=2)
    moves = iter([":state", "ok"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(moves))
    assert main(["play", "hostile_cli/Slack-v0", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert out.count("build :x: failed, :+1: from 2 people at 12:30:00") == 2 and "thanks :smile:" in out
    assert not {"❌", "👍", "😄"} & set(out)


def test_list_shows_a_plugins_control_characters_as_escapes(capsys, registered_for_the_test):
    """A description or tag a plugin registered reached the terminal with its ESC characters."""
    from agentgym import LLMEnv

    class Quiet(LLMEnv):
        pass

    registered_for_the_test("hostile_cli/Quiet-v0", Quiet, description=f"quiet {ESCAPES}", tags=[f"t{ESCAPES}"])
    assert main(["list", "hostile_cli/*"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and f"quiet {SHOWN}" in out and f"t{SHOWN}" in out


def test_play_goes_on_when_a_hint_or_a_render_raises(capsys, monkeypatch, registered_for_the_test):
    """An oracle or a render that raised (an environment's bug) ended the game with a traceback
    at ':hint' or ':state', the episode lost; the player is told and the episode goes on."""
    from agentgym import Feedback, LLMEnv

    class Broken(LLMEnv):
        instructions = "Say ok."

        def new_episode(self, options):
            return "o"

        def oracle_action(self):
            raise RuntimeError(f"solver crashed {ESCAPES}")

        def render_text(self):
            raise KeyError("board")

        def play(self, action):
            return Feedback("f", {"outcome": 1.0}, terminated=True, success=True)

    registered_for_the_test("hostile_cli/Broken-v0", Broken, max_turns=2)
    moves = iter([":hint", ":state", "ok"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(moves))
    assert main(["play", "hostile_cli/Broken-v0", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert f"no hint: the oracle raised RuntimeError: solver crashed {SHOWN}" in out
    assert "no state: render raised KeyError: 'board'" in out and "You won!" in out
