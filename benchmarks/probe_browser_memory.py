"""Where one MiniWoB++ environment's memory goes, by process kind, under extra Chromium switches.

One ``MiniWoBEnv`` on a pool of one browser plays ``--steps`` random actions (new episodes as
they end); then the proportional set size (PSS, :func:`browser_bench.pss_rss`) of this process
and every process below it is summed by kind: ``python`` (this process), ``node`` (Playwright's
driver) and ``chromium:<type>`` (``browser``, ``renderer``, ``zygote``, ``utility`` -- the
network service --, ``gpu-process``), with the tree's own memory
(:func:`browser_bench.distinct_bytes`, each physical page once). Switches given on the command
line are added to ``agentgym.browser.launch.CHROMIUM_ARGS`` for this run only::

    python benchmarks/probe_browser_memory.py                       # the default launch
    python benchmarks/probe_browser_memory.py --num-raster-threads=1

Run it on a quiet machine: PSS gives part of each shared page to every other program that maps
it (another Chromium on the machine makes ours look smaller). ``bench_web_miniwob.py`` is the
comparison against BrowserGym; this is the probe for trying one lever at a time.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import time

import psutil
from browser_bench import distinct_bytes, process_tree, pss_rss
from bench_cli import ShowDefaults, positive_int


def kind_of(process: psutil.Process, me: int) -> str:
    if process.pid == me:
        return "python"
    if "node" in process.name():
        return "node"
    command = " ".join(process.cmdline())
    return "chromium:" + (command.split("--type=")[1].split()[0] if "--type=" in command else "browser")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=ShowDefaults)
    parser.add_argument("--task", default="click-button")
    parser.add_argument("--steps", type=positive_int, default=60)
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
        tree = process_tree([os.getpid()])
        pss: collections.Counter[str] = collections.Counter()
        for process in tree:
            try:
                pss[kind_of(process, os.getpid())] += pss_rss(process)[0] >> 20
            except psutil.Error:
                continue
        own = distinct_bytes(tree)
    finally:
        env.close()
        pool.close()
    by_kind = ", ".join(f"{kind} {mb}" for kind, mb in pss.most_common())
    own_text = "unreadable" if own is None else f"{own >> 20} MB"
    print(f"{' '.join(switches) or 'default'}: PSS {sum(pss.values())} MB, own {own_text} ({by_kind})")


if __name__ == "__main__":
    main()
