"""Rendering through the environment server: GET /v1/sessions/{id}/render, the WebSocket
``render`` op, RemoteEnv.render() and AsyncRemoteEnv.arender() give what the local env renders.

Every shipped game renders as ``"ansi"`` only; ``test/Canvas-v0`` (registered here) also renders
an RGB image, so the PNG path is checked against a real ``rgb_array`` frame.
"""

import asyncio
import base64
import json
import random

import httpx
import numpy as np
import pytest
from websockets.asyncio.client import connect

import agentgym
from agentgym.core import Feedback, InvalidAction, LLMEnv
from agentgym.remote import AsyncRemoteEnv, RemoteEnv, RemoteEnvError
from agentgym.remote.schemas import PNG_KEY

GAMES = [info.id for info in agentgym.list_envs(family="games")]
CANVAS = "test/Canvas-v0"


class Canvas(LLMEnv):
    """Paint a 6 x 9 canvas one cell at a time ("r 2 3" paints row 2, column 3 red); renders
    as text or as the canvas itself."""

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}
    family = "test"
    instructions = "Paint: '<r|g|b> <row> <column>'."
    example_actions = tuple(f"{c} {r} {k}" for c in "rgb" for r in range(6) for k in range(9))
    _COLOURS = {"r": (255, 0, 0), "g": (0, 255, 0), "b": (0, 0, 255)}

    def new_episode(self, options):
        self.canvas = np.full((6, 9, 3), self.rng.randrange(256), dtype=np.uint8)
        return "a blank canvas"

    def play(self, action):
        parts = action.split()
        if len(parts) != 3 or parts[0] not in self._COLOURS or not all(p.isdigit() for p in parts[1:]):
            raise InvalidAction("write '<r|g|b> <row> <column>'")
        row, column = int(parts[1]), int(parts[2])
        if row >= 6 or column >= 9:
            raise InvalidAction("off the canvas")
        self.canvas[row, column] = self._COLOURS[parts[0]]
        return Feedback(f"painted {row},{column}", {"paint": 0.1})

    def render_text(self):
        return "\n".join("".join("#" if pixel.any() else "." for pixel in row) for row in self.canvas)

    def render(self):
        if self.render_mode == "rgb_array":
            return self.canvas.copy()
        return super().render()


class FloatCanvas(Canvas):
    """A buggy renderer: a float image, which no PNG can carry faithfully."""

    def render(self):
        return self.canvas.astype(np.float32) / 255 if self.render_mode == "rgb_array" else super().render()


agentgym.register(CANVAS, Canvas, max_turns=50)
agentgym.register("test/FloatCanvas-v0", FloatCanvas, max_turns=50)


def _actions(env, seed, n=12):
    rng = random.Random(seed)
    return [env.unwrapped.random_action(rng) for _ in range(n)] + ["not a move", "\ud800"]


def _same_frame(remote, local):
    if isinstance(local, np.ndarray):
        assert isinstance(remote, np.ndarray) and remote.dtype == np.uint8 and remote.shape == local.shape
        np.testing.assert_array_equal(remote, local)
    else:
        assert remote == local


@pytest.mark.parametrize("env_id", GAMES)
def test_every_game_renders_remotely_as_it_does_locally(server_url, env_id):
    local = agentgym.make(env_id, render_mode="ansi")
    remote = RemoteEnv(env_id, server=server_url, render_mode="ansi")
    try:
        assert remote.render_mode == "ansi" and remote.metadata["render_modes"] == ["ansi"]
        for seed in (0, 5):
            local.reset(seed=seed)
            remote.reset(seed=seed)
            rendered = remote.render()
            assert isinstance(rendered, str) and rendered == local.render()
            for action in _actions(local, seed):
                done = local.step(action)[2:4]
                assert remote.step(action)[2:4] == done
                assert remote.render() == local.render(), action
                if any(done):
                    break
    finally:
        local.close()
        remote.close()


@pytest.mark.parametrize("render_mode", ["rgb_array", "ansi", "rgb_array_list"])
def test_rgb_frames_travel_as_png_and_equal_the_local_render(server_url, render_mode):
    local = agentgym.make(CANVAS, render_mode=render_mode)
    remote = RemoteEnv(CANVAS, server=server_url, render_mode=render_mode)
    try:
        for seed in (1, 2):
            local.reset(seed=seed)
            remote.reset(seed=seed)
            for action in _actions(local, seed):
                local.step(action)
                remote.step(action)
                expected, got = local.render(), remote.render()
                if render_mode == "rgb_array_list":  # the frames since the last render
                    assert len(got) == len(expected) >= 1
                    for each_got, each_expected in zip(got, expected):
                        _same_frame(each_got, each_expected)
                else:
                    _same_frame(got, expected)
    finally:
        local.close()
        remote.close()


def test_the_wire_carries_png_bytes_and_the_schema(server_url):
    with httpx.Client(base_url=server_url, timeout=10) as client:
        created = client.post("/v1/sessions", json={"env_id": CANVAS, "render_mode": "rgb_array"}).json()
        assert created["render_mode"] == "rgb_array" and created["render_modes"] == ["ansi", "rgb_array"]
        sid = created["session_id"]
        client.post(f"/v1/sessions/{sid}/reset", json={"seed": 3})
        answer = client.get(f"/v1/sessions/{sid}/render")
        assert answer.status_code == 200 and set(answer.json()) == {"render_mode", "frame"}
        body = answer.json()
        assert body["render_mode"] == "rgb_array" and set(body["frame"]) == {PNG_KEY}
        assert base64.b64decode(body["frame"][PNG_KEY]).startswith(b"\x89PNG\r\n\x1a\n")
        client.delete(f"/v1/sessions/{sid}")
        plain = client.post("/v1/sessions", json={"env_id": CANVAS}).json()  # no render mode: null, as locally
        assert plain["render_mode"] is None
        client.post(f"/v1/sessions/{plain['session_id']}/reset", json={"seed": 0})
        assert client.get(f"/v1/sessions/{plain['session_id']}/render").json() == {"render_mode": None,
                                                                                    "frame": None}
        assert agentgym.make(CANVAS).render() is None
        client.delete(f"/v1/sessions/{plain['session_id']}")
        gone = client.get(f"/v1/sessions/{sid}/render")
        assert gone.status_code == 404 and gone.json()["error"]["message"]


