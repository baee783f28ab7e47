"""``agentgym serve-retriever`` as a real process: a generated corpus or the user's own file,
indexed once and served; Search-R1's request answered; user errors as one line, exit 2."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from agentgym.cli import main

ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")


class ServerProcess:
    """``python -m agentgym serve-retriever ARGS --port 0``; ``url`` once uvicorn says where it listens."""

    def __init__(self, *args: str, timeout: float = 60.0) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen([sys.executable, "-m", "agentgym", "serve-retriever", *args, "--port", "0"],
                                        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        env=env)
        self.lines: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            match = LISTENING.search(line)
            if match:
                self.url = match.group(1)
                return
        self.stop()
        raise AssertionError("the server did not start:\n" + "".join(self.lines))

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.lines.extend(self.process.stdout.read().splitlines(keepends=True))
        self.process.stdout.close()
        return self.process.returncode


def test_generated_world_is_indexed_once_and_served(tmp_path, resources):
    args = ("--world-size", "300", "--seed", "5", "--index-dir", str(tmp_path), "--topk", "2")
    first = ServerProcess(*args)
    try:
        payload = {"queries": ["encyclopedia person born"], "topk": None, "return_scores": True}
        body = httpx.post(first.url + "/retrieve", json=payload, timeout=10).json()
        assert len(body["result"][0]) == 2  # --topk
        doc_id = body["result"][0][0]["document"]["id"]
        document = httpx.get(f"{first.url}/documents/{doc_id}", timeout=10).json()
        assert body["result"][0][0]["document"]["contents"] == document["contents"]
        assert httpx.get(first.url + "/health", timeout=10).json()["documents"] == 300
    finally:
        assert first.stop() == 0
    assert "serving 300 documents" in "".join(first.lines)
    index_dirs = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.glob("*/bm25"))
    assert index_dirs == ["world-v1-n300-s5-d2/bm25"]  # where the search environments look for it
    manifest = (tmp_path / index_dirs[0] / "manifest.json").stat().st_mtime_ns
    second = ServerProcess(*args)  # the cached corpus and index are reused, untouched
    try:
        assert httpx.post(second.url + "/retrieve", json=payload, timeout=10).json() == body
    finally:
        assert second.stop() == 0
    assert (tmp_path / index_dirs[0] / "manifest.json").stat().st_mtime_ns == manifest
    resources.assert_released()


def test_own_corpus_file(tmp_path):
    corpus = tmp_path / "wiki.jsonl"
    rows = [{"id": "0", "contents": '"Evan Morris"\nEvan Morris was a lobbyist for Genentech.'},
            {"id": "1", "contents": '"Horatio Hale"\nHoratio Hale was an ethnologist and philologist.'}]
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows))
    server = ServerProcess("--corpus", str(corpus), "--index-dir", str(tmp_path / "cache"), "--contents", "snippet")
    try:
        body = httpx.post(server.url + "/retrieve", json={"queries": ["lobbyist"], "topk": 3}, timeout=10).json()
        assert body == {"result": [[{"id": "0", "contents": '"Evan Morris"\nEvan Morris was a lobbyist for '
                                                              'Genentech.'}]]}
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize("argv, message", [
    (["serve-retriever"], "one of the arguments --world-size --corpus is required"),
    (["serve-retriever", "--world-size", "10", "--corpus", "x.jsonl"], "not allowed with argument"),
    (["serve-retriever", "--corpus", "no/such/file.jsonl"], "--corpus no/such/file.jsonl: no such file"),
    (["serve-retriever", "--world-size", "10", "--topk", "0"], "--topk must be at least 1, got 0"),
    (["serve-retriever", "--world-size", "10", "--topk", "9", "--max-topk", "5"], "--topk (9) is over --max-topk (5)"),
    (["serve-retriever", "--world-size", "10", "--port", "70000"], "--port must be between 0 and 65535"),
    (["serve-retriever", "--world-size", "10", "--host", "0.0.0.0"], "refusing to serve on '0.0.0.0' without an API"),
    (["serve-retriever", "--world-size", "10"], "--world-size must be in [50, 5308416] (entities), got 10"),
    (["serve-retriever", "--world-size", "0"], "--world-size must be in [50, 5308416] (entities), got 0"),
])
def test_user_errors_are_one_line_and_exit_2(argv, message, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("AGENTGYM_API_KEY", raising=False)
    assert main([*argv, "--index-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # refused before any corpus or index was built
