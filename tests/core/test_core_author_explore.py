"""Mistakes a custom-environment author makes, and what agentgym's core says about them.

Found by exploratory testing of :class:`~agentgym.LLMEnv`, the registry and the contract
checks from the side of someone writing their own environment: a hook returning the wrong
thing, a reset that fails after acquiring, a constructor that forgets ``super().__init__()``,
registration arguments of the wrong type. Each test pins one defect that was fixed.
"""

from __future__ import annotations

import asyncio

import pytest
from gymnasium.error import ResetNeeded

from agentgym import ConfigError, Feedback, LLMEnv
from agentgym.registry import list_envs, register
from agentgym.testing import check_hidden_answer, check_hostile_actions


class Counted(LLMEnv):
    """``win`` wins, anything else goes on; counts acquires and releases."""

    instructions = "Say win."
    example_actions = ("win", "wait")

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.acquired = self.released = 0

    def acquire_resources(self) -> None:
        self.acquired += 1

    def release_resources(self) -> None:
        self.released += 1

    def new_episode(self, options):
        self.secret = self.rng.randint(0, 999)
        return f"Say win ({self.secret})."

    def play(self, action):
        won = action == "win"
        return Feedback("won" if won else "waiting", {"outcome": float(won)}, terminated=won, success=won)


class AsyncCounted(Counted):
    """The same environment with an async ``play`` (the generator program, not the fast path)."""

    async def aplay(self, action):
        return Counted.play(self, action)


_WRONG_RETURNS = [
    (None, "got None"),
    ("a plain string", "got 'a plain string'"),
    (Feedback("x", 1.0), "rewards are a dict of numbers"),  # type: ignore[arg-type]
    (Feedback("x", {"outcome": "1"}), "rewards are a dict of numbers"),
    # info["success"] beside success=False said two things; the reward is the components' sum.
    (Feedback("x", {"outcome": 0.0}, info={"success": True, "reward_components": {"outcome": 1.0}}),
     r"info leaves \['reward_components', 'success'\] to the step"),
]


@pytest.mark.parametrize("base", [Counted, AsyncCounted], ids=["sync", "async"])
@pytest.mark.parametrize("returned, says", _WRONG_RETURNS, ids=["None", "str", "float-rewards", "str-reward",
                                                                           "core-info-keys"])
def test_play_that_returns_no_feedback_is_a_type_error_that_ends_the_episode(base, returned, says):
    """A ``play`` returning something other than a Feedback (a forgotten ``return``, a
    Gymnasium 5-tuple, rewards as one number) was an AttributeError about ``terminated`` or
    ``values`` from inside ``step``, and the episode went on with its resources held."""

    class Wrong(base):
        def play(self, action):
            return returned

        async def aplay(self, action):
            return returned

    if base is Counted:
        del Wrong.aplay  # keep the sync fast path
    env = Wrong()
    env.reset(seed=0)
    with pytest.raises(TypeError, match=rf"Wrong\.a?play must return a Feedback.*{says}"):
        env.step("win")
    assert (env.acquired, env.released, env.episode_active) == (1, 1, False)
    with pytest.raises(ResetNeeded):
        env.step("win")
    env.close()
    assert env.released == 1


class _BrokenInstructions(Counted):
    @property
    def instructions(self):
        return f"Say win, not {self.missing}."  # a bug: no such attribute


class _AsyncBrokenInstructions(_BrokenInstructions):
    async def anew_episode(self, options):
        return Counted.new_episode(self, options)


@pytest.mark.parametrize("cls", [_BrokenInstructions, _AsyncBrokenInstructions], ids=["sync", "async"])
def test_reset_whose_info_cannot_be_built_leaves_no_episode(cls):
    """``instructions`` (or the tool listing) raising in ``reset`` after ``new_episode``
    returned left the episode active with its resources held: the failed reset could be
    stepped, and nothing was released until the next reset or close."""
    env = cls()
    with pytest.raises(AttributeError, match="missing"):
        env.reset(seed=0)
    assert (env.acquired, env.released, env.episode_active) == (1, 1, False)
    with pytest.raises(ResetNeeded):
        env.step("win")
    env.close()
    assert env.released == 1


