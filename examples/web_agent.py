"""Web agents in a real Chromium, offline: one MiniWoB++ episode step by step (its page as text
and as a screenshot with set-of-marks), a drag, then the oracle and a random agent played on a
dozen MiniWoB++ episodes at once through the rollout engine, and the shop in text mode.

Needs the ``web`` extra and Debian's Chromium (``make setup`` installs both). Writes
``click-button.png`` (the screenshot with its marks) to the current folder.
"""

import time

import psutil
from PIL import Image

import agentgym
from agentgym.browser import BrowserPool
from agentgym.browser.pool import close_shared_pool
from agentgym.policies.random import RandomPolicy
from agentgym.policies.scripted import OraclePolicy
from agentgym.rollout import RolloutConfig, Task, rollout

# ---------------------------------------------------------------- one episode, by hand
# A pool of our own (one browser); without `pool=` an environment uses the process-wide pool.
with BrowserPool(1) as pool:
    env = agentgym.make("web/miniwob.click-button-v0", pool=pool, set_of_marks=True)
    observation, info = env.reset(seed=0)
    print(observation["text"][:400])  # the goal, then the page's accessibility tree with element ids
    Image.fromarray(observation["image"]).save("click-button.png")  # the ids drawn on their elements
    print(f"screenshot {observation['image'].shape} with set-of-marks -> click-button.png")

    observation, reward, terminated, truncated, info = env.step("click('999')")  # no such element
    print(f"a bad id is an error observation, not a crash: {info['error']!r}")
    while not (terminated or truncated):
        action = env.unwrapped.oracle_action()  # the scripted solver reads the page
        observation, reward, terminated, truncated, info = env.step(action)
        print(f"  {action} -> reward {reward}, success {info.get('success')}")
    env.close()

    # Drags: the oracle of a sortable list drags an item by pointer coordinates; an agent could
    # also write drag_and_drop('<id>', '<id>') or mouse_down / mouse_move / mouse_up over turns.
    env = agentgym.make("web/miniwob.drag-items-v0", pool=pool)
    observation, info = env.reset(seed=0)
    print(observation.splitlines()[0])  # e.g. "Goal: Drag Kasie to the 3rd position."
    action = env.unwrapped.oracle_action()
    observation, reward, terminated, truncated, info = env.step(action)
    print(f"  {action} -> reward {reward}, success {info.get('success')}")
    env.close()

# ---------------------------------------------------------------- many episodes at once
TASKS = ("click-button", "click-link", "enter-text", "click-checkboxes")
tasks = [Task(f"web/miniwob.{name}-v0", seed) for name in TASKS for seed in range(3)]
config = RolloutConfig(max_turns=8, max_concurrent_episodes=6)
for policy in (OraclePolicy(), RandomPolicy(seed=0)):
    started = time.perf_counter()
    result = rollout(policy, tasks, config, progress=False)  # environments from the shared pool
    steps = result.stats["turns"]
    print(f"{policy.name:>7}: success {result.stats['success_rate']:.0%} over {len(tasks)} episodes, "
          f"{steps} steps in {time.perf_counter() - started:.1f} s, errors {result.stats['errors']}")

close_shared_pool()  # also done at interpreter exit
left = [p for p in psutil.Process().children(recursive=True) if "chrom" in p.name().lower()]
print(f"Chromium processes left running: {len(left)}")

# ---------------------------------------------------------------- the shop, text mode (no browser)
shop = agentgym.make("web/Shop-v0", difficulty="easy")
observation, info = shop.reset(seed=0)
print(observation.splitlines()[0][:200])  # the instruction: attributes, an option, a price limit
terminated = truncated = False
while not (terminated or truncated):
    action = shop.unwrapped.oracle_action()
    observation, reward, terminated, truncated, info = shop.step(action)
    print(f"  {action[:60]} -> reward {reward:.2f}")
print(f"bought the target: success {info['success']}")
shop.close()
