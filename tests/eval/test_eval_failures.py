"""``agentgym eval`` against a policy server that fails: the cause is printed, and a run in which
every episode failed exits non-zero. The server is a real HTTP server on loopback."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agentgym.cli import main
from agentgym.eval.metrics import failure_summary
from agentgym.trajectory import Trajectory

MISSING_MODEL = "The model `nope` does not exist."


class _Handler(BaseHTTPRequestHandler):
    """Answers chat completions with "1", except for the environments in ``server.refuse``
    (matched in the request body), which get OpenAI's 404 for an unknown model."""

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        if any(word in body for word in self.server.refuse):
            payload, status = {"error": {"message": MISSING_MODEL, "type": "NotFoundError"}}, 404
        else:
            payload, status = {"model": "m", "choices": [{"index": 0, "finish_reason": "stop",
                                                          "message": {"role": "assistant", "content": "1"}}]}, 200
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.refuse = ()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _eval(capsys, server, tmp_path):
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    code = main(["eval", "--suite", "quick-v0", "--policy", f"openai:{url}#nope", "--tasks", "1",
                 "--out", str(tmp_path / "run"), "--no-progress"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_every_episode_failing_exits_1_and_prints_the_cause(capsys, server, tmp_path):
    server.refuse = ("",)  # every request
    code, out, err = _eval(capsys, server, tmp_path)
    assert code == 1
    assert "error: every episode failed (4 of 4); first error (shared by all of them): policy error:" in err
    assert f"HTTP 404: {MISSING_MODEL}" in err
    # the run directory is still complete, and its report says why the numbers are 0
    report = (tmp_path / "run" / "report.md").read_text()
    assert "> **warning**: Every episode failed (4 of 4)" in report and MISSING_MODEL in report
    assert json.loads((tmp_path / "run" / "results.json").read_text())["stats"]["first_error_episodes"] == 4


def test_some_episodes_failing_is_a_warning_with_exit_0(capsys, server, tmp_path):
    server.refuse = ("five-letter word",)  # Wordle, one environment of the four
    code, out, err = _eval(capsys, server, tmp_path)
    assert code == 0
    assert "warning: 1 of 4 episodes failed: policy error:" in err
    assert MISSING_MODEL in err and "every episode failed" not in err
    assert "1 error" in out and "1 errors" not in out


def test_failure_summary_counts_the_episodes_sharing_the_first_error():
    episodes = [Trajectory(error=None), Trajectory(error="b"), Trajectory(error="a"), Trajectory(error="b")]
    summary = failure_summary(episodes)
    assert (summary.failed, summary.episodes, summary.first_error, summary.first_error_episodes,
            summary.causes, summary.all_failed) == (3, 4, "b", 2, 2, False)
    assert "shared by 2 of them; 2 different errors in all" in summary.describe()
    assert failure_summary([Trajectory()]) is None
    assert failure_summary([Trajectory(error="x")]).all_failed


def test_a_long_error_is_quoted_in_part_and_still_counted_whole():
    # A policy's exception carrying a 100 KB page was printed whole in the warning line and twice
    # in each report.
    page = "HTTP 502: " + "x" * 100_000
    summary = failure_summary([Trajectory(error=page), Trajectory(error=page), Trajectory(error=page + "y")])
    assert summary.first_error.startswith("HTTP 502: xxx") and len(summary.first_error) < 1100
    assert "100,010 characters" in summary.first_error
    assert (summary.first_error_episodes, summary.causes) == (2, 2)
    assert len(summary.describe()) < 1200
