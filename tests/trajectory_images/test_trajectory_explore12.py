"""Exploratory tests of trajectories, their files, export and images (round 12): what a
demanding user meets at the edges of the documented contracts."""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest

from agentgym.export import episode_rows, to_hf_dataset, to_parquet
from agentgym.images import decode_png
from agentgym.trajectory import Trajectory, TrajectoryReader, TrajectoryWriter, Turn, json_safe

CYCLE = "<dict nested too deep: it contains itself>"


def page_tree(children: int) -> dict:
    """A page's nodes as an environment may put them in ``info``: each node knows its parent."""
    root: dict = {"tag": "body", "parent": None, "children": []}
    for _ in range(children):
        node = {"tag": "div", "parent": root, "children": []}
        root["children"].append(node)
        node["children"] = [{"tag": "p", "parent": node, "children": []} for _ in range(children)]
    return root


def test_json_safe_cuts_a_cycle_where_it_recurs():
    cyclic: dict = {"name": "loop"}
    cyclic["self"] = cyclic

    assert json_safe(cyclic) == {"name": "loop", "self": CYCLE}
    assert json_safe([cyclic]) == [{"name": "loop", "self": CYCLE}]


def test_json_safe_of_nodes_with_parent_pointers_is_their_tree():
    # each node's parent pointer recursed back down the whole tree to depth 32: seven nodes took
    # over a minute and a rollout step holding them in its info stalled on writing its turn
    safe = json_safe(page_tree(2))

    assert safe["parent"] is None and len(safe["children"]) == 2
    for node in safe["children"]:
        assert node["parent"] == CYCLE
        assert [child["parent"] for child in node["children"]] == [CYCLE, CYCLE]


def test_json_safe_keeps_a_value_shared_but_not_cyclic():
    shared = {"k": [1, 2]}

    assert json_safe({"a": shared, "b": shared, "c": (shared, shared)}) == {
        "a": {"k": [1, 2]}, "b": {"k": [1, 2]}, "c": [{"k": [1, 2]}, {"k": [1, 2]}]}


class Listener:
    """A value whose repr records that it was looked at in the dict holding it: the dict changes
    while it is being converted, as a dict an environment's background thread fills does."""

    def __init__(self, log: dict) -> None:
        self.log = log

    def __repr__(self) -> str:
        self.log[f"event {len(self.log)}"] = "repr"
        return "<listener>"


def test_json_safe_of_a_container_changed_while_it_is_converted():
    # 'RuntimeError: dictionary changed size during iteration' (and the set's) came out of
    # json_safe, documented never to raise, and out of the rollout step storing the info
    log: dict = {}
    log["listener"] = Listener(log)
    seen: set = set()
    seen.add(Listener(log))

    assert json_safe({"log": log}) == {"log": {"listener": "<listener>"}}
    assert json_safe(seen) == ["<listener>"]


def test_json_safe_of_a_container_that_cannot_be_iterated_is_its_repr():
    class Closed(list):
        def __iter__(self):
            raise OSError("the stream is closed")

    assert json_safe({"events": Closed([1, 2])}) == {"events": "[1, 2]"}


# ------------------------------------------------------------------ loss_mask
@pytest.mark.parametrize("span", [(8, 12), (12, 14), (5, 3), (-2, 4)])
def test_loss_mask_refuses_a_span_outside_the_tokens(span):
    # a span past the end made the mask longer than token_ids ([8, 12) of 10 tokens gave 12
    # entries), an inverted one left its tokens unmasked: input_ids and loss_mask were exported
    # and trained on out of step
    trajectory = Trajectory(token_ids=list(range(10)), turns=[Turn(0, "o", "a", action_span=(2, 4)),
                                                              Turn(1, "o", "b", action_span=span)])

    with pytest.raises(ValueError, match=r"turn 1: action_span .* outside the 10 recorded tokens"):
        trajectory.loss_mask()


