"""A policy call that times out is cancelled: its thread does not outlive it."""

import asyncio
import time

from agentgym.policies.base import Generation, Policy, SamplingParams
from agentgym.synthetic.experience import call_policy_batch
from tests.resource_probe import live_threads, started_since


class Hung(Policy):
    """A server that never answers (an async request that waits for good)."""

    name = "hung"

    def __init__(self):
        self.cancelled = False

    async def agenerate(self, requests, sampling):
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return [Generation("never")]


def test_a_timed_out_call_is_cancelled_and_its_thread_ends():
    before = live_threads()
    policy = Hung()
    generations, why = call_policy_batch(policy, ["x"], SamplingParams(), timeout=0.2)
    assert generations == [] and why == "the model did not answer within 0.2 s"
    deadline = time.monotonic() + 5
    while started_since(before) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert started_since(before) == [] and policy.cancelled