def test_async_reset_whose_info_cannot_be_built_leaves_no_episode():
    env = _AsyncBrokenInstructions()

    async def main():
        with pytest.raises(AttributeError, match="missing"):
            await env.areset(seed=0)
        assert (env.acquired, env.released, env.episode_active) == (1, 1, False)
        await env.aclose()

    asyncio.run(main())
    assert env.released == 1


def test_a_negative_invalid_penalty_is_refused():
    """``invalid_penalty`` is subtracted: -0.5 (a penalty written as a negative reward) paid
    every invalid action +0.5, without a word."""
    with pytest.raises(ConfigError, match=r"Counted: invalid_penalty must be at least 0.*-0\.5"):
        Counted(invalid_penalty=-0.5)


def test_an_environment_without_difficulties_is_named():
    class NoLevels(Counted):
        difficulties = ()

    with pytest.raises(ConfigError, match="NoLevels.difficulties must name at least one level"):
        NoLevels()


def test_a_constructor_that_forgets_super_init_is_told_so():
    """Forgetting ``super().__init__()`` was an AttributeError about ``_sync_hooks_only``, a
    private name that says nothing to the author."""

    class Forgetful(Counted):
        def __init__(self, size=3):
            self.size = size

    env = Forgetful()
    for call in (lambda: env.reset(seed=0), lambda: env.step("win")):
        with pytest.raises(TypeError, match=r"Forgetful\.__init__ must call super\(\)\.__init__"):
            call()
    # close, in the caller's finally, has nothing to release: it hid the TypeError behind an
    # AttributeError about _toolsets_open
    env.close()
    asyncio.run(env.aclose())


def test_register_refuses_a_family_or_description_that_is_no_string():
    """A family given as a tuple (or a number) was registered, then broke ``families()`` and
    ``agentgym list`` with a TypeError from deep inside sorting or printing."""
    with pytest.raises(ConfigError, match=r"family must be a non-empty string.*\('mine',\)"):
        register("explore-author/Fam-v0", Counted, family=("mine",))
    with pytest.raises(ConfigError, match="description must be a string"):
        register("explore-author/Desc-v0", Counted, description=None)


def test_register_without_a_version_or_namespace_is_a_config_error():
    """Documented as ConfigError (what ``--import`` reports in one line), raised as ValueError."""
    with pytest.raises(ConfigError, match="needs a version suffix"):
        register("explore-author/NoVersion", Counted)
    with pytest.raises(ConfigError, match="give a family"):
        register("NoNamespaceExplore-v0", Counted)


def test_list_envs_refuses_tags_given_as_one_string():
    """``tags="hidden-answer"`` filtered by the letters of the string: nothing matched."""
    with pytest.raises(ConfigError, match="tags must be a list of strings, got the string 'hidden-answer'"):
        list_envs(tags="hidden-answer")


def test_check_hidden_answer_names_a_reference_answer_that_is_no_string():
    """A reference answer returned as the secret number itself (an int) made the check fail
    with "decoding to str: need a bytes-like object" from inside ``re.escape``."""

    class IntAnswer(Counted):
        @property
        def reference_answer(self):
            return self.secret

    with pytest.raises(AssertionError, match=r"IntAnswer\.reference_answer must be a string or None, got int"):
        check_hidden_answer(IntAnswer(), seeds=(0, 1))


