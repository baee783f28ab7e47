"""Coalescing (agentgym.ray.coalesce): the resets and steps that RayEnvRefs make on one worker's
environments in one event-loop tick go to that worker as one Ray call, and each call keeps its
own outcome: its result, the environment's exception, a timeout the caller can abandon, the
worker's death; an environment's calls run in the order they were made."""

from __future__ import annotations

import asyncio
import threading

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed; pip install 'agentgym[ray]'")

from agentgym.ray import RayEnvPool  # noqa: E402
from ray_test_envs import EnvBroke, make_scripted_env  # noqa: E402


def ray_calls(pool: RayEnvPool) -> list[int]:
    """Ray calls of coalesced resets/steps each worker received so far."""
    return [w["batches"] for w in pool.stats()["per_worker"]]


def others_tasks() -> list[asyncio.Task]:
    return [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]


def test_calls_made_together_go_as_one_ray_call_per_worker_and_keep_their_own_outcomes() -> None:
    with RayEnvPool(2, num_cpus_per_worker=0.5) as pool:
        refs = pool.open_many([make_scripted_env] * 6)  # three per worker
        before = ray_calls(pool)
        observations = run_together(lambda: [ref.areset(seed=i) for i, ref in enumerate(refs)])
        assert [o[0] for o in observations] == ["ready"] * 6
        assert [n - b for n, b in zip(ray_calls(pool), before)] == [1, 1]

        before = ray_calls(pool)
        actions = ["raise", "go", "go", "go", "raise", "go"]
        outcomes = run_together(lambda: [ref.astep(a) for ref, a in zip(refs, actions)], return_exceptions=True)
        assert [n - b for n, b in zip(ray_calls(pool), before)] == [1, 1]
        for action, outcome in zip(actions, outcomes):
            if action == "raise":  # the environment's own type, as Ray raises it for a plain call
                assert isinstance(outcome, EnvBroke) and isinstance(outcome, ray.exceptions.RayTaskError)
                assert "broke on purpose" in str(outcome) and "in play" in str(outcome)  # the worker's frames
            else:
                assert outcome[:4] == ("turn 1", 0.0, False, False)
        # one call alone is one Ray call too
        before = ray_calls(pool)
        assert run_together(lambda: [refs[1].astep("go")])[0][0] == "turn 2"
        assert sum(ray_calls(pool)) - sum(before) == 1


def test_an_environment_s_calls_run_in_the_order_they_were_made_coalesced_or_not() -> None:
    with RayEnvPool(1, num_cpus_per_worker=0.5) as pool:
        ref = pool.open(make_scripted_env)

        async def drive() -> tuple:
            queued = [ref.areset()] + [ref.astep("go") for _ in range(20)]  # coalesced, flushed next tick
            turn = ref.apply(lambda env: env.turn)  # sent at once: it must still wait for the 21 before it
            last = ref.astep("go")
            return await asyncio.gather(*queued), await turn, await last

        results, turn, last = asyncio.run(drive())
        assert [r[0] for r in results] == ["ready"] + [f"turn {n}" for n in range(1, 21)]
        assert turn == 20 and last[0] == "turn 21"


def test_a_hung_call_delays_no_other_outcome_times_out_at_its_caller_and_can_be_abandoned() -> None:
    with RayEnvPool(1, num_cpus_per_worker=0.5) as pool:
        hung, sibling = pool.open_many([make_scripted_env] * 2)

        async def drive() -> None:
            await asyncio.gather(hung.areset(), sibling.areset())
            hanging, stepping = hung.astep("hang"), sibling.astep("go")  # one Ray call
            assert (await asyncio.wait_for(stepping, 10))[0] == "turn 1"  # not held up by its neighbour
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(hanging, 0.5)
            assert await hung.abandon_and_wait(10) == 1  # its thread is left hung on the worker
            assert await hung.abandon_and_wait(10) is None  # abandoned already: nothing sent
            assert (await sibling.astep("go"))[0] == "turn 2"
            await asyncio.sleep(0.1)
            assert others_tasks() == []  # nothing keeps waiting on the Ray call that carried the hang

        asyncio.run(drive())
        stats = pool.stats()
        assert stats["hung_threads"] == 1 and stats["restarts"] == 0
        worker = stats["per_worker"][0]
        assert worker["collects"] >= 1  # the hung call's outcome was to follow its sibling's...
        assert worker["unfinished"] == 0  # ...and once abandoned, nothing of that batch is left
        with pytest.raises(RuntimeError, match="closed or abandoned"):
            run_together(lambda: [hung.astep("go")])


def test_a_worker_that_dies_fails_every_call_of_the_ray_call_not_answered_yet() -> None:
    with RayEnvPool(1, num_cpus_per_worker=0.5) as pool:
        refs = pool.open_many([make_scripted_env] * 3)
        run_together(lambda: [ref.areset() for ref in refs])
        outcomes = run_together(lambda: [ref.astep(a) for ref, a in zip(refs, ["crash", "hang", "hang"])],
                                return_exceptions=True)
        assert all(isinstance(o, ray.exceptions.RayActorError) for o in outcomes), outcomes


def test_a_call_cancelled_before_it_is_sent_or_that_cannot_be_sent_fails_alone() -> None:
    with RayEnvPool(1, num_cpus_per_worker=0.5) as pool:
        ref, sibling = pool.open_many([make_scripted_env] * 2)

        async def drive() -> None:
            await asyncio.gather(ref.areset(), sibling.areset())
            cancelled = ref.astep("go")
            cancelled.cancel()  # before the flush: it only takes its turn on the worker
            unsendable = ref.astep(threading.Lock())
            after, beside = ref.astep("go"), sibling.astep("go")
            with pytest.raises(Exception, match="(?i)pickle|serializ"):
                await unsendable
            assert (await after)[0] == "turn 1"  # neither the cancelled nor the unsendable step ran
            assert (await beside)[0] == "turn 1"
            assert (await ref.astep("go"))[0] == "turn 2"  # no gap left in the environment's call order

        asyncio.run(drive())


def run_together(make_calls, return_exceptions: bool = False) -> list:
    """Make the calls ``make_calls()`` returns in one tick of a fresh event loop; their outcomes."""

    async def drive() -> list:
        return list(await asyncio.gather(*make_calls(), return_exceptions=return_exceptions))

    return asyncio.run(drive())
