"""Export keeps the images: PNG bytes inside the Parquet file / HF dataset, matched to the
image parts of ``messages`` by position and path."""

import json

import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest

from agentgym.export import episode_rows, hf_features, to_hf_dataset, to_parquet, turn_rows
from agentgym.images import decode_png, image_digest
from agentgym.trajectory import Trajectory, TrajectoryReader, TrajectoryWriter, Turn

RNG = np.random.default_rng(2)


def screen(height=24, width=40):
    return RNG.integers(0, 256, (height, width, 3), dtype=np.uint8)


SCREENS = [screen(), screen(10, 12), screen()]


def gui_trajectory(screens, seed):
    messages = [{"role": "system", "content": "Click things."}]
    turns = []
    for index, image in enumerate(screens):
        messages.append({"role": "user", "content": [{"type": "text", "text": f"step {index}"},
                                                     {"type": "image", "image": image}]})
        messages.append({"role": "assistant", "content": f"click({index}, {index})"})
        turns.append(Turn(index, f"step {index}", f"click({index}, {index})", observation_image=image))
    return Trajectory(env_id="testing/Gui-v0", seed=seed, turns=turns, messages=messages)


@pytest.fixture
def trajectories():
    return [gui_trajectory(SCREENS, 0), gui_trajectory([SCREENS[1], SCREENS[1]], 1),
            Trajectory(env_id="games/Text-v0", seed=2, turns=[Turn(0, "text only", "ok")],
                       messages=[{"role": "user", "content": "text only"}, {"role": "assistant", "content": "ok"}])]


def image_refs(messages_json):
    return [part["image_ref"] for m in json.loads(messages_json) if isinstance(m["content"], list)
            for part in m["content"] if part["type"] == "image"]


def test_parquet_episodes_carry_png_bytes_matching_the_image_parts(trajectories, tmp_path):
    path = tmp_path / "episodes.parquet"
    assert to_parquet(trajectories, path) == 3
    rows = pq.read_table(path).to_pylist()
    first, repeated, text_only = rows
    assert [image["path"] for image in first["images"]] == image_refs(first["messages"])
    assert image_refs(first["messages"]) == [f"images/{image_digest(s)}.png" for s in SCREENS]
    for image, original in zip(first["images"], SCREENS):
        assert np.array_equal(decode_png(image["bytes"]), original)
    assert len(repeated["images"]) == 2 and repeated["images"][0] == repeated["images"][1]  # one per part
    assert text_only["images"] == [] and json.loads(text_only["messages"])[0]["content"] == "text only"
    part = json.loads(first["messages"])[1]["content"][1]
    assert part == {"type": "image", "image_ref": f"images/{image_digest(SCREENS[0])}.png", "shape": [24, 40, 3]}


def test_turn_rows_carry_the_observation_image(trajectories, tmp_path):
    to_parquet(trajectories, tmp_path / "turns.parquet", shape="turns")
    rows = pq.read_table(tmp_path / "turns.parquet").to_pylist()
    assert len(rows) == 6
    assert [np.array_equal(decode_png(r["observation_image"]["bytes"]), s) for r, s in zip(rows, SCREENS)] == [True] * 3
    assert rows[-1]["observation_image"] is None and rows[-1]["observation"] == "text only"


def test_hf_datasets_decode_the_images(trajectories, tmp_path):
    dataset = to_hf_dataset(trajectories)
    assert dataset.features["images"] == datasets.List(datasets.Image())
    pictures = dataset[0]["images"]
    assert [np.array_equal(np.asarray(p), s) for p, s in zip(pictures, SCREENS)] == [True] * 3
    turns = to_hf_dataset(trajectories, shape="turns")
    assert np.array_equal(np.asarray(turns[1]["observation_image"]), SCREENS[1])
    assert turns[5]["observation_image"] is None
    # the Parquet file records the same features, so datasets reads it back with images decoded
    to_parquet(trajectories, tmp_path / "e.parquet")
    again = datasets.Dataset.from_parquet(str(tmp_path / "e.parquet"))
    assert again.features == hf_features("episodes")
    assert np.array_equal(np.asarray(again[0]["images"][2]), SCREENS[2])


def test_export_from_a_trajectory_file_read_lazily(trajectories, tmp_path):
    path = tmp_path / "t.jsonl"
    with TrajectoryWriter(path) as writer:
        for trajectory in trajectories:
            writer.write(trajectory)
    lazy, eager = list(TrajectoryReader(path, lazy_images=True)), list(TrajectoryReader(path))
    assert episode_rows(lazy) == episode_rows(eager) == episode_rows(trajectories)
    assert turn_rows(lazy) == turn_rows(trajectories)


def test_parquet_goes_to_any_path_and_replaces_an_earlier_file_whole(trajectories, tmp_path):
    # A name that is not valid UTF-8 (bytes a file system allows; Python keeps them as surrogate
    # escapes) was pyarrow's UnicodeEncodeError; the file is written beside the path and renamed.
    path = tmp_path / "caf\udce9.parquet"
    assert to_parquet(trajectories[:1], path) == 1
    assert to_parquet(trajectories, path) == 3
    with open(path, "rb") as written:
        assert pq.read_table(written).num_rows == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no partial file left beside it
