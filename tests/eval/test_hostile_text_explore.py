"""Hostile text in what an evaluation shows: row labels (an environment's id and the values of
its constructor arguments, which a user or a config may give as any text) in the plots, the
Markdown tables and the terminal tables; an environment's error in ``agentgym eval``'s output.

(The command-line test is here rather than in tests/cli/test_hostile_text_explore.py: two test
files of one basename in folders without ``__init__.py`` cannot be collected together.)"""

import io
import json
import warnings

import pytest
from rich.console import Console

from agentgym.cli import main
from agentgym.eval import plots, summarize
from agentgym.eval.compare import NamedRun, markdown_comparison, rich_comparison
from agentgym.eval.report import markdown_report
from agentgym.eval.results import RunResults
from agentgym.eval.tables import markdown_table, rich_table, terminal_text
from agentgym.eval.transcripts import Sample, markdown_samples
from agentgym.trajectory import Trajectory, Turn

#: mathtext matplotlib cannot parse, and a lone surrogate no font can draw
MATH = "games/Wordle-v0[$_^$]"
SURROGATE = "games/Wordle-v0[\ud800]"


def _rows(*labels):
    trajectory = Trajectory(env_id="games/Wordle-v0", seed=0, group_id="g0", success=True,
                            turns=[Turn(index=0, observation="o", action="a", reward=1.0)])
    return [summarize([trajectory], label, k=1) for label in labels]


def _run(name, label):
    rows = _rows(label)
    return NamedRun(name, RunResults("suite-v0", "random", {}, 1, None, rows, summarize([], "overall", k=1)))


def test_plot_labels_are_drawn_as_written_never_parsed_as_mathtext():
    """A label holding '$...$' was parsed as mathtext: '$_^$' raised ValueError while the PNG
    was saved (the evaluation then wrote no report.html and no results.json after every
    episode was played), '$a$' was drawn as an italic a; a lone surrogate was a TypeError."""
    rows = _rows(MATH, SURROGATE)
    assert plots.success_plot(rows).startswith(b"\x89PNG")
    assert plots.distribution_plot({MATH: [1.0], SURROGATE: [2.0]}, "turns", "Turns").startswith(b"\x89PNG")
    figure = plots.comparison_figure([(MATH, [rows[0], None]), (SURROGATE, [None, rows[1]])], ["#1 $_^$", "#2 \ud800"])
    assert plots._png(figure).startswith(b"\x89PNG")
    ticks = [tick.get_text() for tick in figure.axes[0].get_yticklabels()]
    legend = [text.get_text() for text in figure.legends[0].get_texts()]
    assert ticks == [MATH, "games/Wordle-v0[\ufffd]"] and legend == ["#1 $_^$", "#2 \ufffd"]


def test_a_long_label_is_shortened_in_the_plots_and_leaves_room_for_the_bars():
    """A label (or run name) wider than the figure made constrained layout give up ('axes sizes
    collapsed to zero', a warning per plot): the label was cut at the left edge and the
    values at the right one. Plots show its start and end around an ellipsis; tables keep it."""
    label = "tools/Template-v0[" + "a long template " * 40 + "end]"
    rows = _rows(label, "short")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # constrained layout's warning fails the test
        figure = plots.success_figure(rows)
        plots._png(figure)
        names = [f"#{n} hf:/" + "checkpoints/" * 30 + f"step-{n}00" for n in (1, 2, 3)]
        comparison = plots.comparison_figure([(label, [rows[0]] * 3)], names)
        plots._png(comparison)
    tick = figure.axes[0].get_yticklabels()[0].get_text()
    assert tick.startswith("tools/Template-v0[a long") and tick.endswith("template end]") and "…" in tick
    assert len(tick) == plots.MAX_LABEL_CHARS
    legend = comparison.legends[0]
    assert [text.get_text()[-10:] for text in legend.get_texts()] == [f"s/step-{n}00" for n in (1, 2, 3)]
    box = legend.get_window_extent()  # three long names in three columns ran off both edges
    assert 0 <= box.x0 and box.x1 <= comparison.bbox.width


