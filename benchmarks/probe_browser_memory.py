"""Where one MiniWoB++ environment's memory goes, by process kind, under extra Chromium switches.

One ``MiniWoBEnv`` on a pool of one browser plays ``--steps`` random actions (new episodes as
they end); then the proportional set size (PSS) and the unique set size (USS) of this process
and every process below it are summed by kind: ``python`` (this process), ``node`` (Playwright's
driver) and ``chromium:<type>`` (``browser``, ``renderer``, ``zygote``, ``utility`` -- the
network service --, ``gpu-process``). Switches given on the command line are added to
``agentgym.browser.launch.CHROMIUM_ARGS`` for this run only::

    python benchmarks/probe_browser_memory.py                       # the default launch
    python benchmarks/probe_browser_memory.py --num-raster-threads=1

Run it on a quiet machine: PSS gives part of each shared page to every other program that maps
it (another Chromium on the machine makes ours look smaller). ``bench_web_miniwob.py`` is the
comparison against BrowserGym; this is the probe for trying one lever at a time.
"""

from __future__ import annotations

import argparse
import collections
import random
import time

import psutil


def kind_of(process: psutil.Process, me: int) -> str:
    if process.pid == me:
        return "python"
    if "node" in process.name():
        return "node"
    command = " ".join(process.cmdline())
    return "chromium:" + (command.split("--type=")[1].split()[0] if "--type=" in command else "browser")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="click-button")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args, switches = parser.parse_known_args()
    if any(not s.startswith("--") for s in switches):
        parser.error(f"Chromium switches start with --, got {switches}")

    import agentgym.browser.launch as launch

    launch.CHROMIUM_ARGS = (*launch.CHROMIUM_ARGS, *switches)
    from agentgym.browser import BrowserPool
    from agentgym.envs.web.miniwob.env import MiniWoBEnv

    pool = BrowserPool(1)
    env = MiniWoBEnv(task=args.task, pool=pool)
    try:
        rng = random.Random(args.seed)
        env.reset(seed=args.seed)
        for step in range(args.steps):
            _, _, terminated, truncated, _ = env.step(env.random_action(rng))
            if terminated or truncated:
                env.reset(seed=args.seed + step + 1)
        time.sleep(0.5)
        me = psutil.Process()
        pss: collections.Counter[str] = collections.Counter()
        uss: collections.Counter[str] = collections.Counter()
        for process in [me, *me.children(recursive=True)]:
            try:
                memory = process.memory_full_info()
                kind = kind_of(process, me.pid)
            except psutil.Error:
                continue
            pss[kind] += memory.pss >> 20
            uss[kind] += memory.uss >> 20
    finally:
        env.close()
        pool.close()
    by_kind = ", ".join(f"{kind} {mb}" for kind, mb in pss.most_common())
    print(f"{' '.join(switches) or 'default'}: PSS {sum(pss.values())} MB, USS {sum(uss.values())} MB ({by_kind})")


if __name__ == "__main__":
    main()