def test_check_hostile_actions_says_what_is_wrong_with_a_step():
    """A wrapper that reshapes the reward without its components, or drops the info keys,
    failed the check with a bare AssertionError."""
    import gymnasium as gym

    class Shaped(gym.Wrapper):
        def step(self, action):
            observation, reward, terminated, truncated, info = self.env.step(action)
            return observation, reward - 0.5, terminated, truncated, info

    class NoInfo(gym.Wrapper):
        def step(self, action):
            return (*self.env.step(action)[:4], {})

    not_the_sum = r"reward -0\.5 after step\(''\) is not the sum of info\['reward_components'\]"
    with pytest.raises(AssertionError, match=not_the_sum):
        check_hostile_actions(Shaped(Counted()), n=3)
    with pytest.raises(AssertionError, match=r"info after step\(''\) lacks 'reward_components', 'error', 'success'"):
        check_hostile_actions(NoInfo(Counted()), n=3)


@pytest.mark.parametrize("cls", [Counted, AsyncCounted], ids=["sync", "async"])
def test_an_action_of_a_str_subclass_is_played_as_text(cls):
    """NumPy's ``np.str_`` (each item of ``np.array(["win", "wait"])``, the batched actions a
    vector env iterates) was refused as invalid, with the message that the action of 3
    characters was longer than the limit of 20000."""
    import numpy as np

    env = cls(max_action_chars=5)
    env.reset(seed=0)
    observation, reward, terminated, _, info = env.step(np.str_("wait"))
    assert (observation, info["error"]) == ("waiting", None)
    observation, _, _, _, info = env.step(np.str_("waiting"))
    assert info["error"] == "the action is 7 characters long; the limit is 5"
    assert env.step(np.array(["win"])[0])[2:4] == (True, False)
    env.close()


def test_an_areset_after_a_cancelled_astep_of_a_sync_env_waits_for_the_step_it_abandoned():
    """``astep`` of an environment without async hooks runs ``step`` in a worker thread, which
    a cancelled await (``asyncio.wait_for``) leaves running. The next ``areset`` ran beside it:
    the abandoned move then ended the *new* episode and released its resources."""
    import threading

    class Gate(Counted):
        def __init__(self, **kwargs) -> None:
            super().__init__(**kwargs)
            self.entered, self.gate = threading.Event(), threading.Event()

        def play(self, action):
            self.entered.set()
            self.gate.wait(10)
            return super().play(action)

    async def main():
        env = Gate()
        await env.areset(seed=0)
        step = asyncio.ensure_future(env.astep("win"))
        await asyncio.to_thread(env.entered.wait, 10)
        step.cancel()
        with pytest.raises(asyncio.CancelledError):
            await step
        reset = asyncio.ensure_future(env.areset(seed=1))
        done, _ = await asyncio.wait({reset}, timeout=0.1)
        assert not done, "the reset ran while the abandoned step still played"
        env.gate.set()
        observation, info = await reset
        assert info["task_id"].startswith("Gate-default-1-")
        assert (env.acquired, env.released, env.episode_active) == (2, 1, True)
        await env.aclose()
        assert env.released == 2

    asyncio.run(main())


def test_a_plugin_that_exits_on_import_is_skipped_with_a_warning(tmp_path, monkeypatch):
    """A plugin pointing at a script-like module (``parser.parse_args()`` at import, reading
    agentgym's own command line) raised SystemExit out of ``load_plugins``: agentgym itself
    exited, and the plugins after it were never loaded. The docstring promises a warning."""
    from importlib import metadata

    from agentgym import registry

    (tmp_path / "explore_exiting_plugin.py").write_text("import sys\nsys.exit(2)\n")
    (tmp_path / "explore_fine_plugin.py").write_text("LOADED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    plugins = [metadata.EntryPoint("exits", "explore_exiting_plugin", registry.ENTRY_POINT_GROUP),
               metadata.EntryPoint("fine", "explore_fine_plugin", registry.ENTRY_POINT_GROUP)]
    monkeypatch.setattr(registry.metadata, "entry_points",
                        lambda group: [p for p in plugins if p.group == group])
    with pytest.warns(UserWarning, match=r"environment plugin 'exits' \(explore_exiting_plugin\) failed to load and was skipped: "
                                         r"SystemExit\(2\)"):
        registry.load_plugins(reload=True)
    import sys

    assert sys.modules["explore_fine_plugin"].LOADED