def test_markdown_tables_keep_a_label_with_line_breaks_in_one_cell():
    """A newline in a label (an -o value) ended the table row halfway: the rest of the row
    became a paragraph under a broken table."""
    label = "hostile/Env-v0[a\nb|c\r\nd]"
    table = markdown_table(_rows(label), _rows("overall")[0])
    assert table.count("\n") == 3  # header, rule, the row, the overall row
    assert "| hostile/Env-v0[a b\\|c d] | 1 |" in table
    comparison = markdown_comparison([_run("runs/a", label)])
    assert "| hostile/Env-v0[a b\\|c d] | 100% [21–100]" in comparison


def test_terminal_tables_show_control_characters_as_escapes():
    """An escape sequence in a label or a title reached the terminal as it was (rich strips a
    carriage return but not ESC): '\\x1b[2J' cleared the screen of whoever ran the command."""
    label = "hostile/Env-v0[\x1b[2J\x07]"
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=300, color_system=None)
    console.print(rich_table(_rows(label), _rows("overall")[0], title="suite \x1b]0;owned\x07 on x"))
    console.print(rich_comparison([_run("runs/\x1b[31m", label)]))
    text = out.getvalue()
    assert "\x1b" not in text and "\x07" not in text
    assert "hostile/Env-v0[\\x1b[2J\\x07]" in text and "suite \\x1b]0;owned\\x07 on x" in text


def test_a_tab_in_a_label_is_shown_as_an_escape_not_cut_with_an_ellipsis():
    """A tab in a label (-o delimiter="\\t" for a TSV file) was measured as no width but drawn
    as up to eight columns: the label was cut ('tools/Csv-v0[…') and lost its end."""
    out = io.StringIO()
    Console(file=out, width=300).print(rich_table(_rows("tools/Csv-v0[\t,data.tsv]"), _rows("overall")[0]))
    assert "tools/Csv-v0[\\t,data.tsv]" in out.getvalue() and "…" not in out.getvalue()


def test_terminal_text_escapes_controls_and_lone_surrogates_and_keeps_lines_tabs_and_unicode():
    """A lone surrogate in a label made printing the table raise UnicodeEncodeError."""
    assert terminal_text("a\x1b[31mb\rc\x9bd\x7f\ud800") == "a\\x1b[31mb\\rc\\x9bd\\x7f\\ud800"
    assert terminal_text("<html>\r\n<body>") == "<html>\n<body>"  # an error page's line ends
    text = "line 1\n\tline 2 — ünïcödé 🎉 \u202eRTL"
    assert terminal_text(text) == text


#: What an OpenAI-compatible policy's error holds when its URL reaches nginx instead of the server.
ERROR_PAGE = ("policy error: http://127.0.0.1:8000/v1/chat/completions refused the request: HTTP 404: <html>\r\n"
              "<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n"
              "<hr><center>nginx</center>\r\n</body>\r\n</html>")


def test_markdown_report_quotes_the_first_error_as_code_on_one_line():
    """report.md wrote the first error as it was, in its warning and in the run's settings: an
    HTML error page's lines became an HTML block of the page (a 404 heading, a rule), and
    ``*``, ``_`` or ``[..](..)`` in an error would restyle it; it is inline code, on one line."""
    failed = [Trajectory(env_id="games/Wordle-v0", seed=seed, group_id=f"g{seed}", error=ERROR_PAGE)
              for seed in range(2)]
    results = RunResults("quick-v0", "openai:http://127.0.0.1:8000/v1#m", {}, 1, None,
                         [summarize(failed, "games/Wordle-v0", k=1)], summarize(failed, "overall", k=1),
                         stats={"errors": 2, "first_error": ERROR_PAGE, "first_error_episodes": 2})
    text = markdown_report(results)
    quoted = "`policy error: http://127.0.0.1:8000/v1/chat/completions refused the request: HTTP 404: <html> " \
             "<head><title>404 Not Found</title></head> <body> <center><h1>404 Not Found</h1></center> " \
             "<hr><center>nginx</center> </body> </html>`"
    assert f"> **warning**: Every episode failed (2 of 2); the first error, shared by 2: {quoted}\n" in text
    assert f"- **first error**: {quoted} (2 episodes)\n" in text
    assert not any(line.startswith("<") for line in text.splitlines())
    assert "\r" not in text
    tricky = "a ``double`` run and a trailing `"
    results.stats["first_error"] = tricky
    assert "- **first error**: ``` a ``double`` run and a trailing ` ``` (2 episodes)" in markdown_report(results)
    invalid = Trajectory(env_id="games/Wordle-v0", seed=0, turns=[
        Turn(index=0, observation="o", action="a", reward=0.0, error="not a word:\n# <b>*a*</b>")])
    assert "**turn 1** (reward 0, invalid action: `not a word: # <b>*a*</b>`)" in \
        markdown_samples([Sample("worst", invalid)])



