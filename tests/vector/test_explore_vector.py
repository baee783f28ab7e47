"""Vector environments given a batch of the wrong shape: a single string is one action, not one
action per character, and a seed that is neither an int nor one per sub-environment is refused
naming the argument."""

from __future__ import annotations

from contextlib import closing

import pytest
from vector_test_envs import EchoEnv, Factory


def test_a_single_string_is_refused_not_split_into_characters(vector_cls):
    with closing(vector_cls([Factory(EchoEnv) for _ in range(4)])) as envs:
        envs.reset(seed=0)
        with pytest.raises(ValueError, match=r"one action per sub-environment \(4\), got the string 'stop'"):
            envs.step("stop")  # four characters for four environments: it used to play 's', 't', 'o', 'p'
        observations, rewards, terminations, *_ = envs.step(["stop"] * 4)  # the vector env still works
        assert list(observations) == ["stopped"] * 4 and terminations.all()


@pytest.mark.parametrize("seed", [1.5, "3", b"12"])
def test_a_seed_that_is_no_int_nor_one_per_environment_is_refused(vector_cls, seed):
    with closing(vector_cls([Factory(EchoEnv) for _ in range(2)])) as envs:
        with pytest.raises(ValueError, match=r"seed must be an int, a list of one int or None per "
                                             r"sub-environment \(2\), or None, got "):
            envs.reset(seed=seed)
        envs.reset(seed=[4, None])


def test_make_vec_refuses_a_bool_count_and_points_mode_process_to_isolation():
    from agentgym.vector import make_vec

    with pytest.raises(ValueError, match="num_envs must be a positive integer, got True"):
        make_vec("games/GuessTheNumber-v0", True)
    with pytest.raises(ValueError, match=r"got 'process' \(for environments in child processes, use isolation='process'\)"):
        make_vec("games/GuessTheNumber-v0", 2, mode="process")


def test_process_isolation_names_a_factory_that_cannot_be_pickled(vector_cls):
    with pytest.raises(TypeError, match=r"isolation='process' sends each factory to a child process, and "
                                        r"factory 1 cannot be pickled \(.*lambda.*\): use a module-level "
                                        r"function or functools.partial"):
        vector_cls([Factory(EchoEnv), lambda: EchoEnv()], isolation="process")


def test_a_numpy_array_of_seeds_seeds_each_environment(vector_cls):
    import numpy as np

    with closing(vector_cls([Factory(EchoEnv) for _ in range(2)])) as envs:
        observations, infos = envs.reset(seed=np.arange(5, 7))  # Gymnasium's reset refused np.int64 in every slot
        assert "env_failed" not in infos
        again, _ = envs.reset(seed=[5, 6])
        assert observations == again
