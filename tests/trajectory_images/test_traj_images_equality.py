"""Trajectories holding images compare with ``==``: images by their pixels, read or not yet read."""

import copy

import numpy as np

from agentgym.trajectory import Trajectory, TrajectoryWriter, Turn, read_trajectories


def screen(value=0, shape=(6, 8, 3)):
    return np.full(shape, value, dtype=np.uint8)


def episode(first=screen(1), second=screen(2)):
    messages = [{"role": "user", "content": [{"type": "text", "text": "Screen 0"}, {"type": "image", "image": first}]},
                {"role": "assistant", "content": "click(1, 2)"},
                {"role": "user", "content": [{"type": "image", "image": second}]}]
    turns = [Turn(0, "Screen 0", "click(1, 2)", observation_image=first),
             Turn(1, "Screen 1", "noop()", observation_image=second)]
    return Trajectory(env_id="testing/Gui-v0", turns=turns, messages=messages, created_at="2026-01-01")


def test_a_copy_is_equal_and_a_changed_pixel_is_not():
    original = episode()
    assert original == copy.deepcopy(original)
    changed = copy.deepcopy(original)
    changed.messages[2]["content"][0]["image"][0, 0, 0] = 9
    assert original != changed
    assert original.turns[0] == copy.deepcopy(original.turns[0])
    assert original.turns[0] != original.turns[1]


def test_shape_and_dtype_count_and_an_image_never_equals_text():
    assert Turn(0, "o", "a", observation_image=screen(0, (6, 8, 3))) != Turn(0, "o", "a", observation_image=screen(0, (8, 6, 3)))
    assert Turn(0, "o", "a", observation_image=screen(0)) != Turn(0, "o", "a", observation_image=screen(0).astype(np.int16))
    assert Turn(0, "o", "a", observation_image=screen(0)) != Turn(0, "o", "a", observation_image="image")
    assert Turn(0, "o", "a") != object()


def test_read_back_equal_with_images_loaded_or_lazy(tmp_path):
    original = episode()
    path = tmp_path / "runs.jsonl"
    with TrajectoryWriter(path) as writer:
        writer.write(original)
    assert read_trajectories(path) == [original]
    lazy = read_trajectories(path, lazy_images=True)[0]
    assert lazy == original and original == lazy
    assert lazy != episode(second=screen(3))