def test_markdown_report_keeps_a_label_with_line_breaks_in_its_heading_and_list_item():
    """A constructor argument holding a line break (-o 'template="Q: {q}\\nA:"') is part of the
    suite's name and the row label: report.md's title, its 'suite' item and the sample
    episode's heading ended at the break, the rest becoming a paragraph."""
    label = "games/Echo-v0[Q: {q}\nA:]"
    episode = Trajectory(env_id="games/Echo-v0", seed=0, group_id="g0", success=True,
                         turns=[Turn(index=0, observation="o", action="a", reward=1.0)],
                         metadata={"env_kwargs": {"template": "Q: {q}\nA:"}})
    results = RunResults(label, "random", {}, 1, None, _rows(label), _rows("overall")[0])
    text = markdown_report(results, markdown_samples([Sample("best", episode)]))
    lines = text.splitlines()
    assert lines[0] == "# random on games/Echo-v0[Q: {q} A:]"
    assert "- **suite**: games/Echo-v0[Q: {q} A:]" in lines
    assert "### Best: games/Echo-v0[Q: {q} A:], seed 0 — success, return 1.00, 1 turn" in lines
    assert not any(line.startswith("A:]") for line in lines)
    comparison = markdown_comparison([NamedRun("runs/a", results), _run("runs/b", "other")]).splitlines()
    assert "- #1 runs/a: random on games/Echo-v0[Q: {q} A:], 1 episodes, k=1, max_turns not recorded, " \
           f"{results.created_at}" in comparison
    assert "- settings differ: suite: games/Echo-v0[Q: {q} A:] (#1) vs suite-v0 (#2)" in comparison


#: An error that would clear the screen, retitle the terminal window and overwrite its line.
ESCAPES = "bad move \x1b[2J\x1b]0;owned\x07 then\rhidden"
HOSTILE_ID = "hostile_eval_text/Hostile-v0"


@pytest.fixture
def hostile_env():
    """An environment whose every move raises ``ESCAPES``, registered for one test only."""
    import gymnasium

    import agentgym
    from agentgym import LLMEnv
    from agentgym import registry

    class Hostile(LLMEnv):
        instructions = "Say anything."
        example_actions = ("anything",)

        def __init__(self, word: str = "w", **kwargs):
            super().__init__(**kwargs)
            self.word = word

        def new_episode(self, options):
            return f"Say {self.word}."

        def play(self, action):
            raise RuntimeError(ESCAPES)

    agentgym.register(HOSTILE_ID, Hostile, max_turns=2)
    yield HOSTILE_ID
    registry._ENVS.pop(HOSTILE_ID, None)
    gymnasium.registry.pop(HOSTILE_ID, None)


def test_eval_and_compare_survive_a_mathtext_label_and_an_error_with_escapes(capsys, tmp_path, hostile_env):
    """'$_^$' in a label made the plots raise ValueError after every episode was played (no
    report.html, no results.json, exit 2); the environment's error reached the terminal with its
    escape sequences (the screen cleared). Both print as written, control characters escaped
    (``agentgym report`` prints as ``eval`` does)."""
    run = tmp_path / "run"
    code = main(["eval", "--env", hostile_env, "-o", 'word="$_^$"', "--policy", "random:0",
                 "--tasks", "2", "--out", str(run), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 1, err  # every episode failed: the error is printed, the reports are written
    assert json.loads((run / "results.json").read_text())["environments"][0]["label"] == f"{hostile_env}[$_^$]"
    assert f"{hostile_env}[$_^$]" in out
    assert "\x1b" not in out + err and "\x07" not in out + err and "\r" not in out + err
    assert "bad move \\x1b[2J\\x1b]0;owned\\x07 then\\rhidden" in err
    assert main(["compare", str(run), str(run), "--plot", str(tmp_path / "compare.png")]) == 0
    out, err = capsys.readouterr()
    assert (tmp_path / "compare.png").read_bytes().startswith(b"\x89PNG")
    assert f"{hostile_env}[$_^$]" in out