def test_loss_mask_marks_the_generated_tokens():
    trajectory = Trajectory(token_ids=list(range(6)), turns=[Turn(0, "o", "a", action_span=(1, 3)),
                                                             Turn(1, "o", "b", action_span=(4, 6)),
                                                             Turn(2, "o", "c", action_span=(6, 6))])

    assert trajectory.loss_mask() == [0, 1, 1, 0, 1, 1]


def test_episode_export_names_the_trajectory_whose_span_is_outside_its_tokens():
    good = Trajectory(task_id="Task-1", token_ids=[1, 2, 3], turns=[Turn(0, "o", "a", action_span=(1, 3))])
    bad = Trajectory(task_id="Task-2", token_ids=[1, 2, 3], turns=[Turn(0, "o", "a", action_span=(1, 5))])

    assert episode_rows([good])[0]["loss_mask"] == [0, 1, 1]
    with pytest.raises(ValueError, match=r"trajectory 1 \('Task-2'\): turn 0: action_span \(1, 5\) lies outside"):
        episode_rows([good, bad])


# ------------------------------------------------------------------ PNG bit depth
def png_file(width: int, height: int, bit_depth: int, colour_type: int, pixels: np.ndarray) -> bytes:
    """A PNG as any encoder writes it (Pillow cannot write 16-bit colour): big-endian samples."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    samples = pixels.astype(">u2" if bit_depth == 16 else "u1").reshape(height, -1)
    raw = b"".join(b"\0" + row.tobytes() for row in samples)
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("colour_type, channels", [(0, 1), (2, 3), (4, 2), (6, 4)])
def test_decode_png_refuses_16_bit_pixels_of_every_colour_type(colour_type, channels):
    # 16-bit grey was refused as documented, but 16-bit RGB, RGBA and grey+alpha came back cut
    # to their high bytes (9000 read as 35), silently
    pixels = np.arange(2 * 3 * channels, dtype=np.uint16).reshape(2, 3, channels) * 3000

    with pytest.raises(ValueError, match="wider than 8 bits|not uint8"):
        decode_png(png_file(3, 2, 16, colour_type, pixels))


@pytest.mark.parametrize("colour_type, channels", [(0, 1), (2, 3), (6, 4)])
def test_decode_png_reads_8_bit_pixels_of_another_encoder(colour_type, channels):
    pixels = np.arange(2 * 3 * channels, dtype=np.uint8).reshape(2, 3, channels) * 10

    image = decode_png(png_file(3, 2, 8, colour_type, pixels))

    assert np.array_equal(image, pixels[:, :, 0] if channels == 1 else pixels)


# ------------------------------------------------------------------ writing what reads back
@pytest.mark.parametrize("bad, field", [
    (lambda t: setattr(t.turns[0], "error", 404), "turn's error must be text or null"),
    (lambda t: setattr(t, "success", None), "trajectory's success must be true or false"),
    (lambda t: setattr(t, "seed", 3.0), "trajectory's seed must be an integer or null"),
    (lambda t: setattr(t.turns[0], "action_span", (1, "2")), "turn's action_span must be"),
])
def test_writer_refuses_a_trajectory_its_reader_would_skip(tmp_path, bad, field):
    # an environment's Feedback(error=404) was written by a rollout, and the file then read as
    # one skipped line: the episode lost, with a warning blaming a crash
    path = tmp_path / "t.jsonl"
    trajectory = Trajectory(task_id="Task-3", turns=[Turn(0, "o", "a")])
    bad(trajectory)
    with TrajectoryWriter(path) as writer:
        with pytest.raises(ValueError, match=field):
            writer.write(trajectory)
        writer.write(Trajectory(task_id="Task-4", turns=[Turn(0, "o", "a", error="no such move")]))

    reader = TrajectoryReader(path)
    assert [t.task_id for t in reader] == ["Task-4"] and reader.bad_lines == []


# ------------------------------------------------------------------ relative paths
def test_a_relative_writer_keeps_its_images_beside_its_file_after_a_chdir(tmp_path, monkeypatch):
    # the lines went to the file opened at the start, the images to <new cwd>/runs/t.images:
    # reading then raised ImageFileError 'image file ... is missing'
    image = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    writer = TrajectoryWriter("runs/t.jsonl")
    monkeypatch.chdir(tmp_path / "elsewhere")
    writer.write(Trajectory(turns=[Turn(0, "o", "a", observation_image=image)]))
    writer.close()

    assert not (tmp_path / "elsewhere" / "runs").exists()
    [trajectory] = TrajectoryReader(tmp_path / "runs" / "t.jsonl")
    assert np.array_equal(trajectory.turns[0].observation_image, image)


def test_a_lazy_image_of_a_relative_reader_loads_after_a_chdir(tmp_path, monkeypatch):
    image = np.full((3, 2), 9, dtype=np.uint8)
    with TrajectoryWriter(tmp_path / "runs" / "t.jsonl") as writer:
        writer.write(Trajectory(turns=[Turn(0, "o", "a", observation_image=image)]))
    monkeypatch.chdir(tmp_path)
    [trajectory] = TrajectoryReader("runs/t.jsonl", lazy_images=True)
    monkeypatch.chdir(tmp_path / "runs")

    assert np.array_equal(trajectory.turns[0].observation_image.load(), image)


# ------------------------------------------------------------------ messages of an episode without turns
def test_messages_holding_reference_keys_read_back_from_an_episode_without_turns(tmp_path):
    # with no turns the messages were not escaped: the marker read as a reference to a turn that
    # does not exist (ValueError: a damaged record) and a verbatim_message dict was unwrapped
    messages = [{"role": "system", "content": "Be brief."}, {"verbatim_message": {"role": "user"}},
                {"role": "tool", "action_of_turn": 0}]
    trajectory = Trajectory(task_id="Task-5", error="the environment raised at reset", messages=messages)

    assert Trajectory.from_dict(json.loads(json.dumps(trajectory.to_dict()))).messages == messages
    with TrajectoryWriter(tmp_path / "t.jsonl") as writer:
        writer.write(trajectory)
    [read] = TrajectoryReader(tmp_path / "t.jsonl")
    assert read.messages == messages


# ------------------------------------------------------------------ datasets before 4.0
def test_episodes_export_with_a_datasets_release_before_list(tmp_path, monkeypatch):
    # datasets 3.x (a common pin) has Sequence but no List: hf_features raised AttributeError,
    # and with it to_parquet and to_hf_dataset of the default 'episodes' shape, images or not
    # (checked against datasets 3.6.0; here its module without List stands in for it)
    import datasets

    monkeypatch.delattr(datasets, "List")
    image = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    trajectory = Trajectory(task_id="Task-6", messages=[{"role": "user", "content": [{"type": "image", "image": image}]}])

    assert to_parquet([trajectory], tmp_path / "e.parquet") == 1
    [row] = datasets.Dataset.from_parquet(str(tmp_path / "e.parquet"), cache_dir=str(tmp_path / "cache"))
    assert np.array_equal(np.asarray(row["images"][0]), image)
    assert np.array_equal(np.asarray(to_hf_dataset([trajectory])[0]["images"][0]), image)


# ------------------------------------------------------------------ export file names
def test_parquet_export_to_a_long_file_name(tmp_path):
    # the file was first written as '.<name>.partial-<pid>', 18 characters longer than the name
    # asked for: a legal name of 240 characters failed with 'File name too long'
    path = tmp_path / ("episodes-" + "x" * 231 + ".parquet")
    trajectory = Trajectory(task_id="Task-7", turns=[Turn(0, "o", "a")])

    assert to_parquet([trajectory], path) == 1
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no partial file left beside it
    assert to_parquet([trajectory, trajectory], path) == 2  # and again, over the first
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