class _AsyncOnly(LLMEnv):
    """Async hooks only (a client of an async service): the sync API runs them on a private
    loop. Its release fails; ``aclose`` notes that it ran."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.closed_service = False

    async def anew_episode(self, options):
        return "ready"

    async def aplay(self, action):
        return Feedback("ok", {})

    async def arelease_resources(self):
        raise OSError("release failed")

    async def aclose(self):
        await super().aclose()
        self.closed_service = True


def test_close_whose_release_fails_still_closes_the_rest_then_raises():
    """A release that raised in ``close`` skipped the rest of it: the class's own ``aclose``
    (its service connection) never ran and the private event loop (three file descriptors)
    stayed open until garbage collection."""
    env = _AsyncOnly()
    env.reset(seed=0)
    with pytest.raises(OSError, match="release failed"):
        env.close()
    assert env.closed_service and env._private_loop is None
    env.close()  # not retried: no second error


def test_aclose_whose_release_fails_still_closes_the_rest_then_raises():
    class Closing(Counted):
        def release_resources(self):
            raise OSError("release failed")

        def close(self):
            super().close()
            self.closed_too = True

    env = Closing()
    env.reset(seed=0)
    with pytest.raises(OSError, match="release failed"):
        asyncio.run(env.aclose())
    assert env.closed_too


def test_check_hostile_actions_names_a_reward_that_is_no_finite_number():
    """A NaN reward (a division by zero on the action "0") was reported as not the sum of its
    components, which it is (NaN is no number equal to itself)."""

    class NaNOnZero(Counted):
        def play(self, action):
            if action == "0":
                return Feedback("zero", {"outcome": float("nan")})
            return super().play(action)

    with pytest.raises(AssertionError, match=r"reward nan after step\('0'\) is not a finite number"):
        check_hostile_actions(NaNOnZero(), n=15)


def test_pickles_without_lock_snapshots_the_containers_it_holds_under_the_lock():
    """``__getstate__`` copied the attribute dict under the lock, but the lists, dicts and
    arrays in it were serialised after the lock was let go: a writer adding to the object
    meanwhile (a replay buffer filled by rollout threads) made ``copy.deepcopy`` and
    ``pickle`` fail with "dictionary changed size during iteration", or copy a torn state."""
    import copy
    import threading

    import numpy as np

    from agentgym.locked_state import PicklesWithoutLock

    class Buffer(PicklesWithoutLock):
        def __init__(self):
            self._lock = threading.Lock()
            self.items = {"a": 1}
            self.order = ["a"]
            self.view = self.order  # the same list under two names
            self.counts = np.zeros(2, np.int64)

        def add(self, key):  # what a writer does once the lock is free again
            with self._lock:
                self.items[key] = 2
                self.order.append(key)
                self.counts[0] += 1

    buffer = Buffer()
    state = buffer.__getstate__()
    buffer.add("b")
    assert state["items"] == {"a": 1} and state["order"] == ["a"] and state["counts"].tolist() == [0, 0]
    assert state["view"] is state["order"]
    clone = copy.deepcopy(buffer)
    assert clone.view is clone.order and clone.order == ["a", "b"]


def test_an_async_twin_written_without_async_is_named():
    """``def aplay`` (``async`` forgotten) was "An asyncio.Future, a coroutine or an awaitable
    is required" from ``step`` and "object Feedback can't be used in 'await' expression" from
    ``astep``: neither named the hook."""

    class NotAsync(Counted):
        play = LLMEnv.play  # only the async twin

        def aplay(self, action):  # should be async def
            return Feedback("ok", {})

    env = NotAsync()
    env.reset(seed=0)
    with pytest.raises(TypeError, match=r"NotAsync\.aplay must be an async def \(it is awaited\); it returned "):
        env.step("win")
    assert (env.released, env.episode_active) == (1, False)

    async def main():
        await env.areset(seed=0)
        with pytest.raises(TypeError, match=r"NotAsync\.aplay must be an async def"):
            await env.astep("win")

    asyncio.run(main())
    assert (env.released, env.episode_active) == (2, False)


def test_make_of_an_id_registered_with_gymnasium_alone_says_so():
    """An environment registered the Gymnasium way (``gymnasium.register``) was "no environment
    registered as ...", with the advice to import the module that registers it: it was."""
    import gymnasium as gym

    from agentgym.registry import make

    gym.register("explore-author/GymOnly-v0", entry_point=Counted)
    try:
        with pytest.raises(KeyError, match=r"'explore-author/GymOnly-v0' is registered with Gymnasium but not with "
                                           r"agentgym: register it with agentgym\.register"):
            make("explore-author/GymOnly-v0")
    finally:
        gym.registry.pop("explore-author/GymOnly-v0")


