"""Step an environment that lives on an environment server, as if it were local.

In production the server runs elsewhere (``agentgym serve-env --host 0.0.0.0`` with
``AGENTGYM_API_KEY`` set); here one is started on a background thread on loopback.
"""

import re

import agentgym
from agentgym.remote import RemoteEnv, running_env_server

with running_env_server() as url:
    env = RemoteEnv("games/GuessTheNumber-v0", server=url)  # same arguments as agentgym.make
    observation, info = env.reset(seed=42)
    print(f"server {url}, session {env.session_id[:8]}: {observation}")
    low, high = 1, int(re.search(r"between 1 and (\d+)", observation).group(1))
    terminated = truncated = False
    while not (terminated or truncated):  # binary search on the server's hints
        guess = (low + high) // 2
        observation, reward, terminated, truncated, info = env.step(str(guess))
        print(f"  {guess:>4} -> {observation}")
        if "higher" in observation:
            low = guess + 1
        elif "lower" in observation:
            high = guess - 1
    print(f"success={info['success']} reward={reward}")

    local = agentgym.make("games/GuessTheNumber-v0")  # the same seed gives the same episode locally
    assert local.reset(seed=42)[0] == env.reset(seed=42)[0]

# The server has shut down: the client answers an error observation, it does not hang or raise.
observation, reward, terminated, truncated, info = env.step("50")
print(f"after shutdown: truncated={truncated}, info['remote_error']={info['remote_error']!r}")
env.close()
