"""Defects found by exploratory testing of the shop (round 11), each pinned by a test."""

from __future__ import annotations

import subprocess
import sys
import textwrap

_FORKED_CHILD_SCRIPT = textwrap.dedent("""
    import os, socket, time
    from agentgym.envs.web.shop.app import ShopApp
    from agentgym.envs.web.shop.site import load_shop

    app = ShopApp(load_shop(50, 0))
    port = app.port
    child = os.fork()
    if child == 0:          # a forked worker that never touches the shop
        time.sleep(3.0)
        os._exit(0)
    try:
        time.sleep(0.2)
        app.close()
        probe = socket.socket()
        try:
            probe.bind(("127.0.0.1", port))
            print("port free")
        except OSError as exc:
            print("port held:", exc)
        finally:
            probe.close()
    finally:
        os.kill(child, 9)
        os.waitpid(child, 0)
""")


def test_closing_an_app_frees_its_port_while_a_forked_child_lives():
    # The child inherited the listening socket and kept the port bound (connections to it were
    # accepted by the kernel and never answered) for as long as it lived.
    result = subprocess.run([sys.executable, "-c", _FORKED_CHILD_SCRIPT], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "port free", result.stdout + result.stderr


def test_close_ends_the_handlers_of_open_connections():
    # A connection accepted before close() (a browser's idle preconnection, a client mid-request)
    # kept its handler thread, and its socket, for up to the 15 s request timeout; a request sent
    # on it after close() was still answered.
    import random
    import socket
    import threading
    import time

    from agentgym.envs.web.shop.app import ShopApp
    from agentgym.envs.web.shop.site import load_shop

    shop = load_shop(50, 0)
    threads_before = {t.ident for t in threading.enumerate()}
    app = ShopApp(shop)
    sid = app.open_session(shop.catalogue.draw_goal(random.Random(0), "easy"))
    idle = socket.create_connection((app.host, app.port), timeout=5.0)
    partial = socket.create_connection((app.host, app.port), timeout=5.0)
    try:
        partial.sendall(f"GET /s/{sid}/ HTTP/1.0\r\n".encode())  # the request's headers never end
        deadline = time.monotonic() + 5.0
        while len({t.ident for t in threading.enumerate()} - threads_before) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)  # the serving thread and both handlers run
        started = time.monotonic()
        app.close()
        assert time.monotonic() - started < 3.0
        deadline = time.monotonic() + 3.0
        while {t.ident for t in threading.enumerate()} - threads_before and time.monotonic() < deadline:
            time.sleep(0.02)
        left = [t.name for t in threading.enumerate() if t.ident not in threads_before]
        assert left == [], left
        try:
            idle.sendall(f"GET /s/{sid}/ HTTP/1.0\r\n\r\n".encode())
            answer = idle.recv(100)
        except OSError:
            answer = b""
        assert answer == b"", answer  # nothing is served after close
    finally:
        idle.close()
        partial.close()


def test_an_action_in_a_fenced_block_is_read():
    # A reply that fenced its action (as models often do) was a format error: the fence's closing
    # line was taken as the action line.
    import agentgym
    import agentgym.envs.web.shop  # noqa: F401  (registers the environments)
    from agentgym.envs.web.shop.oracle import Move
    from agentgym.envs.web.shop.text_env import parse_shop_action

    assert parse_shop_action("```\nclick[Buy Now]\n```") == Move("click", "Buy Now")
    assert parse_shop_action("I will search.\n```text\nsearch[red shirt]\n```\n") == Move("search", "red shirt")
    assert parse_shop_action("```\n```") is None
    assert parse_shop_action("```\nclick[x]\n```\nthen more") is None
    env = agentgym.make("web/Shop-v0", size=200)
    try:
        env.reset(seed=0)
        _, _, _, _, info = env.step("Searching now:\n```\nsearch[snack pack]\n```")
        assert info.get("error_kind") is None and info["page"] == "results", info
    finally:
        env.close()