class _Exhausted(Counted):
    """``play`` reads its next question with ``next()``, past the end of the iterator."""

    def new_episode(self, options):
        self.questions = iter(["first question"])
        return next(self.questions)

    def play(self, action):
        return Feedback(next(self.questions), {})


class _AsyncExhausted(_Exhausted):
    async def aplay(self, action):
        return _Exhausted.play(self, action)


@pytest.mark.parametrize("cls", [_Exhausted, _AsyncExhausted], ids=["sync", "async"])
def test_a_hook_that_raises_stop_iteration_is_a_runtime_error_naming_it(cls):
    """A StopIteration from ``play`` (``next()`` on an exhausted iterator) cannot travel through
    a generator or a future: ``await env.astep(...)`` of a sync environment hung for ever
    (asyncio: "StopIteration ... cannot be raised into a Future"), the rollout engine's worker
    too, and the async-hook path said "generator raised StopIteration"."""
    env = cls()
    env.reset(seed=0)
    with pytest.raises(RuntimeError, match=rf"{cls.__name__}\.a?play raised StopIteration") as raised:
        env.step("win")
    assert isinstance(raised.value.__cause__, StopIteration)
    assert (env.released, env.episode_active) == (1, False)

    async def main():
        await env.areset(seed=0)
        with pytest.raises(RuntimeError, match=r"play raised StopIteration"):
            await asyncio.wait_for(env.astep("win"), 5)

    asyncio.run(main())
    assert env.released == 2

    class NoTask(cls):
        def new_episode(self, options):
            return next(iter(()))

    env = NoTask()
    with pytest.raises(RuntimeError, match=r"NoTask\.new_episode raised StopIteration"):
        env.reset(seed=0)
    assert (env.acquired, env.released) == (1, 1)


def test_metadata_without_render_modes_is_no_key_error():
    """A class's own ``metadata`` without ``render_modes`` (Gymnasium's Env has it) made every
    construction fail with KeyError: 'render_modes', render_mode given or not."""

    class Described(Counted):
        metadata = {"description": "mine"}

    assert Described().render_mode is None
    with pytest.raises(ConfigError, match=r"Described: render_mode must be None or one of \[\], got 'ansi'"):
        Described(render_mode="ansi")


def test_the_rule_reminder_drawn_from_instructions_is_not_cut_at_an_abbreviation():
    """``hint(1)`` of an environment without ``rule_reminder`` is the first sentence of its
    instructions; "e.g." and "i.e." ended that sentence, so the agent was reminded
    "Reply with a column (i.e." (what the Hinted wrapper appends to observations)."""

    class Abbreviated(Counted):
        instructions = "Reply with a column (i.e. a number), e.g. 3. The first to connect four wins."

    env = Abbreviated()
    env.reset(seed=0)
    assert env.hint(1) == "Reply with a column (i.e. a number), e.g. 3."
