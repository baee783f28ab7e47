"""GUI agents on generated apps, offline: a grounding episode (a phone screenshot, a click in
the agent's coordinate frame, and how three grounding rewards score a click near the target),
a multi-step navigation episode played by its oracle, and the oracle and a random agent on a
dozen episodes through the rollout engine.

Needs the ``web`` extra and Debian's Chromium (``make setup`` installs both). Writes
``grounding.png`` (the screenshot with the oracle's click and a near miss) to the current folder.
"""

import json

from PIL import Image, ImageDraw

import agentgym
from agentgym.policies.random import RandomPolicy
from agentgym.policies.scripted import OraclePolicy
from agentgym.rollout import RolloutConfig, Task, rollout

# ---------------------------------------------------------------- grounding: one click
env = agentgym.make("gui/Grounding-v0", device="phone")
observation, info = env.reset(seed=3)
print(observation["text"])  # the instruction and the coordinate frame the agent answers in
target = env.unwrapped.current_target()
left, top, right, bottom = target["box"]
print(f"target [{target['role']}] {target['label']!r} at box {[round(v) for v in target['box']]}")

oracle = json.loads(env.unwrapped.oracle_action())  # the centre of the target's box
near_miss = {"action": "click", "x": right + 6, "y": (top + bottom) / 2}  # just right of the box
picture = Image.fromarray(observation["image"])
pen = ImageDraw.Draw(picture)
pen.rectangle((left, top, right, bottom), outline=(0, 160, 0), width=2)
for click, colour in ((oracle, (0, 160, 0)), (near_miss, (220, 0, 0))):
    x, y = click["x"], click["y"]
    pen.ellipse((x - 6, y - 6, x + 6, y + 6), outline=colour, width=3)
picture.save("grounding.png")
print(f"screenshot {observation['image'].shape} -> grounding.png (green: the oracle's click, red: a near miss)")

for reward in ("click", "gaussian", "tiered"):  # the same near miss under each grounding reward
    scored = agentgym.make("gui/Grounding-v0", device="phone", reward=reward)
    scored.reset(seed=3)
    _, value, _, _, step_info = scored.step(json.dumps(near_miss))
    print(f"  reward={reward:<8} near miss scores {value:.3f} (success {step_info['success']})")
    scored.close()
_, value, terminated, _, info = env.step(json.dumps(oracle))
print(f"the oracle's click: reward {value}, success {info['success']}, the browser delivered it to the target: {info['gui']['hit_target']}")
env.close()

# ---------------------------------------------------------------- navigation: several steps
env = agentgym.make("gui/Navigation-v0")
observation, info = env.reset(seed=0)
print(observation["text"].splitlines()[0])
terminated = truncated = False
while not (terminated or truncated):
    action = env.unwrapped.oracle_action()
    observation, reward, terminated, truncated, info = env.step(action)
    print(f"  {action} -> reward {reward}")
print(f"judged on the app's state: success {info['success']}")
env.close()

# ---------------------------------------------------------------- many episodes at once
tasks = ([Task("gui/Grounding-v0", seed) for seed in range(6)]
         + [Task("gui/ActionPrediction-v0", seed) for seed in range(6)])
for policy in (OraclePolicy(), RandomPolicy(seed=0)):
    result = rollout(policy, tasks, RolloutConfig(max_turns=4, max_concurrent_episodes=6), progress=False)
    print(f"{policy.name:>8}: success {result.stats['success_rate']:.0%} over {len(tasks)} episodes, "
          f"errors {result.stats['errors']}")
