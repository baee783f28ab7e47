"""Trajectories keep their images by reference: PNG files beside the JSONL, loaded back equal."""

import json
import threading

import numpy as np
import pytest

from agentgym.images import ImageFileError, ImageLoader, ImageRef, image_digest
from agentgym.trajectory import (
    Trajectory,
    TrajectoryReader,
    TrajectoryWriter,
    Turn,
    image_folder,
    read_trajectories,
)

RNG = np.random.default_rng(1)


def screenshot(height=48, width=64, channels=3):
    return RNG.integers(0, 256, (height, width, channels), dtype=np.uint8)


def multimodal(screens, *, action="click(10, 20) on the Save button", final_text="Saved."):
    """A trajectory shaped as the rollout engine records one: image parts in the user messages,
    each turn's observation image."""
    messages = [{"role": "system", "content": "You operate a GUI."}]
    turns = []
    for index, screen in enumerate(screens):
        messages.append({"role": "user", "content": [{"type": "text", "text": f"Screen {index}"},
                                                     {"type": "image", "image": screen}]})
        messages.append({"role": "assistant", "content": action})
        turns.append(Turn(index, f"Screen {index}", action, reward=0.5, observation_image=screen))
    messages.append({"role": "user", "content": final_text})
    return Trajectory(env_id="testing/Gui-v0", seed=3, turns=turns, messages=messages)


def image_parts(trajectory):
    return [part for m in trajectory.messages if isinstance(m.get("content"), list)
            for part in m["content"] if part.get("type") == "image"]


def test_round_trip_gives_equal_arrays_and_stores_each_image_once(tmp_path):
    screens = [screenshot(), screenshot(), screenshot(20, 30, 4), screenshot(16, 16)[:, :, 0]]
    screens.append(screens[0])  # the first screen again
    trajectory = multimodal(screens)
    path = tmp_path / "trajectories.jsonl"
    with TrajectoryWriter(path) as writer:
        writer.write(trajectory)
        writer.write(multimodal(screens[:2]))  # same images again, in another trajectory
    folder = image_folder(path)
    assert folder == tmp_path / "trajectories.images"
    assert sorted(p.name for p in folder.iterdir()) == sorted({f"{image_digest(s)}.png" for s in screens})

    record = json.loads(path.read_text().splitlines()[0])
    part = record["messages"][1]["content"][1]
    assert part == {"type": "image", "image_ref": f"trajectories.images/{image_digest(screens[0])}.png",
                    "shape": [48, 64, 3]}
    assert record["turns"][2]["observation_image"] == {
        "image_ref": f"trajectories.images/{image_digest(screens[2])}.png", "shape": [20, 30, 4]}

    back, again = read_trajectories(path)
    assert len(image_parts(back)) == len(screens) and len(again.turns) == 2
    for original, part, turn in zip(screens, image_parts(back), back.turns):
        assert part.keys() == {"type", "image"} and part["image"].dtype == np.uint8
        assert np.array_equal(part["image"], original) and part["image"].shape == original.shape
        assert turn.observation_image is part["image"]  # one array per stored image within a trajectory
    # everything but the arrays is as it was
    assert back.to_dict().keys() == trajectory.to_dict().keys()
    for message, original in zip(back.messages, trajectory.messages):
        assert message.keys() == original.keys() and message["role"] == original["role"]
    assert [t.action for t in back.turns] == [t.action for t in trajectory.turns]


def test_lines_stay_small_whatever_the_images(tmp_path):
    """A 10-turn episode of 1280 x 800 screenshots (3 MB of pixels each) is a line of a few KB."""
    screens = [np.full((800, 1280, 3), i * 20, np.uint8) for i in range(10)]
    with TrajectoryWriter(tmp_path / "big.jsonl") as writer:
        writer.write(multimodal(screens))
    line = (tmp_path / "big.jsonl").read_bytes()
    assert len(line) < 8_000, len(line)  # ~ 250 bytes per image part, ~ 150 per observation image
    assert b"base64" not in line and len(list(image_folder(tmp_path / "big.jsonl").iterdir())) == 10


def test_in_memory_copy_keeps_the_arrays():
    """Without a store, to_dict keeps the arrays themselves and from_dict takes them back."""
    screens = [screenshot(), screenshot()]
    copy = Trajectory.from_dict(multimodal(screens).to_dict())
    assert [id(part["image"]) for part in image_parts(copy)] == [id(s) for s in screens]
    assert [id(turn.observation_image) for turn in copy.turns] == [id(s) for s in screens]
    assert [id(image) for image in copy.message_images()] == [id(s) for s in screens]


