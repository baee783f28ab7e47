"""Step an environment that lives on an environment server, as if it were local.

In production the server runs elsewhere (``agentgym serve-env --host 0.0.0.0`` with
``AGENTGYM_API_KEY`` set); here one is started on a background thread on loopback.
"""

import asyncio
import re

import agentgym
from agentgym.remote import AsyncRemoteEnv, running_env_server


async def many_sessions_over_websockets(url: str, count: int = 16) -> list[float]:
    """``count`` sessions from one event loop, each over its own WebSocket: ``areset``/``astep``."""

    async def play(seed: int) -> float:
        async with AsyncRemoteEnv("games/GuessTheNumber-v0", server=url) as remote:
            observation, _ = await remote.areset(seed=seed)
            low, high = 1, int(re.search(r"between 1 and (\d+)", observation).group(1))
            while True:
                guess = (low + high) // 2
                observation, reward, terminated, truncated, _ = await remote.astep(str(guess))
                if terminated or truncated:
                    return reward
                low, high = (guess + 1, high) if "higher" in observation else (low, guess - 1)

    return await asyncio.gather(*(play(seed) for seed in range(count)))


with running_env_server() as url:
    env = agentgym.make("games/GuessTheNumber-v0", server=url)  # a RemoteEnv: same arguments as locally
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

    rewards = asyncio.run(many_sessions_over_websockets(url))
    print(f"{len(rewards)} WebSocket sessions on one event loop: mean reward {sum(rewards) / len(rewards):.2f}")

# The server has shut down: the client answers an error observation, it does not hang or raise.
observation, reward, terminated, truncated, info = env.step("50")
print(f"after shutdown: truncated={truncated}, info['remote_error']={info['remote_error']!r}")
env.close()