@pytest.mark.parametrize("body, expected", [
    ({"env_id": "games/Wordle-v0", "render_mode": "rgb_array"}, "cannot render as 'rgb_array'"),
    ({"env_id": "games/Wordle-v0", "render_mode": "human"}, "server's own screen"),
    ({"env_id": CANVAS, "render_mode": "human"}, "server's own screen"),
    ({"env_id": CANVAS, "render_mode": "depth"}, "its render modes are ['ansi', 'rgb_array'"),
    ({"env_id": "games/Wordle-v0", "render_mode": "ansi", "kwargs": {"render_mode": "ansi"}}, "given twice"),
    ({"env_id": "games/Wordle-v0", "kwargs": {"render_mode": 5}}, "must be a string"),
    ({"env_id": "games/Wordle-v0", "kwargs": {"render_mode": "rgb_array"}}, "cannot render as 'rgb_array'"),
])
def test_a_render_mode_the_env_does_not_declare_is_a_clear_4xx(server_url, body, expected):
    with httpx.Client(base_url=server_url, timeout=10) as client:
        before = client.get("/metrics").json()["sessions"]["open"]
        answer = client.post("/v1/sessions", json=body)
        assert answer.status_code == 400, answer.text
        assert expected in answer.json()["error"]["message"]
        wrong_type = client.post("/v1/sessions", json={"env_id": CANVAS, "render_mode": ["ansi"]})
        assert wrong_type.status_code == 422
        assert client.get("/metrics").json()["sessions"]["open"] == before  # nothing made and left behind
    with pytest.raises(RemoteEnvError, match="cannot render as 'rgb_array'"):
        RemoteEnv("games/Wordle-v0", server=server_url, render_mode="rgb_array")


def test_a_frame_png_cannot_carry_is_the_envs_500_and_the_session_lives_on(server_url):
    env = RemoteEnv("test/FloatCanvas-v0", server=server_url, render_mode="rgb_array")
    try:
        env.reset(seed=0)
        with pytest.raises(RemoteEnvError, match="HTTP 500.*float32.*only uint8 images"):
            env.render()
        assert env.step("r 1 1")[4]["error"] is None  # the session is still there
    finally:
        env.close()


def test_render_when_the_server_cannot_answer_raises(server_url):
    env = RemoteEnv(CANVAS, server=server_url, render_mode="ansi")
    env.reset(seed=0)
    httpx.delete(f"{server_url}/v1/sessions/{env.session_id}")  # the session is lost (as if reaped)
    with pytest.raises(RemoteEnvError, match="404"):
        env.render()
    env.close()


def test_async_client_and_the_websocket_op_render_as_locally(server_url):
    async def scenario():
        local = agentgym.make(CANVAS, render_mode="rgb_array")
        async with AsyncRemoteEnv(CANVAS, server=server_url, render_mode="rgb_array") as remote:
            local.reset(seed=4)
            await remote.areset(seed=4)
            _same_frame(await remote.arender(), local.render())
            for action in _actions(local, 4):
                local.step(action)
                await remote.astep(action)
                _same_frame(await remote.arender(), local.render())
        local.close()
        local_text = agentgym.make("games/Sokoban-v0", render_mode="ansi")
        async with AsyncRemoteEnv("games/Sokoban-v0", server=server_url, render_mode="ansi") as remote:
            local_text.reset(seed=2)
            await remote.areset(seed=2)
            for action in ("up", "left", "down", "nonsense"):
                local_text.step(action)
                await remote.astep(action)
                assert await remote.arender() == local_text.render()
        local_text.close()
        async with AsyncRemoteEnv(CANVAS, server=server_url) as no_mode:
            await no_mode.areset(seed=0)
            assert await no_mode.arender() is None
        with pytest.raises(RemoteEnvError, match="cannot render as 'rgb_array'"):
            await AsyncRemoteEnv("games/Wordle-v0", server=server_url, render_mode="rgb_array").open()
        # the bare op, and its refusal before a session exists
        async with connect(server_url.replace("http://", "ws://") + "/v1/ws") as ws:
            await ws.send(json.dumps({"type": "render", "id": 1}))
            assert json.loads(await ws.recv())["error"]["code"] == 404
            await ws.send(json.dumps({"type": "create", "id": 2, "env_id": CANVAS, "render_mode": "rgb_array"}))
            assert json.loads(await ws.recv())["result"]["render_mode"] == "rgb_array"
            await ws.send(json.dumps({"type": "reset", "id": 3, "seed": 0}))
            await ws.recv()
            await ws.send(json.dumps({"type": "render", "id": 4}))
            answer = json.loads(await ws.recv())
            assert answer["id"] == 4 and set(answer["result"]["frame"]) == {PNG_KEY}

    asyncio.run(asyncio.wait_for(scenario(), 60))