def test_non_images_are_described_and_odd_dicts_read_back_as_they_were(tmp_path):
    image = screenshot(8, 8)
    messages = [
        {"role": "user", "content": [
            {"type": "image", "image": np.zeros((4, 4, 3), np.float32)},  # not an image: described
            {"type": "image", "image": image, "shape": "my own shape key"},  # would collide with "shape"
            {"type": "image", "image_ref": "t.images/0.png", "shape": [1, 1]},  # looks like a reference
            {"verbatim_part": {"type": "text"}},  # looks like the escape
            {"type": "image", "image": {"image_ref": "x.png", "shape": [2]}},  # a dict where the image goes
            {"type": "image", "image": image, "detail": "high"},
        ]},
        {"role": "assistant", "content": "done " * 10},
    ]
    trajectory = Trajectory(turns=[Turn(0, "look", "done " * 10, observation_image=np.zeros(3))], messages=messages)
    with TrajectoryWriter(tmp_path / "t.jsonl") as writer:
        writer.write(trajectory)
    [back] = read_trajectories(tmp_path / "t.jsonl")
    parts = back.messages[0]["content"]
    assert parts[0] == {"type": "image", "image": "<ndarray shape=(4, 4, 3) dtype=float32>"}
    assert parts[1].keys() == {"type", "image", "shape"} and parts[1]["shape"] == "my own shape key"
    assert np.array_equal(parts[1]["image"], image)
    assert parts[2:5] == messages[0]["content"][2:5]
    assert parts[5].keys() == {"type", "image", "detail"} and np.array_equal(parts[5]["image"], image)
    assert back.turns[0].observation_image == "<ndarray shape=(3,) dtype=float64>"
    assert back.messages[1] == messages[1]
    # the same holds for an in-memory copy
    copy = Trajectory.from_dict(trajectory.to_dict())
    assert copy.messages[0]["content"][2:5] == messages[0]["content"][2:5]
    assert copy.messages[0]["content"][1]["image"] is image


def test_lazy_reading_reads_no_image_until_asked(tmp_path, monkeypatch):
    screens = [screenshot(), screenshot()]
    path = tmp_path / "t.jsonl"
    with TrajectoryWriter(path) as writer:
        writer.write(multimodal(screens))
    reads = []
    read = ImageLoader._read
    monkeypatch.setattr(ImageLoader, "_read", lambda self, *args: reads.append(args) or read(self, *args))
    [lazy] = TrajectoryReader(path, lazy_images=True)
    assert reads == []
    refs = [part["image"] for part in image_parts(lazy)]
    assert all(isinstance(ref, ImageRef) for ref in refs) and isinstance(lazy.turns[0].observation_image, ImageRef)
    assert [np.array_equal(ref.load(), s) for ref, s in zip(refs, screens)] == [True, True]
    assert len(reads) == 2
    # written again (to another folder), a lazily read trajectory stores the images it names
    with TrajectoryWriter(tmp_path / "copy" / "again.jsonl") as writer:
        writer.write(lazy)
    [again] = read_trajectories(tmp_path / "copy" / "again.jsonl")
    assert all(np.array_equal(p["image"], s) for p, s in zip(image_parts(again), screens))
    assert (tmp_path / "copy" / "again.images").is_dir()


def test_a_missing_image_file_is_a_clear_error(tmp_path):
    path = tmp_path / "run.jsonl"
    with TrajectoryWriter(path) as writer:
        writer.write(multimodal([screenshot()], action="first"))
        writer.write(multimodal([screenshot()], action="second"))
    second = json.loads(path.read_text().splitlines()[1])["turns"][0]["observation_image"]["image_ref"]
    (tmp_path / second).unlink()
    reader = TrajectoryReader(path)
    with pytest.raises(ImageFileError, match=rf"run\.jsonl, line 2: image file .*{second[-20:]} is missing"):
        list(reader)
    assert [t.turns[0].action for t in TrajectoryReader(path, lazy_images=True)] == ["first", "second"]


def test_image_files_exist_before_the_line_that_refers_to_them(tmp_path):
    """Crash safety: at the moment a line is written, every file it names is whole on disk, so a
    crash at any point leaves no line pointing at a missing or partial image."""
    path = tmp_path / "t.jsonl"
    writer = TrajectoryWriter(path, fsync=True)
    checked = []

    class CheckingFile:
        def __init__(self, file):
            self.file = file

        def write(self, data):
            if data.strip():
                record = json.loads(data)
                for ref in _refs(record):
                    assert (tmp_path / ref).is_file()
                    checked.append(ref)
            return self.file.write(data)

        def __getattr__(self, name):
            return getattr(self.file, name)

    writer._file = CheckingFile(writer._file)
    with writer:
        writer.write(multimodal([screenshot(), screenshot()]))
    assert len(checked) == 4
    assert not list(image_folder(path).glob("*.tmp"))


def test_partial_last_line_is_skipped_and_appending_goes_on(tmp_path):
    path = tmp_path / "t.jsonl"
    with TrajectoryWriter(path) as writer:
        writer.write(multimodal([screenshot()], action="kept"))
    with open(path, "ab") as file:  # a crash in the middle of the next line
        file.write(b'{"version": 2, "messages": [{"type": "image", "image_ref": "t.ima')
    with TrajectoryWriter(path) as writer:
        writer.write(multimodal([screenshot()], action="after the crash"))
    reader = TrajectoryReader(path)
    assert [t.turns[0].action for t in reader] == ["kept", "after the crash"] and reader.bad_lines == [2]


def test_threads_sharing_a_writer_store_each_image_once(tmp_path):
    screens = [screenshot(32, 32) for _ in range(4)]
    path = tmp_path / "t.jsonl"
    with TrajectoryWriter(path) as writer:
        threads = [threading.Thread(target=lambda i=i: [writer.write(multimodal(screens[i % 2:i % 2 + 3]))
                                                        for _ in range(5)]) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    trajectories = read_trajectories(path)
    assert len(trajectories) == 30
    assert len(list(image_folder(path).iterdir())) == 4  # no temporary file left, each image once
    for trajectory in trajectories:
        first = image_parts(trajectory)[0]["image"]
        start = next(i for i, s in enumerate(screens) if np.array_equal(s, first))
        assert all(np.array_equal(p["image"], screens[start + k]) for k, p in enumerate(image_parts(trajectory)))


def _refs(value):
    if isinstance(value, dict):
        if isinstance(value.get("image_ref"), str):
            yield value["image_ref"]
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)
