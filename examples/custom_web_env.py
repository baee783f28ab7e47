"""Your own environment in a real Chromium: a page of yours served on loopback, a ``BrowserEnv``
subclass that draws a task, reads the outcome from the page and has an oracle, registered and
then checked and evaluated like any built-in environment.

Needs the ``web`` extra and Debian's Chromium (``make setup`` installs both).
"""

import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import agentgym
from agentgym.browser import BrowserEnv, PageStatus
from agentgym.policies.random import RandomPolicy
from agentgym.policies.scripted import OraclePolicy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.testing import check_llm_env

COLOURS = ("red", "green", "blue", "yellow", "purple")


class ColourPage(BaseHTTPRequestHandler):
    """``/pick?order=red,blue,...``: one button per colour; the page records the one clicked."""

    def do_GET(self):  # noqa: N802 - http.server's name
        order = parse_qs(urlsplit(self.path).query).get("order", [""])[0].split(",")
        buttons = "".join(f'<button onclick="window.picked = {html.escape(repr(c))}">{html.escape(c)}</button>'
                          for c in order if c in COLOURS)
        body = f"<!doctype html><title>Pick a colour</title><p>Colours:</p>{buttons}".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass


# The site lives on loopback (the only network a BrowserEnv's browser may reach).
server = ThreadingHTTPServer(("127.0.0.1", 0), ColourPage)
threading.Thread(target=server.serve_forever, daemon=True).start()
SITE = f"http://127.0.0.1:{server.server_address[1]}"


class PickTheColour(BrowserEnv):
    """Click the button of the colour the goal names (the buttons come in a seeded order)."""

    def prepare_episode(self, options):  # the caller's thread: draw the task with self.rng
        self.order = self.rng.sample(COLOURS, len(COLOURS))
        self.target = self.rng.choice(COLOURS)

    def start_url(self):
        return f"{SITE}/pick?order={','.join(self.order)}"

    def goal_text(self):
        return f'Click the "{self.target}" button.'

    def page_status(self, page):  # the browser's thread, after every action
        picked = page.evaluate("window.picked || null")
        return PageStatus(done=picked is not None, success=picked == self.target, info={"picked": picked})

    def oracle_action(self):
        # Reads the page: the id the tree shows for the target's button (the tree's ids are the
        # elements' data-agentgym-bid attributes).
        bid = self.run_in_page(lambda page: page.get_attribute(
            f'button:text-is("{self.target}")', "data-agentgym-bid"))
        return f"click('{bid}')"


agentgym.register("mine/PickTheColour-v0", PickTheColour, max_turns=5,
                  description="Click the button of the named colour, in a real Chromium.")

if __name__ == "__main__":
    env = agentgym.make("mine/PickTheColour-v0")
    observation, info = env.reset(seed=0)
    print(observation)  # the goal, the page's title and its tree with element ids
    observation, reward, terminated, truncated, info = env.step(env.unwrapped.oracle_action())
    print(f"oracle: reward {reward}, success {info['success']}, picked {info['picked']!r}")

    # The contract: hostile actions, seeds that replay, no crash (a lighter probe than the default,
    # as a browser's steps take tens of milliseconds).
    check_llm_env(env, hostile=40, replay_seeds=2)
    print("check_llm_env: passed")
    env.close()

    tasks = [Task("mine/PickTheColour-v0", seed) for seed in range(10)]
    for policy in (OraclePolicy(), RandomPolicy(seed=0)):
        result = rollout(policy, tasks, RolloutConfig(max_turns=5), progress=False)
        print(f"{policy.name:>8}: success {result.stats['success_rate']:.0%} over {len(tasks)} episodes, "
              f"errors {result.stats['errors']}")
    server.shutdown()
