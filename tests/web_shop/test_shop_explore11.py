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
